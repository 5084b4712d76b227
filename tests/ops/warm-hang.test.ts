import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { descendants, isRunning } from '../../src/engine/process-tree.js';
import { processesOfRun } from '../../src/jobs/owner.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { apiCaller, commandLine, simulatorInventory, tempDir, waitFor } from '../helpers.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/**
 * Issue 24, item 8: a warm engine server that stops answering (SIGSTOP here; a deadlock or a
 * swap storm in real life) is noticed by its liveness ping within RUNNER_WARM_PING_TIMEOUT, not
 * after RUNNER_TIMEOUT: the runs it held end failed saying so, /readyz is 503 naming it until a new
 * server answers, a new run then succeeds, and a SIGCONT to the old one brings nothing back.
 */

const START = '/v0/admin/proxmox/vms/vm_id/start';
const PING_TIMEOUT_S = 1;

let sim: Simulator;
let svc: ServiceProcess;
afterAll(async () => {
  await svc?.stop();
  await sim?.close();
});


describe('a hung warm engine server', () => {
  it('is killed and replaced within seconds; its runs fail saying so; /readyz says so meanwhile', async () => {
    sim = await startSimulator({ port: 0, taskDurationMs: 30_000 });
    const dataDir = tempDir('r42-hang-data-');
    svc = await startServiceProcess({
      PROJECT_ROOT_DIR: REPO_ROOT,
      API_BACKEND_INVENTORY_DIR: simulatorInventory(sim),
      DATA_DIR: dataDir,
      RUNNER_ENGINE: 'warm',
      RUNNER_WARM_PING_TIMEOUT: String(PING_TIMEOUT_S),
      RUNNER_CANCEL_GRACE: '1',
      LOG_LEVEL: 'warn',
    });
    const call = apiCaller(svc.base);
    const runIds = () => {
      const db = new Database(path.join(dataDir, 'jobs.db'), { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT runs FROM jobs').all() as Array<{ runs: string }>).flatMap((r) => (JSON.parse(r.runs) as Array<{ run_id: string }>).map((x) => x.run_id));
      } finally {
        db.close();
      }
    };

    // Two runs held by the server, waiting on their Proxmox tasks: one synchronous, one not.
    const syncAnswer = call('POST', START, { proxmox_node: 'px-testing', vm_id: '4001' });
    const a = await call('POST', START, { proxmox_node: 'px-testing', vm_id: '4002' }, { prefer: 'respond-async' });
    expect(a.status).toBe(202);
    await waitFor(() => ['4001', '4002'].every((id) => sim.tasks.list('px-testing').some((t) => t.id === id && t.status === 'running')), 40_000);
    const ready = await call('GET', '/readyz');
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
    const server = descendants(svc.pid).find((pid) => commandLine(pid).includes('r42-warm server'))!;
    expect(server).toBeGreaterThan(0);
    const runs = runIds();
    expect(runs).toHaveLength(2);

    const t0 = Date.now();
    process.kill(server, 'SIGSTOP');

    // /readyz: 503 naming the engine, while the replacement starts.
    let seen: any;
    for (;;) {
      const r = await call('GET', '/readyz');
      if (r.status === 503) {
        seen = r.body;
        break;
      }
      if (Date.now() - t0 > 20_000) throw new Error(`/readyz still ${r.status} after 20 s: ${JSON.stringify(r.body)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    const detectedMs = Date.now() - t0;
    expect(seen.checks.warm_engine.ok).toBe(false);
    expect(seen.checks.warm_engine.detail).toContain(`the warm engine process ${server} stopped answering`);

    const s = await syncAnswer;
    const failedMs = Date.now() - t0;
    expect(s.status).toBe(500);
    expect(s.body.rc).not.toBe(0);
    expect(s.body.error).toContain('stopped answering');
    let job: any;
    for (const end = Date.now() + 20_000; ; ) {
      job = (await call('GET', `/v0/jobs/${a.body.job_id}`)).body;
      if (!['queued', 'running'].includes(job.status) || Date.now() > end) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(job.status).toBe('failed');
    expect(job.reason).toContain(`the warm engine process ${server} stopped answering`);

    // The old server is dead: a SIGCONT brings back neither it nor its runs.
    expect(isRunning(server)).toBe(false);
    try {
      process.kill(server, 'SIGCONT');
    } catch {
      // already reaped
    }
    await new Promise((res) => setTimeout(res, 500));
    expect(isRunning(server)).toBe(false);
    for (const id of runs) expect(processesOfRun(id).filter(isRunning)).toEqual([]);

    // Ready again once the new server answers; a new run succeeds on it.
    let readyAgainMs = 0;
    for (;;) {
      const r = await call('GET', '/readyz');
      if (r.status === 200) {
        readyAgainMs = Date.now() - t0;
        break;
      }
      if (Date.now() - t0 > 60_000) throw new Error(`/readyz not back: ${JSON.stringify(r.body)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const fresh = descendants(svc.pid).find((pid) => commandLine(pid).includes('r42-warm server'));
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(server);
    const list = await call('POST', '/v0/admin/proxmox/vms/list', { proxmox_node: 'px-testing' });
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    console.log(`hung warm server (ping timeout ${PING_TIMEOUT_S} s): /readyz 503 after ${detectedMs} ms, sync run failed after ${failedMs} ms, ready again after ${readyAgainMs} ms`);
  }, 120_000);
});
