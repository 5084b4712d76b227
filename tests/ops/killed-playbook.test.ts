import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { descendants, isRunning, statFields } from '../../src/engine/process-tree.js';
import { processesOfRun } from '../../src/jobs/owner.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { apiCaller, commandLine, simulatorInventory, tempDir, waitFor } from '../helpers.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/**
 * Issue 24, item 2: the ansible-playbook process of a run killed by a signal (kill -9, SIGTERM;
 * in real life the OOM killer) mid-run, on both engines, through the service as its own process.
 * The run is `failed` (HTTP 500, rc ≠ 0, the error and the job's reason naming the signal), never
 * `successful`, and nothing of the run's process group (the playbook's forked workers, which
 * become orphans of pid 1) is alive when its VM lock is given to the next request.
 */

const START = '/v0/admin/proxmox/vms/vm_id/start';


const parentOf = (pid: number) => Number(statFields(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'))[1]);

describe.each(['ansible-runner', 'warm'] as const)('a playbook killed by a signal (RUNNER_ENGINE=%s)', (engine) => {
  let svc: ServiceProcess;
  let dataDir: string;
  // A simulator per engine: the Proxmox tasks of the killed runs go on (30 s) after their run.
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, taskDurationMs: 30_000 });
    dataDir = tempDir('r42-killed-data-');
    svc = await startServiceProcess({
      PROJECT_ROOT_DIR: REPO_ROOT,
      API_BACKEND_INVENTORY_DIR: simulatorInventory(sim),
      DATA_DIR: dataDir,
      RUNNER_ENGINE: engine,
      RUNNER_CANCEL_GRACE: '1',
      LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await sim?.close();
  });

  /** The job's first run as the store has it (the service records it as soon as it exists). */
  const runOf = (id: string) => {
    const db = new Database(path.join(dataDir, 'jobs.db'), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT runs FROM jobs WHERE id = ?').get(id) as { runs: string } | undefined;
      return (JSON.parse(row?.runs ?? '[]') as Array<{ run_id: string; pid: number | null }>)[0];
    } finally {
      db.close();
    }
  };

  /** The run's ansible-playbook process (the child of ansible-runner, or of the warm run process). */
  async function playbookOf(jobId: string, vmId: string): Promise<{ runId: string; playbook: number; tree: number[] }> {
    await waitFor(() => runOf(jobId)?.pid != null && sim.tasks.list('px-testing').some((t) => t.id === vmId && t.status === 'running'), 40_000);
    const run = runOf(jobId)!;
    expect(run.pid).toBeGreaterThan(0);
    const playbook = descendants(run.pid!).find((pid) => parentOf(pid) === run.pid && commandLine(pid).includes('ansible-playbook'));
    expect(playbook, `the playbook process of run ${run.run_id}: ${descendants(run.pid!).map((p) => `${p}<${parentOf(p)} ${commandLine(p)}`).join("; ")}`).toBeDefined();
    return { runId: run.run_id, playbook: playbook!, tree: [run.pid!, ...descendants(run.pid!)] };
  }

  async function finalJob(id: string): Promise<any> {
    const call = apiCaller(svc.base);
    let job: any;
    const end = Date.now() + 40_000;
    for (;;) {
      job = (await call('GET', `/v0/jobs/${id}`)).body;
      if (!['queued', 'running'].includes(job.status) || Date.now() > end) return job;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it.each([
    ['SIGKILL', '4001', '4002'],
    ['SIGTERM', '4004', '3001'],
  ] as const)('%s of ansible-playbook: failed, 500, the signal named, the process group gone before the lock is released', async (sig, asyncVm, syncVm) => {
    const call = apiCaller(svc.base);
    const a = await call('POST', START, { proxmox_node: 'px-testing', vm_id: asyncVm }, { prefer: 'respond-async' });
    expect(a.status).toBe(202);
    const asyncId = a.body.job_id as string;
    const syncAnswer = call('POST', START, { proxmox_node: 'px-testing', vm_id: syncVm });
    let syncId = '';
    await waitFor(() => {
      const db = new Database(path.join(dataDir, 'jobs.db'), { readonly: true, fileMustExist: true });
      try {
        const row = db.prepare("SELECT id FROM jobs WHERE operation = 'vm_start' AND status IN ('queued', 'running') AND id <> ? ORDER BY created_at DESC LIMIT 1").get(asyncId) as { id: string } | undefined;
        syncId = row?.id ?? '';
      } finally {
        db.close();
      }
      return syncId !== '' && runOf(syncId)?.pid != null;
    }, 20_000);

    const asyncRun = await playbookOf(asyncId, asyncVm);
    const syncRun = await playbookOf(syncId, syncVm);
    const killedAt = Date.now();
    process.kill(asyncRun.playbook, sig);
    process.kill(syncRun.playbook, sig);

    // The next request on the same VM gets its lock only once the killed run is over: by then no
    // process of that run may be left (orphaned workers included).
    const next = await call('POST', START, { proxmox_node: 'px-testing', vm_id: asyncVm }, { prefer: 'respond-async, wait=40' });
    const survivors = asyncRun.tree.filter(isRunning);
    const orphans = processesOfRun(asyncRun.runId).filter(isRunning);
    expect(next.status).toBe(202);
    await call('POST', `/v0/jobs/${next.body.job_id}/cancel`);
    expect(survivors.map((p) => `${p} ${commandLine(p)}`)).toEqual([]);
    expect(orphans).toEqual([]);

    const lockMs = Date.now() - killedAt;
    const s = await syncAnswer;
    console.log(`${engine}, ${sig}: the next request had the VM's lock ${lockMs} ms after the kill, the synchronous answer came after ${Date.now() - killedAt} ms`);
    expect(s.status).toBe(500);
    expect(s.body.rc).not.toBe(0);
    expect(s.body.error).toContain(`the playbook was killed by ${sig}`);
    expect(syncRun.tree.filter(isRunning)).toEqual([]);
    expect(processesOfRun(syncRun.runId).filter(isRunning)).toEqual([]);

    for (const id of [asyncId, syncId]) {
      const job = await finalJob(id);
      expect(job.status, JSON.stringify(job)).toBe('failed');
      expect(job.rc).not.toBe(0);
      expect(job.http_status).toBe(500);
      expect(job.reason).toContain(`the playbook was killed by ${sig}`);
    }
  });
});
