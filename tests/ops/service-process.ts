import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../src/config/paths.js';
import { freePort, tempDir } from '../helpers.js';

/**
 * The service as its own process (`node --import tsx src/server.ts`), so its memory and file
 * descriptors can be read from /proc/<pid> while a test or a benchmark loads it from outside.
 * Used by tests/ops/load.test.ts, tests/ops/secrets.test.ts and bench/soak.ts.
 */

/** `name{labels} value` lines of a Prometheus text page, summed by `name{labels}` prefix. */
export function metric(page: string, prefix: string): number {
  let sum = 0;
  for (const line of page.split('\n')) if (line.startsWith(prefix)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

export async function startServiceProcess(env: Record<string, string>) {
  const port = await freePort();
  // tsx by absolute path: the server runs from a scratch directory (no .env there).
  const tsx = path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs');
  const child = spawn(process.execPath, ['--import', tsx, path.join(REPO_ROOT, 'src/server.ts')], {
    cwd: tempDir('r42-svc-cwd-'),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PROJECT_ROOT_DIR: REPO_ROOT, PROXMOX_SIMULATOR: 'off', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const pid = child.pid!;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}): ${stderr.slice(0, 2000)}`);
    const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`the service did not start: ${stderr.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    base,
    pid,
    exited,
    out: () => stdout,
    err: () => stderr,
    /** Resident memory of the service process, in KiB. */
    rssKiB(): number {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      return Number(m?.[1] ?? NaN);
    },
    /** Open file descriptors of the service process. */
    fds(): number {
      return fs.readdirSync(`/proc/${pid}/fd`).length;
    },
    metrics: async () => (await fetch(`${base}/metrics`)).text(),
    /** Waits until no run is running or queued (per /metrics). */
    async idle(timeoutMs = 60_000): Promise<void> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const page = await (await fetch(`${base}/metrics`)).text();
        if (metric(page, 'r42_runs_running ') === 0 && metric(page, 'r42_runs_queued ') === 0) return;
        if (Date.now() > end) throw new Error('runs still going');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop(): Promise<number | null> {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export type ServiceProcess = Awaited<ReturnType<typeof startServiceProcess>>;
