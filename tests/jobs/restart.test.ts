import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { processesOfRun } from '../../src/jobs/owner.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { freePort, simulatorInventory, tempDir, waitFor } from '../helpers.js';
import { readSse, startJobsStack } from './stack.js';

/**
 * The service killed mid-run (SIGKILL: no cleanup of its own) and started again on the same data
 * directory: the job is `lost`, never left running, and what its run left behind is gone. Also an
 * orderly shutdown with a job running and a client following it.
 */

async function startServer(env: Record<string, string>) {
  const port = await freePort();
  const tsx = path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs');
  const child = spawn(process.execPath, ['--import', tsx, path.join(REPO_ROOT, 'src/server.ts')], {
    cwd: tempDir(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PROJECT_ROOT_DIR: REPO_ROOT, HOST: '127.0.0.1', PORT: String(port), PROXMOX_SIMULATOR: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitFor(() => out.includes('Server listening') || child.exitCode !== null, 30_000);
  if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
  return { child, exited, base: `http://127.0.0.1:${port}`, out: () => out };
}

const jobRow = (file: string, id: string) => {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT status, runs FROM jobs WHERE id = ?').get(id) as { status: string; runs: string } | undefined;
  } finally {
    db.close();
  }
};

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, taskDurationMs: 60_000 });
});
afterAll(async () => sim?.close());

describe('a service killed mid-run', () => {
  it('marks the job lost on restart and kills what the run left behind', async () => {
    const dataDir = tempDir('r42-jobs-restart-');
    const env = { API_BACKEND_INVENTORY_DIR: simulatorInventory(sim), DATA_DIR: dataDir };
    const first = await startServer(env);
    const r = await fetch(`${first.base}/v0/admin/proxmox/vms/vm_id/start`, {
      method: 'POST', headers: { 'content-type': 'application/json', prefer: 'respond-async' }, body: JSON.stringify({ proxmox_node: 'px-testing', vm_id: '4001' }),
    });
    expect(r.status).toBe(202);
    const { job_id: id } = (await r.json()) as { job_id: string };

    // Running, with its ansible-runner and ansible-playbook recorded and waiting on the Proxmox task.
    let runs: Array<{ run_id: string; pid: number | null; private_dir: string | null }> = [];
    await waitFor(() => {
      runs = JSON.parse(jobRow(path.join(dataDir, 'jobs.db'), id)?.runs ?? '[]');
      return runs[0]?.pid != null && processesOfRun(runs[0].run_id).length >= 2;
    }, 30_000);
    await waitFor(() => sim.tasks.list('px-testing').some((t) => t.id === '4001' && t.status === 'running'), 30_000);
    const run = runs[0]!;
    expect(fs.existsSync(run.private_dir!)).toBe(true);

    first.child.kill('SIGKILL');
    await first.exited;
    // ansible-runner and ansible-playbook live in sessions of their own: they outlive the service.
    expect(processesOfRun(run.run_id).length).toBeGreaterThan(0);
    expect(jobRow(path.join(dataDir, 'jobs.db'), id)!.status).toBe('running');

    const second = await startServer(env);
    try {
      const job = (await (await fetch(`${second.base}/v0/jobs/${id}`)).json()) as any;
      expect(job).toMatchObject({ status: 'lost', rc: null, operation: 'vm_start' });
      expect(job.reason).toContain(`process ${first.child.pid}`);
      expect(job.finished_at).not.toBeNull();
      await waitFor(() => processesOfRun(run.run_id).length === 0, 10_000);
      expect(fs.existsSync(run.private_dir!)).toBe(false);
      const stream = await readSse(`${second.base}/v0/jobs/${id}/events`);
      const events = stream.messages.filter((m) => m.event === 'message').map((m) => m.data);
      expect(events[events.length - 1]).toMatchObject({ type: 'end', status: 'lost' });
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      const lost = (await (await fetch(`${second.base}/v0/jobs?status=lost`)).json()) as any;
      expect(lost.jobs.map((j: any) => j.id)).toEqual([id]);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});

describe('an orderly shutdown', () => {
  it('cancels the running job after the grace period, records it, and ends the streams following it', async () => {
    const s = await startJobsStack({ SHUTDOWN_GRACE: '1' });
    s.sim.setTaskDuration(60_000);
    const r = await s.call('POST', '/v0/admin/proxmox/vms/vm_id/start', { proxmox_node: 'px-testing', vm_id: '4002' }, { prefer: 'respond-async' });
    const id = r.body.job_id as string;
    await waitFor(() => s.sim.tasks.list('px-testing').some((t) => t.id === '4002' && t.status === 'running'), 30_000);
    const following = readSse(`${s.base}/v0/jobs/${id}/events`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const runId = (await s.app.jobs.get(id))!.runs[0]!.run_id;
    await s.close();
    const stream = await following;
    expect(stream.ended).toBe('server');
    const last = stream.messages.filter((m) => m.event === 'message').pop()!.data;
    expect(last).toMatchObject({ type: 'end', status: 'canceled', rc: 254 });
    expect(jobRow(path.join(s.dataDir, 'jobs.db'), id)!.status).toBe('canceled');
    expect(processesOfRun(runId)).toEqual([]);
  });
});
