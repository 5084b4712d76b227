import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { childEnvironment } from '../../src/engine/engine.js';
import { ServiceSecrets } from '../../src/jobs/secrets.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { apiCaller, simulatorInventory, testConfig, waitFor, type ApiCall } from '../helpers.js';
import { startPostgres, type PostgresServer } from '../support/services.js';
import { readSse } from './stack.js';

/**
 * Two instances of the service (two apps in this process, each with its own instance id, on ports
 * of their own) sharing one PostgreSQL database (JOBS_STORE=postgres) and one Proxmox simulator:
 * a VM lock taken through one is seen by the other (409 naming the holder), an Idempotency-Key
 * replays on either, jobs and events are read from either; PostgreSQL stopped under them gives
 * 503s and an unready /readyz naming the store, and once it is back they work again without a restart.
 */

const VMS = '/v0/admin/proxmox/vms';
const ASYNC = { prefer: 'respond-async' };

interface Instance {
  app: FastifyInstance;
  base: string;
  call: ApiCall;
}

let pgServer: PostgresServer;
let sim: Simulator;
let databaseUrl: string;
let a: Instance;
let b: Instance;
const logs: string[] = [];

async function instance(inventory: string): Promise<Instance> {
  const config = testConfig({
    PROJECT_ROOT_DIR: REPO_ROOT,
    API_BACKEND_INVENTORY_DIR: inventory,
    JOBS_STORE: 'postgres',
    DATABASE_URL: databaseUrl,
    RUNNER_CANCEL_GRACE: '1',
    JOBS_HEARTBEAT_INTERVAL: '0.5',
  });
  const sink = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
  const app = await createApp(config, { logger: pino({ level: 'debug' }, sink) });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = apiCaller(base);
  return { app, base, call };
}

/** A job's status as the instance that runs it holds it (from memory: no store needed). */
const statuses = new Map<string, string>();
function s(id: string): string | undefined {
  void a.app.jobs.get(id).then((j) => j && statuses.set(id, j.status), () => undefined);
  return statuses.get(id);
}

async function settle(i: Instance, id: string, timeoutMs = 60_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const j = await i.call('GET', `/v0/jobs/${id}`);
    if (j.status === 200 && !['queued', 'running'].includes(j.body.status)) return j.body;
    if (Date.now() > end) throw new Error(`job ${id} still ${j.body?.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  [pgServer, sim] = await Promise.all([startPostgres(), startSimulator({ port: 0, taskDurationMs: 0 })]);
  databaseUrl = await pgServer.createDatabase();
  const inventory = simulatorInventory(sim);
  // Started together: the schema is migrated once, under the advisory lock.
  [a, b] = await Promise.all([instance(inventory), instance(inventory)]);
});

afterAll(async () => {
  await Promise.all([a?.app.close(), b?.app.close()]);
  await sim?.close();
  await pgServer?.close();
});

describe('two instances sharing PostgreSQL', () => {
  it('are two instances: different owners, one store kind', () => {
    expect(a.app.jobs.owner.instance).not.toBe(b.app.jobs.owner.instance);
    expect([a.app.jobs.store.kind, b.app.jobs.store.kind, a.app.jobs.locks.kind]).toEqual(['postgres', 'postgres', 'postgres']);
  });

  it('a VM locked by a job running on A: B answers 409 naming the holder, reads and follows the job, and runs its own once the lock is free', async () => {
    const vm = { proxmox_node: 'px-testing', vm_id: '1020' };
    sim.setTaskDuration(4000);
    const started = await a.call('POST', `${VMS}/vm_id/pause`, vm, ASYNC);
    expect(started.status, started.text).toBe(202);
    const holder = started.body.job_id as string;
    await waitFor(() => a.app.jobs.locks.holderOf({ node: 'px-testing', vmid: 1020 }) === holder);
    expect(await b.app.jobs.locks.holder({ node: 'px-testing', vmid: 1020 })).toBe(holder);
    expect(b.app.jobs.locks.holderOf({ node: 'px-testing', vmid: 1020 })).toBeNull(); // not B's own

    const runsOnB = b.app.engine.stats.started;
    const refused = await b.call('POST', `${VMS}/vm_id/stop`, vm, { prefer: 'wait=1' });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ detail: `:: err - VM LOCKED : px-testing/1020 is being changed by job ${holder}`, job_id: holder });
    // A mass operation through B touching the same VM: refused, and it kept none of its other locks.
    const mass = await b.call('POST', `${VMS}/vm_ids/stop`, { proxmox_node: 'px-testing', vm_ids: ['1021', '1020'] }, { prefer: 'respond-async, wait=0' });
    expect([mass.status, mass.body.job_id]).toEqual([409, holder]);
    expect(await a.app.jobs.locks.holder({ node: 'px-testing', vmid: 1021 })).toBeNull();
    expect(b.app.engine.stats.started).toBe(runsOnB);

    // B reads the job A runs, and follows its events to the end (from the shared store).
    expect((await b.call('GET', `/v0/jobs/${holder}`)).body).toMatchObject({ id: holder, status: expect.stringMatching(/queued|running/) });
    const followed = readSse(`${b.base}/v0/jobs/${holder}/events`);
    sim.setTaskDuration(0); // the holder's task keeps its 4 s

    // Without a cap, B waits for the lock and runs once A's job has ended.
    const waited = await b.call('POST', `${VMS}/vm_id/resume`, vm);
    expect(waited.status, waited.text).toBe(200);
    const first = (await b.call('GET', `/v0/jobs/${holder}`)).body;
    const second = (await a.call('GET', `/v0/jobs/${waited.headers.get('x-job-id')}`)).body;
    expect([first.status, second.status]).toEqual(['successful', 'successful']);
    expect(Date.parse(second.started_at)).toBeGreaterThanOrEqual(Date.parse(first.finished_at));
    expect(sim.cluster.guest(1020)!.qmpstatus).toBe('running');

    const stream = await followed;
    const seqs = stream.messages.filter((m) => m.event === 'message').map((m) => m.data.seq);
    expect(seqs).toEqual(Array.from({ length: first.event_count }, (_, i) => i + 1));
    expect(stream.messages.at(-1)!.data).toMatchObject({ type: 'end', status: 'successful' });
    expect(await a.app.jobs.locks.holder({ node: 'px-testing', vmid: 1020 })).toBeNull();
  });

  it('an Idempotency-Key used on A replays on B (async and sync), one run in all; another body under it is a 422 on B', async () => {
    const body = { proxmox_node: 'px-testing', vm_id: '1021', vm_description: 'set once, across instances' };
    const url = `${VMS}/vm_id/config/vm_set_description`;
    const key = { 'idempotency-key': `shared-${Date.now()}` };
    const runs = () => a.app.engine.stats.started + b.app.engine.stats.started;
    const before = runs();
    const first = await a.call('POST', url, body, { ...ASYNC, ...key });
    expect(first.status).toBe(202);
    const again = await b.call('POST', url, body, { ...ASYNC, ...key });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ job_id: first.body.job_id, replayed: true });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // Synchronously on B: waits for A's job (through the store) and answers what it answered.
    const sync = await b.call('POST', url, body, key);
    expect(sync.status).toBe(200);
    expect(sync.headers.get('x-job-id')).toBe(first.body.job_id);
    expect(sync.body).toMatchObject({ rc: 0, result: [expect.objectContaining({ vm_id: 1021 })] });
    const direct = await a.call('GET', `/v0/jobs/${first.body.job_id}`);
    expect(direct.body.result).toEqual(sync.body.result);
    const other = await b.call('POST', url, { ...body, vm_description: 'something else' }, { ...ASYNC, ...key });
    expect(other.status).toBe(422);
    expect(other.body.detail).toEqual([expect.objectContaining({ field: 'header.idempotency-key', type: 'idempotency_key_reused' })]);
    expect(runs()).toBe(before + 1);
  });

  it('PostgreSQL stopped: 503 with Retry-After and /readyz naming the job store; started again: both instances work, no restart', async () => {
    await pgServer.stop();
    const list = await b.call('GET', '/v0/jobs?limit=1');
    expect(list.status).toBe(503);
    expect(list.headers.get('retry-after')).toBe('10');
    expect(list.body).toEqual({ detail: expect.stringMatching(/^:: err - JOB STORE UNAVAILABLE: PostgreSQL unreachable \(.*ECONNREFUSED.*\)$/) });
    const job = await a.call('GET', '/v0/jobs/00000000-0000-4000-8000-000000000000');
    expect([job.status, job.headers.get('retry-after')]).toEqual([503, '10']);
    // A request that needs a VM lock is refused before anything runs.
    const runsBefore = a.app.engine.stats.started;
    const describeVm = { proxmox_node: 'px-testing', vm_id: '1023', vm_description: 'after the outage' };
    const locked = await a.call('POST', `${VMS}/vm_id/config/vm_set_description`, describeVm, ASYNC);
    expect(locked.status).toBe(503);
    expect(locked.body.detail).toContain('JOB STORE UNAVAILABLE');
    expect(a.app.engine.stats.started).toBe(runsBefore);
    const ready = await b.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.ready).toBe(false);
    expect(ready.body.checks.job_store).toEqual({ ok: false, detail: expect.stringMatching(/^postgres: .*PostgreSQL unreachable/) });
    expect(ready.body.checks.ansible_runner).toEqual({ ok: true });

    await pgServer.start();
    await waitFor(() => pgServer.running);
    for (const i of [a, b]) {
      expect((await i.call('GET', '/v0/jobs?limit=1')).status).toBe(200);
      expect((await i.call('GET', '/readyz')).body.checks.job_store).toEqual({ ok: true });
    }
    const again = await b.call('POST', `${VMS}/vm_id/config/vm_set_description`, describeVm, ASYNC);
    expect(again.status, again.text).toBe(202);
    const done = await settle(a, again.body.job_id);
    expect(done, JSON.stringify(done.log_multiline ?? done.result ?? done.reason).slice(-3000)).toMatchObject({ status: 'successful', rc: 0 });
  });

  it('a job that ends while PostgreSQL is down is recorded once it is back, events and lock release included', async () => {
    const vm = { proxmox_node: 'px-testing', vm_id: '1021' };
    sim.setTaskDuration(1500);
    const started = await a.call('POST', `${VMS}/vm_id/pause`, vm, ASYNC);
    expect(started.status, started.text).toBe(202);
    const id = started.body.job_id as string;
    await waitFor(() => s(id) === 'running', 30_000);
    await pgServer.stop();
    sim.setTaskDuration(0);
    // Over on A all the same (served from its memory, saying it is not recorded yet).
    let inMemory: any = null;
    await waitFor(() => {
      void a.app.jobs.get(id).then((j) => (inMemory = j));
      return inMemory?.status === 'successful' && /not recorded/.test(inMemory.reason ?? '');
    }, 30_000, 100);
    await pgServer.start();
    // Written by A's next try (every 5 s), then read on B: the end, every event, and the VM free again.
    const recorded = await settle(b, id, 30_000);
    expect(recorded).toMatchObject({ status: 'successful', rc: 0, reason: expect.stringContaining('recorded late') });
    const events = await b.app.jobs.store.readEvents(id, 0);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: recorded.event_count }, (_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'successful' });
    const resumed = await b.call('POST', `${VMS}/vm_id/resume`, vm, { prefer: 'wait=10' });
    expect(resumed.status, resumed.text).toBe(200);
  });

  it('the database URL\'s password is never logged nor given to runs, and is redacted by value', () => {
    const password = pgServer.password;
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('')).not.toContain(password);
    // Runs get the service's environment less its secrets: a URL with a password is one whatever its name.
    const env = childEnvironment({ PATH: '/usr/bin', DATABASE_URL: databaseUrl, SOME_URL: 'https://example.org/x', REDIS_URL: 'redis://:pw-of-redis@127.0.0.1:6379' }, REPO_ROOT);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.SOME_URL).toBe('https://example.org/x');
    const secrets = new ServiceSecrets({ ...a.app.config }, null, { REDIS_URL: 'redis://:pw-of-redis@127.0.0.1:6379' }).values();
    expect(secrets).toEqual(expect.arrayContaining([databaseUrl, password, 'pw-of-redis']));
  });
});
