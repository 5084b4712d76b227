import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidCursorError, LockConflictError } from '../../src/errors.js';
import { MemoryJobStore } from '../../src/jobs/memory-store.js';
import { PgJobStore } from '../../src/jobs/pg-store.js';
import { MIGRATIONS } from '../../src/jobs/pg-migrations.js';
import { SqliteJobStore } from '../../src/jobs/sqlite-store.js';
import type { JobEvent, JobRecord, JobStore } from '../../src/jobs/types.js';
import { freePort, testConfig, tempDir, waitFor } from '../helpers.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/env.js';
import { startPostgres, type PostgresServer } from '../support/services.js';

/** The JobStore contract, run against SQLite (the default), the in-memory store and PostgreSQL (a server of this file's own). */

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => server?.close());

let n = 0;
function job(over: Partial<JobRecord> = {}): JobRecord {
  n++;
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    status: 'successful', rc: 0, operation: 'vm_start', method: 'POST', route: '/r', path: '/r', node: 'px-testing', targets: [], async: false,
    request: { body: { vm_id: '1' }, params: {} }, created_at: 1_000_000 + n, started_at: null, finished_at: null, reason: null, answer: null, http_status: null,
    idempotency_key: null, request_hash: null, request_id: null, owner: { host: 'h', pid: 1, start: 's', instance: 'i' }, runs: [], event_count: 0,
    ...over,
  };
}
const ev = (seq: number): JobEvent => ({ seq, t: new Date(0).toISOString(), type: 'task_ok', host: 'h' });

const stores: Array<[string, () => JobStore | Promise<JobStore>]> = [
  ['sqlite', () => new SqliteJobStore(path.join(tempDir('r42-store-'), 'sub', 'jobs.db'))],
  ['memory', () => new MemoryJobStore()],
  // A database of its own for each test.
  ['postgres', async () => PgJobStore.open(await server.createDatabase())],
];
const open: JobStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

describe.each(stores)('%s job store', (_name, make) => {
  const store = async () => {
    const s = await make();
    open.push(s);
    return s;
  };

  it('round-trips a job with its targets, runs and answer, and applies patches', async () => {
    const s = await store();
    const j = job({ status: 'running', targets: [{ node: 'px-testing', vmid: 4001 }, { node: 'px-lab-02', vmid: 2001 }], runs: [{ run_id: 'r', label: 'l', pid: 5, private_dir: '/tmp/r42-run-x', rc: null, status: null }] });
    expect(await s.insertJob(j)).toEqual({ inserted: true });
    const back = (await s.getJob(j.id))!;
    expect({ ...back, targets: [...back.targets].sort((a, b) => a.vmid - b.vmid) }).toEqual({ ...j, targets: [...j.targets].sort((a, b) => a.vmid - b.vmid) });
    await s.updateJob(j.id, { status: 'failed', rc: 2, answer: { rc: 2, log_multiline: ['x'] }, http_status: 500, finished_at: 5 });
    expect(await s.getJob(j.id)).toMatchObject({ status: 'failed', rc: 2, answer: { rc: 2, log_multiline: ['x'] }, http_status: 500, finished_at: 5 });
    expect(await s.getJob('nope')).toBeNull();
    await s.deleteJob(j.id);
    expect(await s.getJob(j.id)).toBeNull();
  });

  it('claims an Idempotency-Key atomically within its window', async () => {
    const s = await store();
    const a = job({ idempotency_key: 'k', request_hash: 'h1', created_at: 2_000 });
    expect(await s.insertJob(a, { key: 'k', hash: 'h1', since: 0 })).toEqual({ inserted: true });
    const b = job({ idempotency_key: 'k', request_hash: 'h1' });
    const again = await s.insertJob(b, { key: 'k', hash: 'h1', since: 0 });
    expect(again.inserted).toBe(false);
    expect(!again.inserted && again.existing.id).toBe(a.id);
    expect(await s.getJob(b.id)).toBeNull();
    // Outside the window the key is free again.
    expect(await s.insertJob(b, { key: 'k', hash: 'h1', since: 2_000 })).toEqual({ inserted: true });
    expect((await s.findByIdempotencyKey('k', 0))!.id).toBe(b.id);
    expect(await s.findByIdempotencyKey('other', 0)).toBeNull();
  });

  it('lists newest first with filters and keyset pages (ties on created_at included)', async () => {
    const s = await store();
    const jobs = [
      job({ created_at: 10, status: 'failed', operation: 'vm_stop', targets: [{ node: 'px-testing', vmid: 100 }] }),
      job({ created_at: 20, status: 'running', node: null, targets: [{ node: 'px-lab-02', vmid: 100 }] }),
      job({ created_at: 20, status: 'successful', operation: 'vm_list', node: 'px-lab-02' }),
      job({ created_at: 30, status: 'canceled', targets: [{ node: 'px-testing', vmid: 101 }, { node: 'px-testing', vmid: 100 }] }),
      job({ created_at: 40, status: 'successful' }),
    ];
    for (const j of jobs) await s.insertJob(j);
    const ids = (p: { jobs: JobRecord[] }) => p.jobs.map((j) => j.id);
    const all = await s.listJobs({ limit: 100 });
    expect(all.total).toBe(5);
    expect(ids(all)).toEqual([jobs[4]!.id, jobs[3]!.id, ...[jobs[1]!.id, jobs[2]!.id].sort().reverse(), jobs[0]!.id]);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const p = await s.listJobs({ limit: 2, cursor });
      paged.push(...ids(p));
      cursor = p.next_cursor;
    } while (cursor);
    expect(paged).toEqual(ids(all));
    expect(ids(await s.listJobs({ limit: 10, status: ['failed', 'canceled'] }))).toEqual([jobs[3]!.id, jobs[0]!.id]);
    expect(ids(await s.listJobs({ limit: 10, operation: 'vm_list' }))).toEqual([jobs[2]!.id]);
    expect(ids(await s.listJobs({ limit: 10, vmid: 100 }))).toEqual([jobs[3]!.id, jobs[1]!.id, jobs[0]!.id]);
    expect(ids(await s.listJobs({ limit: 10, vmid: 100, node: 'px-lab-02' }))).toEqual([jobs[1]!.id]);
    expect(ids(await s.listJobs({ limit: 10, node: 'px-lab-02' })).sort()).toEqual([jobs[1]!.id, jobs[2]!.id].sort());
    expect((await s.listJobs({ limit: 1, status: ['successful'] })).total).toBe(2);
    await expect(s.listJobs({ limit: 1, cursor: 'garbage!' })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('appends events in order, reads them after a point, and counts them', async () => {
    const s = await store();
    const j = job({ status: 'running' });
    await s.insertJob(j);
    await s.appendEvents(j.id, [ev(1), ev(2), ev(3)]);
    await s.appendEvents(j.id, [ev(4)]);
    expect((await s.readEvents(j.id, 0)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect((await s.readEvents(j.id, 2)).map((e) => e.seq)).toEqual([3, 4]);
    expect((await s.readEvents(j.id, 0, 2)).map((e) => e.seq)).toEqual([1, 2]);
    expect((await s.readEvents(j.id, 4))).toEqual([]);
    expect((await s.getJob(j.id))!.event_count).toBe(4);
    expect(await s.readEvents(j.id, 0)).toEqual([1, 2, 3, 4].map(ev));
  });

  it('never writes a job in a final state again: appends and updates are refused (a worker declared lost that comes back)', async () => {
    const s = await store();
    for (const final of ['lost', 'successful', 'canceled'] as const) {
      const j = job({ status: 'running' });
      await s.insertJob(j);
      await s.appendEvents(j.id, [ev(1)]);
      await s.appendEvents(j.id, [{ seq: 2, t: new Date(0).toISOString(), type: 'end', status: final, rc: null }]);
      await s.updateJob(j.id, { status: final, reason: 'the end', finished_at: 9 });
      // What a late writer sends after the end: its events, its own end, a patch.
      await s.appendEvents(j.id, [ev(3), { seq: 4, t: new Date(0).toISOString(), type: 'end', status: 'successful', rc: 0 }]);
      await s.updateJob(j.id, { status: 'successful', rc: 0, reason: null, runs: [] });
      await s.updateJob(j.id, { event_count: 7 });
      expect((await s.readEvents(j.id, 0)).map((e) => [e.seq, e.type])).toEqual([[1, 'task_ok'], [2, 'end']]);
      expect(await s.getJob(j.id)).toMatchObject({ status: final, reason: 'the end', finished_at: 9, event_count: 2 });
    }
  });

  it('finds unfinished jobs and prunes finished ones by age and count, never a running one', async () => {
    const s = await store();
    const old = job({ created_at: 100, status: 'running' });
    const oldRunning = job({ created_at: 101, status: 'running' });
    const queued = job({ created_at: 102, status: 'queued' });
    const recent = [job({ created_at: 200 }), job({ created_at: 201, status: 'lost' }), job({ created_at: 202, status: 'failed' })];
    for (const j of [old, oldRunning, queued, ...recent]) await s.insertJob(j);
    await s.appendEvents(old.id, [ev(1)]);
    await s.updateJob(old.id, { status: 'successful' });
    expect((await s.unfinishedJobs()).map((j) => j.id).sort()).toEqual([oldRunning.id, queued.id].sort());
    expect(await s.prune({ before: 150, keep: 100 })).toBe(1);
    expect(await s.getJob(old.id)).toBeNull();
    expect(await s.readEvents(old.id, 0)).toEqual([]);
    expect(await s.prune({ before: 0, keep: 2 })).toBe(1);
    expect((await s.listJobs({ limit: 10 })).jobs.map((j) => j.id)).toEqual([recent[2]!.id, recent[1]!.id, queued.id, oldRunning.id]);
  });
});

describe('SQLite specifics', () => {
  it('uses WAL in a private file, and keeps jobs across reopening', async () => {
    const dir = tempDir('r42-store-');
    const file = path.join(dir, 'jobs.db');
    const s = new SqliteJobStore(file);
    const j = job();
    await s.insertJob(j);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    await s.close();
    const again = new SqliteJobStore(file);
    expect((await again.getJob(j.id))!.id).toBe(j.id);
    await again.close();
  });
});

describe('configuration', () => {
  it('DATA_DIR, JOBS_STORE and the job settings are read and checked', () => {
    const dir = tempDir();
    const c = testConfig({ DATA_DIR: path.join(dir, 'new', 'data'), JOBS_STORE: 'memory', JOBS_RETENTION_DAYS: '7', JOBS_RETENTION_COUNT: '500', JOBS_LOCK_WAIT: '2.5', JOBS_HEARTBEAT_INTERVAL: '10' });
    expect(c.jobs).toEqual({ store: 'memory', databaseUrl: null, dataDir: path.join(dir, 'new', 'data'), retentionMs: 7 * 86_400_000, retentionCount: 500, lockWaitMs: 2500, heartbeatMs: 10_000 });
    // The defaults (testConfig gives every test a DATA_DIR of its own; loadConfig does not).
    expect(loadConfig({ PATH: process.env.PATH }).jobs).toMatchObject({ store: 'sqlite', dataDir: path.resolve('data'), retentionMs: 30 * 86_400_000, retentionCount: 10_000, lockWaitMs: 30_000, heartbeatMs: 15_000 });
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    expect(() => testConfig({ DATA_DIR: path.join(dir, 'file') })).toThrow(ConfigError);
    expect(() => testConfig({ DATA_DIR: path.join(dir, 'file', 'below') })).toThrow('DATA_DIR');
    expect(() => testConfig({ JOBS_STORE: 'mysql' })).toThrow('JOBS_STORE');
    // PostgreSQL needs its URL, a postgresql:// one; the error never echoes it (it may hold a password).
    expect(() => testConfig({ JOBS_STORE: 'postgres' })).toThrow('configuration error: DATABASE_URL: required when JOBS_STORE=postgres');
    expect(() => testConfig({ JOBS_STORE: 'postgres', DATABASE_URL: 'mysql://u:hunter22@db/x' })).toThrow(/^configuration error: DATABASE_URL: must be a postgresql:\/\/ URL, got mysql:\/\/…$/);
    expect(() => testConfig({ JOBS_STORE: 'postgres', DATABASE_URL: 'hunter22' })).toThrow(/^configuration error: DATABASE_URL: not a URL/);
    expect(testConfig({ JOBS_STORE: 'POSTGRES', DATABASE_URL: ' postgres://u:p@db:5433/jobs ' }).jobs).toMatchObject({ store: 'postgres', databaseUrl: 'postgres://u:p@db:5433/jobs' });
    // Without JOBS_STORE=postgres the URL is not used.
    expect(testConfig({ DATABASE_URL: 'postgres://u:p@db/jobs' }).jobs.databaseUrl).toBeNull();
    expect(() => testConfig({ JOBS_RETENTION_DAYS: '-1' })).toThrow('JOBS_RETENTION_DAYS');
  });
});

describe('PostgreSQL specifics', () => {
  const query = async (url: string, text: string, values: unknown[] = []) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(text, values)).rows;
    } finally {
      await c.end();
    }
  };

  it('migrates at startup under an advisory lock: instances starting together apply each migration once; a newer schema is refused', async () => {
    const url = await server.createDatabase();
    const opened = await Promise.all([1, 2, 3].map(() => PgJobStore.open(url, { max: 2 })));
    const rows = await query(url, 'SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    for (const s of opened) await s.close();
    // Reopening applies nothing again.
    await (await PgJobStore.open(url)).close();
    expect(await query(url, 'SELECT count(*)::int AS n FROM schema_migrations')).toEqual([{ n: MIGRATIONS.length }]);
    await query(url, "INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future')");
    const refused = PgJobStore.open(url);
    await expect(refused).rejects.toThrow(/job database schema 999 is newer than this service/);
    await expect(refused).rejects.not.toThrow(server.password);
  });

  it('a server that cannot be reached stops the opening with its address, never the password', async () => {
    const port = await freePort();
    const refused = PgJobStore.open(`postgresql://r42:not-to-be-seen@127.0.0.1:${port}/jobs`);
    await expect(refused).rejects.toThrow(new RegExp(`^job store 127\\.0\\.0\\.1:${port}/jobs: .*ECONNREFUSED`));
    await expect(refused).rejects.not.toThrow(/not-to-be-seen/);
    const wrong = PgJobStore.open((await server.createDatabase()).replace(server.password, 'not-to-be-seen'));
    await expect(wrong).rejects.toThrow(/password authentication failed/);
    await expect(wrong).rejects.not.toThrow(/not-to-be-seen/);
  });

  it('one Idempotency-Key claimed by many instances at once: exactly one job', async () => {
    const url = await server.createDatabase();
    const instances = await Promise.all([1, 2, 3, 4].map(() => PgJobStore.open(url, { max: 3 })));
    open.push(...instances);
    const claims = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      instances[i % instances.length]!.insertJob(job({ idempotency_key: 'same', request_hash: 'h' }), { key: 'same', hash: 'h', since: 0 })));
    const winners = claims.filter((c) => c.inserted);
    expect(winners).toHaveLength(1);
    const ids = new Set(claims.map((c) => (c.inserted ? null : c.existing.id)).filter(Boolean));
    expect(ids.size).toBe(1);
    expect((await instances[0]!.listJobs({ limit: 100 })).total).toBe(1);
  });

  it('keeps JSON as written (key order of answers and events) and orders ids bytewise whatever the locale', async () => {
    const s = await PgJobStore.open(await server.createDatabase());
    open.push(s);
    const answer = { rc: 0, result: [{ z: 1, a: 2, m: { y: 1, b: 2 } }] };
    const j = job({ answer, status: 'running' });
    await s.insertJob(j);
    expect(JSON.stringify((await s.getJob(j.id))!.answer)).toBe(JSON.stringify(answer));
    const e = { seq: 1, t: 'now', type: 'task_ok', zeta: 1, alpha: 2 } as JobEvent;
    await s.appendEvents(j.id, [e]);
    expect(JSON.stringify((await s.readEvents(j.id, 0))[0])).toBe(JSON.stringify(e));
    // Events of a job that is not there are dropped, as the other stores do, not an error.
    await s.appendEvents('00000000-0000-4000-8000-00000000dead', [e]);
  });
});

describe('VM locks in PostgreSQL', () => {
  const vm = (vmid: number, node = 'px-testing') => ({ node, vmid });

  it('a lock taken through one instance is seen by another: wait then conflict naming the holder, or the lock once given back', async () => {
    const url = await server.createDatabase();
    const [s1, s2] = await Promise.all([PgJobStore.open(url, { max: 3 }), PgJobStore.open(url, { max: 3 })]);
    open.push(s1, s2);
    const a = s1.vmLocks({ host: 'h', pid: 1, start: 's', instance: 'instance-a' });
    const b = s2.vmLocks({ host: 'h', pid: 1, start: 's', instance: 'instance-b' });
    const releaseA = await a.acquire('job-a', [vm(2), vm(1)], 0);
    expect([a.holderOf(vm(1)), b.holderOf(vm(1)), await b.holder(vm(1))]).toEqual(['job-a', null, 'job-a']);
    // B wants 3 and 2: gets 3, waits on 2, gives 3 back when its wait is over.
    const t0 = Date.now();
    const refused = await b.acquire('job-b', [vm(3), vm(2)], 300).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(refused).toBeInstanceOf(LockConflictError);
    expect(refused).toMatchObject({ holder: 'job-a', target: vm(2) });
    await waitFor(() => b.holderOf(vm(3)) === null);
    await expect.poll(() => a.holder(vm(3))).toBeNull();
    // Given back on A while B waits: B gets everything.
    const waiting = b.acquire('job-b', [vm(1), vm(2), vm(3)], 5000);
    setTimeout(releaseA, 200);
    const releaseB = await waiting;
    expect(await a.holder(vm(1))).toBe('job-b');
    releaseB();
    await expect.poll(() => a.holder(vm(1))).toBeNull();
  });

  it('sweep gives back the locks of ended jobs and of instances that stopped their heartbeat, not the others', async () => {
    const url = await server.createDatabase();
    const s = await PgJobStore.open(url);
    open.push(s);
    const locks = s.vmLocks({ host: 'h', pid: 1, start: 's', instance: 'live' });
    const ended = job({ status: 'lost' });
    const running = job({ status: 'running' });
    await s.insertJob(ended);
    await s.insertJob(running);
    await locks.acquire(ended.id, [vm(10)], 0);
    await locks.acquire(running.id, [vm(11)], 0);
    await locks.acquire('not-recorded-yet', [vm(12)], 0);
    // A dead instance's lock: its heartbeat stopped three minutes ago.
    await s.db.query("INSERT INTO vm_locks (node, vmid, job_id, owner, heartbeat_at) VALUES ('px-testing', 13, 'j-dead', 'dead', now() - interval '3 minutes')");
    expect(await locks.sweep()).toBe(2);
    expect(await Promise.all([10, 11, 12, 13].map((id) => locks.holder(vm(id))))).toEqual([null, running.id, 'not-recorded-yet', null]);
  });
});
