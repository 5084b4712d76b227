import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnvironment } from '../../src/engine/engine.js';
import { extractResult } from '../../src/engine/extract.js';
import { Run } from '../../src/engine/run.js';
import { WarmServer, runnerPython } from '../../src/engine/warm/client.js';
import { FIXTURE_INVENTORY, FIXTURES, fixturePlaybook, processesMatching, silentLog, tempDir, testRunEnvironment, waitFor } from '../helpers.js';

const RUNNER = '/usr/bin/ansible-runner';
const CALLBACK_DIR = path.join(FIXTURES, 'warm', 'callback');

// The server is started with deliberately wrong settings: a run that saw the server's
// configuration instead of its own would show these.
const serverEnv: NodeJS.ProcessEnv = {
  ...childEnvironment(process.env, FIXTURES),
  ANSIBLE_ROLES_PATH: '/server-sentinel/roles',
  ANSIBLE_TIMEOUT: '33',
};
const warm = new WarmServer({ python: runnerPython(RUNNER), env: serverEnv, tmpDir: tempDir(), log: silentLog });
afterAll(() => warm.close());

function runWith(env: NodeJS.ProcessEnv): Run {
  const ctx = testRunEnvironment(env, warm);
  return new Run({ playbook: fixturePlaybook('config'), inventory: FIXTURE_INVENTORY, limit: 'testhost' }, ctx);
}

interface Seen {
  cache_connection: string;
  roles_path: string[];
  timeout: string;
  stdout_callback: string;
  marker_env: string;
}

async function seen(run: Run): Promise<Seen> {
  const r = await run.execute();
  expect(r.rc, JSON.stringify(r.events.map((e) => e.stdout))).toBe(0);
  const [s] = extractResult(r.events, 'seen') as Seen[];
  return s!;
}

describe('warm engine: every run has its own configuration, not the server\'s', () => {
  it('two runs of one server, with different roles paths, callbacks and fact caches, each see their own (warm)', async () => {
    const dir = tempDir();
    const markerA = path.join(dir, 'a');
    const markerB = path.join(dir, 'b');
    const a = runWith({ ...serverEnv, ANSIBLE_ROLES_PATH: '/run-a/roles', ANSIBLE_TIMEOUT: '33', ANSIBLE_CALLBACK_PLUGINS: CALLBACK_DIR, ANSIBLE_CALLBACKS_ENABLED: 'r42_marker', R42_MARKER_FILE: markerA });
    const b = runWith({ ...serverEnv, ANSIBLE_ROLES_PATH: '/run-b/roles', ANSIBLE_TIMEOUT: '33', R42_MARKER_FILE: markerB });
    const [sa, sb] = [await seen(a), await seen(b)];
    expect(a.playbookMode).toBe('warm');
    expect(b.playbookMode).toBe('warm');
    expect(sa.roles_path).toEqual(['/run-a/roles']);
    expect(sb.roles_path).toEqual(['/run-b/roles']);
    // ansible-runner's per-run settings: its fact cache in the run's own artifacts, its callback.
    expect(sa.cache_connection).toContain(`/artifacts/${a.id}/fact_cache`);
    expect(sb.cache_connection).toContain(`/artifacts/${b.id}/fact_cache`);
    expect(sa.stdout_callback).toBe('awx_display');
    // The callback plugin only run A's configuration enables, from a directory only A's
    // configuration names, ran in A and not in B.
    expect(fs.existsSync(markerA)).toBe(true);
    expect(fs.existsSync(markerB)).toBe(false);
  });

  it('a run whose configuration differs in a setting read at import time gets a fresh ansible-playbook (exec), and sees its own', async () => {
    const run = runWith({ ...serverEnv, ANSIBLE_TIMEOUT: '77' });
    const s = await seen(run);
    expect(run.playbookMode).toBe('exec');
    expect(run.playbookWhy).toMatch(/DEFAULT_TIMEOUT/);
    expect(s.timeout).toBe('77');
    const same = runWith({ ...serverEnv });
    expect((await seen(same)).timeout).toBe('33');
    expect(same.playbookMode).toBe('warm');
  });

  it('a configuration file of the run (ANSIBLE_CONFIG) is the run\'s: its settings are compared, the run goes cold when they differ', async () => {
    // ansible-runner's cwd is the private directory: give the run an ANSIBLE_CONFIG instead.
    const cfg = path.join(tempDir(), 'ansible.cfg');
    fs.writeFileSync(cfg, '[defaults]\ntimeout = 55\n');
    const { ANSIBLE_TIMEOUT: _fromEnv, ...rest } = serverEnv;
    const run = runWith({ ...rest, ANSIBLE_CONFIG: cfg });
    const s = await seen(run);
    expect(s.timeout).toBe('55');
    expect(run.playbookMode).toBe('exec');
  });
});

describe('warm engine: a dead server', () => {
  it('a server killed during a run: the run ends failed with the reason, nothing is left, the next run starts a new server', async () => {
    const marker = String(8000 + Math.floor(Math.random() * 999));
    // The run environment of the cases above, a sleeping playbook.
    const run = new Run(
      { playbook: fixturePlaybook('sleep'), inventory: FIXTURE_INVENTORY, limit: 'testhost', extravars: { sleep_seconds: Number(marker) } },
      testRunEnvironment({ ...serverEnv }, warm),
    );
    const done = run.execute();
    await waitFor(() => processesMatching(`sleep ${marker}`).length > 0, 30_000);
    const before = warm.generation;
    process.kill(warm.pid!, 'SIGKILL');
    const r = await done;
    expect(r.status).toBe('failed');
    expect(r.events.at(-1)?.stdout).toMatch(/^ERROR! the run was lost: the warm engine process \d+ ended \(signal SIGKILL\)/);
    await waitFor(() => processesMatching(`sleep ${marker}`).length === 0, 10_000);
    const next = runWith({ ...serverEnv });
    await seen(next);
    expect(warm.generation).toBe(before + 1);
  });
});
