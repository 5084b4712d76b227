import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { processesMatching } from '../helpers.js';
import { readSse } from '../jobs/stack.js';
import { serviceEnv, startApi, startWorker, stop, until, type Api, type Child, type LaunchOptions, type WorkerProc } from '../support/service-processes.js';
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from '../support/services.js';

/**
 * RUN_QUEUE=redis with real processes: two API instances (`node --import tsx src/server.ts`, ports
 * of their own) and two workers (`src/worker.ts`), one PostgreSQL, one Redis, one Proxmox simulator
 * (in this process, its task duration set per test) and real ansible-runner runs of the repository's
 * role. Submit on A and follow on B (SSE, resumed with Last-Event-ID), a lock seen across
 * instances, cancel across instances down to the run's processes, kill -9 of a worker mid-run,
 * PostgreSQL and Redis restarted mid-stream.
 */

const VMS = '/v0/admin/proxmox/vms';
const ASYNC = { prefer: 'respond-async' };
/** The job the outage cases submit while a service is down (refused) and once it is back (run). */
const PING = { url: '/v0/admin/debug/ping', body: { proxmox_node: 'px-testing', hosts: 'px-testing' } };
const LOST_AFTER_S = 2;

let pgServer: PostgresServer;
let redis: RedisServer;
let sim: Simulator;
let databaseUrl: string;
let a: Api;
let b: Api;
const workers: WorkerProc[] = [];
const children: Child[] = [];
/** Its env is set in beforeAll, once PostgreSQL, Redis and the simulator are up. */
const launching: LaunchOptions = { env: {}, children };

async function worker(): Promise<WorkerProc> {
  const w = await startWorker(launching);
  workers.push(w);
  return w;
}

async function settle(api: Api, id: string, timeoutMs = 60_000): Promise<any> {
  return until(`job ${id} over`, async () => {
    const j = await api.call('GET', `/v0/jobs/${id}`);
    return j.status === 200 && !['queued', 'running'].includes(j.body.status) ? j.body : null;
  }, timeoutMs, 100);
}

/** What the API does not show of a job: its owner (the worker) and its runs (ansible-runner ids and pids), read from PostgreSQL. */
async function internals(id: string): Promise<{ owner: any; runs: any[] }> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const r = await c.query('SELECT owner, runs FROM jobs WHERE id = $1', [id]);
    return r.rows[0];
  } finally {
    await c.end();
  }
}

/** The job's internals once its first run has a pid; a timeout says what was last read. */
async function runStarted(id: string): Promise<{ owner: any; runs: any[] }> {
  let last: unknown = null;
  return until('run started', async () => {
    const j = (last = await internals(id));
    return j.runs?.[0]?.pid ? j : null;
  }, 30_000, 50, () => last);
}

/**
 * The first half of an outage case: a job of 3 s tasks submitted on A (`url`), running, B following
 * its events; then `service` stopped mid-stream. While it is down A refuses a new job (503,
 * Retry-After, `detail`) and B's /readyz names `down` and only it. The second half (the restart,
 * the job's end, the follower's events) is the case's own.
 */
async function outageMidStream(url: string, service: PostgresServer | RedisServer, detail: RegExp, down: 'job_store' | 'run_queue') {
  sim.setTaskDuration(3000);
  const started = await a.call('POST', url, { proxmox_node: 'px-testing', vm_id: '1020' }, ASYNC);
  expect(started.status, started.text).toBe(202);
  const id = started.body.job_id as string;
  await until('running', async () => (await a.call('GET', `/v0/jobs/${id}`)).body.status === 'running');
  let flowing!: () => void;
  const firstEvent = new Promise<void>((r) => (flowing = r));
  const follow = readSse(`${b.base}/v0/jobs/${id}/events`, { stopAfter: () => (flowing(), false) });
  await firstEvent;
  await service.stop();
  const refused = await a.call('POST', PING.url, PING.body);
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(refused.body.detail).toMatch(detail);
  const ready = await b.call('GET', '/readyz');
  expect(ready.status).toBe(503);
  expect(ready.body.checks[down].ok).toBe(false);
  expect(ready.body.checks[down === 'job_store' ? 'run_queue' : 'job_store'].ok).toBe(true);
  return { id, follow };
}

const seqsOf = (messages: { event: string; data: any }[]) => messages.filter((m) => m.event === 'message').map((m) => m.data.seq as number);
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

beforeAll(async () => {
  [pgServer, redis, sim] = await Promise.all([startPostgres(), startRedis(), startSimulator({ port: 0, taskDurationMs: 0 })]);
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
  // The first API migrates the schema; then everything else at once.
  a = await startApi(launching);
  [b] = await Promise.all([startApi(launching), worker(), worker()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map((c) => stop(c)));
  await sim?.close();
  await Promise.all([pgServer?.close(), redis?.close()]);
}, 60_000);

describe('two API instances and two workers (RUN_QUEUE=redis)', () => {
  it('a job submitted on A runs on a worker; B follows it live (SSE, resumed with Last-Event-ID) and gets the same events; a synchronous call answers from the worker', async () => {
    sim.setTaskDuration(1500);
    const started = await a.call('POST', `${VMS}/vm_id/pause`, { proxmox_node: 'px-testing', vm_id: '1020' }, ASYNC);
    expect(started.status, started.text).toBe(202);
    const id = started.body.job_id as string;
    // B follows from the start, drops the connection after 3 events, resumes where it was.
    const first = await readSse(`${b.base}/v0/jobs/${id}/events`, { stopAfter: (_m, all) => seqsOf(all).length >= 3 });
    expect(first.ended).toBe('client');
    const last = String(seqsOf(first.messages).at(-1));
    const rest = await readSse(`${b.base}/v0/jobs/${id}/events`, { lastEventId: last });
    expect(rest.ended).toBe('server');
    const done = await settle(a, id);
    expect(done).toMatchObject({ status: 'successful', rc: 0 });
    expect(workers.map((w) => w.id)).toContain((await internals(id)).owner.worker);
    const followed = [...first.messages, ...rest.messages].filter((m) => m.event === 'message').map((m) => m.data);
    expect(followed.map((e) => e.seq)).toEqual(range(done.event_count));
    expect(followed.at(-1)).toMatchObject({ type: 'end', status: 'successful' });
    // The same events, replayed from A once over.
    const replay = await readSse(`${a.base}/v0/jobs/${id}/events`);
    expect(replay.messages.filter((m) => m.event === 'message').map((m) => m.data)).toEqual(followed);
    sim.setTaskDuration(0);

    // Synchronous on B: the route's usual answer, made on a worker.
    const sync = await b.call('POST', `${VMS}/vm_id/resume`, { proxmox_node: 'px-testing', vm_id: '1020' });
    expect(sync.status, sync.text).toBe(200);
    expect(sync.body).toMatchObject({ rc: 0 });
    expect(sync.headers.get('x-job-id')).toMatch(/^[0-9a-f-]{36}$/);
  }, 90_000);

  it('a VM locked by a job submitted on A: B answers 409 naming the holder; B cancels it on the worker, its processes are gone, the lock is free', async () => {
    sim.setTaskDuration(20_000);
    const vm = { proxmox_node: 'px-testing', vm_id: '1021' };
    const started = await a.call('POST', `${VMS}/vm_id/pause`, vm, ASYNC);
    expect(started.status, started.text).toBe(202);
    const id = started.body.job_id as string;
    const refused = await b.call('POST', `${VMS}/vm_id/stop`, vm, { prefer: 'wait=1' });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ detail: `:: err - VM LOCKED : px-testing/1021 is being changed by job ${id}`, job_id: id });
    const running = await runStarted(id);
    const runId = running.runs[0].run_id as string;
    await until('run processes', () => processesMatching(runId).length > 0);
    const t0 = Date.now();
    const canceled = await b.call('POST', `/v0/jobs/${id}/cancel`);
    expect(canceled.status, canceled.text).toBe(200);
    expect(canceled.body).toMatchObject({ id, status: 'canceled', rc: 254 });
    expect(Date.now() - t0).toBeLessThan(15_000);
    await until('run processes gone', () => processesMatching(runId).length === 0, 10_000);
    sim.setTaskDuration(0);
    const next = await b.call('POST', `${VMS}/vm_id/resume`, vm, { prefer: 'wait=10' });
    expect(next.status, next.text).toBe(200);
    // A job canceled while still in the queue never runs.
    expect((await a.call('POST', `/v0/jobs/${id}/cancel`)).status).toBe(409);
  }, 90_000);

  it('kill -9 of a worker mid-run: its job is lost within the bound, its lock released, nothing left running; a restarted worker does not run it again', async () => {
    sim.setTaskDuration(30_000);
    const vm = { proxmox_node: 'px-testing', vm_id: '1020' };
    const started = await a.call('POST', `${VMS}/vm_id/pause`, vm, ASYNC);
    const id = started.body.job_id as string;
    const running = await runStarted(id);
    const victim = workers.find((w) => w.id === running.owner.worker);
    expect(victim, `worker ${running.owner.worker}`).toBeDefined();
    const runId = running.runs[0].run_id as string;
    victim!.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await victim!.exited;
    const lost = await until('lost', async () => {
      const j = (await b.call('GET', `/v0/jobs/${id}`)).body;
      return j.status === 'lost' ? j : null;
    }, 20_000, 100);
    const took = Date.now() - killedAt;
    expect(took).toBeLessThan((LOST_AFTER_S * 1.25 + 3) * 1000);
    expect(lost.reason).toContain(`worker ${victim!.id}`);
    // What the run left behind is killed by a sweeper on this host.
    await until('run processes gone', () => processesMatching(runId).length === 0, 10_000);
    expect((await b.call('GET', '/v0/jobs?status=running,queued')).body.total).toBe(0);
    workers.splice(workers.indexOf(victim!), 1);
    const again = await worker();
    sim.setTaskDuration(0);
    const next = await b.call('POST', `${VMS}/vm_id/resume`, vm, { prefer: 'wait=5' });
    expect(next.status, next.text).toBe(200);
    const after = (await a.call('GET', `/v0/jobs/${id}`)).body;
    expect(after).toMatchObject({ status: 'lost', event_count: lost.event_count });
    expect((await internals(id)).runs).toEqual(running.runs);
    expect(again.out.join('')).not.toContain(id);
    console.log(`kill -9 → lost in ${took} ms (WORKER_LOST_AFTER ${LOST_AFTER_S} s)`);
  }, 90_000);

  it('PostgreSQL down longer than the workers\' lease: 503s naming the store while it is down; the worker fences itself, the job ends lost once, and B\'s follower gets every event once', async () => {
    const { id, follow } = await outageMidStream(`${VMS}/vm_id/pause`, pgServer, /JOB STORE UNAVAILABLE/, 'job_store');
    // Longer than the lease (3/4 of WORKER_LOST_AFTER): the worker cannot tell an outage from a
    // partition, so it kills its run and writes nothing more; the job ends lost (by the worker once
    // the store is back, or by a sweeper), never successful after the run was killed.
    await new Promise((r) => setTimeout(r, LOST_AFTER_S * 1000));
    await pgServer.start();
    const stream = await follow;
    const done = await settle(b, id);
    expect(done.status, JSON.stringify(done)).toBe('lost');
    expect(done.reason).toMatch(/^worker \S+ \(process \d+ on .+\) (fenced itself|stopped answering)/);
    expect(stream.messages.filter((m) => m.event === 'message').at(-1)?.data).toMatchObject({ type: 'end', status: 'lost' });
    expect(seqsOf(stream.messages)).toEqual(range(done.event_count));
    await until('ready again', async () => (await b.call('GET', '/readyz')).status === 200, 20_000, 200);
    const ok = await a.call('POST', PING.url, PING.body);
    expect(ok.status, ok.text).toBe(200);
  }, 90_000);

  it('Redis restarted mid-stream (empty): 503s naming the run queue while it is down; the running job ends, B\'s follower gets it all, new jobs run', async () => {
    const { id, follow } = await outageMidStream(`${VMS}/vm_id/resume`, redis, /RUN QUEUE UNAVAILABLE/, 'run_queue');
    const stream = await follow;
    const done = await settle(b, id);
    expect(done.status).toBe('successful');
    expect(seqsOf(stream.messages)).toEqual(range(done.event_count));
    await redis.start();
    sim.setTaskDuration(0);
    await until('ready again', async () => (await a.call('GET', '/readyz')).status === 200, 20_000, 200);
    const ok = await until('runs again', async () => {
      const r = await b.call('POST', PING.url, PING.body);
      return r.status === 200 ? r : null;
    }, 30_000, 500);
    expect(ok.body).toMatchObject({ rc: 0 });
    expect((await a.call('GET', '/v0/jobs?status=running,queued')).body.total).toBe(0);
  }, 90_000);
});
