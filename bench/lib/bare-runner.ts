import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * One bare `ansible-runner run` in a throw-away private directory, as an operator would start
 * it: the yardstick the benchmarks measure the engines against. Returns its wall time in ms.
 */
export async function bareAnsibleRunner(opts: {
  playbook: string;
  inventory: string;
  limit: string;
  extravars?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r42-bench-'));
  try {
    const args = ['run', dir, '-p', opts.playbook, `--inventory=${opts.inventory}`, '-j', `--limit=${opts.limit}`];
    if (opts.extravars) {
      const vars = path.join(dir, 'vars.json');
      fs.writeFileSync(vars, JSON.stringify(opts.extravars));
      args.push(`--cmdline=-e @${vars}`);
    }
    const t0 = performance.now();
    await exec('/usr/bin/ansible-runner', args, { maxBuffer: 64 << 20, ...(opts.env ? { env: opts.env } : {}) });
    return performance.now() - t0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
