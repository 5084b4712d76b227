import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { processesMatching } from '../helpers.js';
import { serviceEnv, startApi, startWorker, stop, until, type Api, type Child, type LaunchOptions, type WorkerProc } from '../support/service-processes.js';
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from '../support/services.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * RUN_QUEUE=redis when a worker loses its database (issue 24, items 3, 4 and 9), with real
 * processes: an API instance (`src/server.ts`) and workers (`src/worker.ts`), PostgreSQL, Redis,
 * the Proxmox simulator in this process, real runs of the repository's role. A worker's database
 * link goes through a TCP proxy the test cuts (connections reset, new ones refused), or the worker
 * is frozen (SIGSTOP). The worker must fence itself — kill its runs, write nothing more — before
 * WORKER_LOST_AFTER passes; the job ends `lost` and stays so, with no event after its `end`; the
 * guests are not acted on after the job was declared lost. A worker cut from PostgreSQL but still
 * on Redis loses no job. A cancel while Redis is down is a 503 at once.
 */

const VMS = '/v0/admin/proxmox/vms';
const ASYNC = { prefer: 'respond-async' };
const LOST_AFTER_S = 2;
/** Stopped in the simulator's seed: a mass start starts them one after the other. */
const STOPPED = ['4001', '4002', '4004', '9211', '9221', '9232'];

let pgServer: PostgresServer;
let redis: RedisServer;
let sim: Simulator;
let databaseUrl: string;
let api: Api;
const children: Child[] = [];
const launching: LaunchOptions = { env: {}, children };

async function settle(id: string, timeoutMs = 60_000): Promise<any> {
  return until(`job ${id} over`, async () => {
    const j = await api.call('GET', `/v0/jobs/${id}`);
    return j.status === 200 && !['queued', 'running'].includes(j.body.status) ? j.body : null;
  }, timeoutMs, 100);
}

async function sql<T = any>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as T[];
  } finally {
    await c.end();
  }
}

const internals = async (id: string) => (await sql<{ owner: any; runs: any[] }>('SELECT owner, runs FROM jobs WHERE id = $1', [id]))[0]!;
const storedEvents = async (id: string) => (await sql<{ data: any }>('SELECT data FROM job_events WHERE job_id = $1 ORDER BY seq', [id])).map((r) => r.data);

async function runStarted(id: string): Promise<{ owner: any; runs: any[] }> {
  return until('run started', async () => {
    const j = await internals(id);
    return j?.runs?.[0]?.pid ? j : null;
  }, 30_000, 50);
}

/** The simulator's VM starts (POST …/status/start), with when they were answered. */
const starts = () => sim.requestLog.filter((r) => r.method === 'POST' && /\/qemu\/\d+\/status\/start$/.test(r.path));

/** The lines a worker logged (pino JSON) whose msg contains `text`. */
const logged = (w: Child, text: string) =>
  w.out.join('').split('\n').filter((l) => l.includes(text)).map((l) => JSON.parse(l) as { time: number; msg: string; [k: string]: unknown });

/**
 * A mass start of the stopped VMs (1.5 s per Proxmox task), run by `w`, until it has started its
 * first VM: then the caller breaks the worker.
 */
async function massStartOn(w: WorkerProc): Promise<{ id: string; runId: string }> {
  sim.reset();
  sim.setTaskDuration(1500);
  const started = await api.call('POST', `${VMS}/vm_ids/start`, { proxmox_node: 'px-testing', vm_ids: STOPPED }, ASYNC);
  expect(started.status, started.text).toBe(202);
  const id = started.body.job_id as string;
  const running = await runStarted(id);
  expect(running.owner.worker).toBe(w.id);
  const before = starts().length;
  await until('first VM started', () => starts().length > before, 30_000, 20).catch((err: Error) => {
    throw new Error(`${err.message}\n${w.out.join('')}`);
  });
  return { id, runId: running.runs[0].run_id as string };
}

/**
 * What must hold once the job was declared lost: it is `lost`, its run's processes were gone by
 * then, no guest was started after it, and a few seconds later still none (the run, had it gone
 * on, would have started the next VM every ~1.5 s).
 */
async function lostAndQuiet(id: string, runId: string): Promise<{ lost: any; lostAt: number }> {
  const lost = await until('lost', async () => {
    const j = (await api.call('GET', `/v0/jobs/${id}`)).body;
    return j.status === 'lost' ? j : null;
  }, 20_000, 50);
  expect(processesMatching(runId), 'run processes alive when the job was declared lost').toEqual([]);
  const lostAt = Date.parse(lost.finished_at as string);
  await new Promise((r) => setTimeout(r, 4000));
  const late = starts().filter((r) => r.at >= lostAt);
  expect(late.map((r) => `${r.path} ${r.at - lostAt} ms after lost`)).toEqual([]);
  expect(starts().length).toBeLessThan(STOPPED.length);
  return { lost, lostAt };
}

/** Nothing was written after the job's end: the record still says lost, its last event is `end` lost, none after. */
async function stillLost(id: string, lost: any): Promise<void> {
  const now = (await api.call('GET', `/v0/jobs/${id}`)).body;
  expect(now).toMatchObject({ status: 'lost', event_count: lost.event_count, reason: lost.reason, finished_at: lost.finished_at });
  const events = await storedEvents(id);
  expect(events.map((e) => e.seq)).toEqual(Array.from({ length: lost.event_count }, (_, i) => i + 1));
  expect(events.at(-1)).toMatchObject({ type: 'end', status: 'lost' });
  expect(events.filter((e) => e.type === 'end')).toHaveLength(1);
}

/** The worker takes and runs jobs again (it is the only worker up). */
async function runsAgain(w: WorkerProc): Promise<void> {
  sim.setTaskDuration(0);
  const ok = await until('the worker runs jobs again', async () => {
    const r = await api.call('POST', `${VMS}/list`, { proxmox_node: 'px-testing' });
    return r.status === 200 ? r : null;
  }, 30_000, 500);
  expect((await internals(ok.headers.get('x-job-id')!)).owner.worker).toBe(w.id);
}

beforeAll(async () => {
  [pgServer, redis, sim] = await Promise.all([startPostgres(), startRedis(), startSimulator({ port: 0, taskDurationMs: 0, requestLogSize: 50_000 })]);
  databaseUrl = await pgServer.createDatabase();
  launching.env = {
    ...serviceEnv(sim),
    DATABASE_URL: databaseUrl,
    RUN_QUEUE: 'redis',
    REDIS_URL: redis.url,
    RUNNER_MAX_CONCURRENT: '2',
    WORKER_HEARTBEAT_INTERVAL: '0.5',
    WORKER_LOST_AFTER: String(LOST_AFTER_S),
  };
  api = await startApi(launching);
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map((c) => stop(c)));
  await sim?.close();
  await Promise.all([pgServer?.close(), redis?.close()]);
}, 60_000);

/** A worker whose database link goes through a proxy the test can cut. */
async function cutOffWorker(name: string): Promise<{ w: WorkerProc; proxy: TcpProxy }> {
  const proxy = await startTcpProxy({ port: pgServer.port });
  const url = new URL(databaseUrl);
  url.port = String(proxy.port);
  const w = await startWorker(launching, name, { DATABASE_URL: url.toString() });
  return { w, proxy };
}

describe('a worker that loses PostgreSQL fences itself (RUN_QUEUE=redis)', () => {
  it('network cut between the worker and PostgreSQL: the worker kills its run before WORKER_LOST_AFTER, the job ends lost and stays lost, no guest is started after it', async () => {
    const { w, proxy } = await cutOffWorker('cut-worker');
    try {
      const { id, runId } = await massStartOn(w);
      proxy.cut();
      const cutAt = Date.now();
      const { lost, lostAt } = await lostAndQuiet(id, runId);
      expect(lost.reason).toContain(`worker ${w.id}`);
      // The worker fenced itself before the sweeper's deadline.
      const fenced = logged(w, 'worker: fenced');
      expect(fenced.length, w.out.join('')).toBeGreaterThan(0);
      expect(fenced[0]!.time).toBeLessThan(lostAt);
      expect(fenced[0]!.time - cutAt).toBeLessThan(LOST_AFTER_S * 1000);
      // The link comes back: the worker writes nothing over the job's end, and works again.
      proxy.restore();
      await runsAgain(w);
      await stillLost(id, lost);
      console.log(`cut → fenced ${fenced[0]!.time - cutAt} ms, → lost ${lostAt - cutAt} ms (WORKER_LOST_AFTER ${LOST_AFTER_S} s)`);
    } finally {
      await stop(w);
      await proxy.close();
    }
  }, 90_000);

  it('SIGSTOP of the worker: its runs are killed before WORKER_LOST_AFTER, the job ends lost; after SIGCONT the worker writes nothing over it and works again', async () => {
    const w = await startWorker(launching, 'stopped-worker');
    try {
      const { id, runId } = await massStartOn(w);
      w.proc.kill('SIGSTOP');
      const stoppedAt = Date.now();
      const { lost, lostAt } = await lostAndQuiet(id, runId);
      expect(lostAt - stoppedAt).toBeLessThan((LOST_AFTER_S * 1.25 + 3) * 1000);
      w.proc.kill('SIGCONT');
      await runsAgain(w);
      await new Promise((r) => setTimeout(r, 1000));
      await stillLost(id, lost);
      console.log(`SIGSTOP → lost ${lostAt - stoppedAt} ms (WORKER_LOST_AFTER ${LOST_AFTER_S} s)`);
    } finally {
      if (w.proc.exitCode === null) w.proc.kill('SIGCONT');
      await stop(w);
    }
  }, 90_000);

  it('a worker cut from PostgreSQL but still on Redis takes no job away: 8 queued jobs all end successful on the healthy worker', async () => {
    const { w: cut, proxy } = await cutOffWorker('cut-worker-2');
    const healthy = await startWorker(launching, 'healthy-worker');
    try {
      sim.setTaskDuration(0);
      proxy.cut();
      const submit = async () => {
        const r = await api.call('POST', `${VMS}/list`, { proxmox_node: 'px-testing' }, ASYNC);
        expect(r.status, r.text).toBe(202);
        return r.body.job_id as string;
      };
      // While the cut-off worker still thinks it holds its lease, then once it knows it does not.
      const ids = await Promise.all(Array.from({ length: 4 }, submit));
      await new Promise((r) => setTimeout(r, LOST_AFTER_S * 1000));
      ids.push(...(await Promise.all(Array.from({ length: 4 }, submit))));
      const done = await Promise.all(ids.map((id) => settle(id)));
      expect(done.map((j) => j.status)).toEqual(Array(8).fill('successful'));
      for (const id of ids) expect((await internals(id)).owner.worker).toBe(healthy.id);
    } finally {
      await Promise.all([stop(cut), stop(healthy)]);
      await proxy.close();
    }
  }, 120_000);

  it('cancel while Redis is down: 503 with Retry-After at once, and the cancel works once Redis is back', async () => {
    const w = await startWorker(launching, 'cancel-worker');
    try {
      sim.reset();
      sim.setTaskDuration(20_000);
      const started = await api.call('POST', `${VMS}/vm_id/pause`, { proxmox_node: 'px-testing', vm_id: '1020' }, ASYNC);
      expect(started.status, started.text).toBe(202);
      const id = started.body.job_id as string;
      await runStarted(id);
      await redis.stop();
      const t0 = Date.now();
      const refused = await api.call('POST', `/v0/jobs/${id}/cancel`);
      const took = Date.now() - t0;
      expect(refused.status, refused.text).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body.detail).toMatch(/RUN QUEUE UNAVAILABLE/);
      expect(took).toBeLessThan(2000);
      await redis.start();
      const canceled = await until('cancel once Redis is back', async () => {
        const r = await api.call('POST', `/v0/jobs/${id}/cancel`);
        return r.status === 200 ? r : null;
      }, 30_000, 500);
      expect(canceled.body, JSON.stringify(canceled.body) + w.out.join('')).toMatchObject({ id, status: 'canceled', rc: 254 });
      console.log(`cancel with Redis down answered ${refused.status} in ${took} ms`);
    } finally {
      sim.setTaskDuration(0);
      await stop(w);
    }
  }, 90_000);
});
