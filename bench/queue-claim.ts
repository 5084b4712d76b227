/**
 * The run queue's dispatch, measured two ways on this machine (issue 24, item 4: one source of
 * truth or two):
 *   bullmq  — what RUN_QUEUE=redis does: BullMQ `Queue.add` in Redis, a BullMQ `Worker` takes the
 *             job, then claims it in PostgreSQL (`UPDATE jobs … WHERE status = 'queued' AND no worker`).
 *   pg      — a queue in PostgreSQL alone: `INSERT` + `NOTIFY`, a worker `LISTEN`s and claims with
 *             `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)` (what pg-boss and
 *             graphile-worker do underneath).
 * Figures: submit→start latency with an idle worker (one job at a time, median and p95 of N), and
 * claim throughput (J jobs queued first, then W workers × C concurrency take them all; no-op jobs).
 * Throwaway PostgreSQL (fsync off, as in the tests) and Redis.
 *
 *   node --import tsx bench/queue-claim.ts [latencyRuns=200] [jobs=2000] [workers=2] [concurrency=2]
 *
 * Known problem (not solved): runs often stop making progress in the BullMQ half (no output before
 * the timeout); one run in four completed on the shared machine. Not part of `npm run bench`.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { bullConnection } from '../src/jobs/redis-queue.js';
import { startPostgres, startRedis } from '../tests/support/services.js';

const [runs = 200, jobs = 2000, workers = 2, concurrency = 2] = process.argv.slice(2).map(Number);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STALL_MS = 10_000;

const SCHEMA = `
CREATE TABLE jobs (id text PRIMARY KEY, status text NOT NULL, owner jsonb NOT NULL DEFAULT '{}', created_at bigint NOT NULL, payload json);
CREATE INDEX jobs_queued ON jobs (created_at) WHERE status = 'queued';`;

async function main(): Promise<void> {
  const [pgServer, redis] = await Promise.all([startPostgres(), startRedis()]);
  const url = await pgServer.createDatabase();
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  await pool.query(SCHEMA);
  const out: string[] = [];
  try {
    // ---------------------------------------------------------------- bullmq + PostgreSQL claim
    {
      const name = `bench-${randomUUID()}`;
      const queue = new Queue(name, { connection: bullConnection(redis.url), defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: true } });
      const started = new Map<string, number>();
      let done = 0;
      let allDone: () => void = () => undefined;
      const claim = async (id: string, w: string) => {
        const r = await pool.query(`UPDATE jobs SET status = 'running', owner = jsonb_build_object('worker', $2::text) WHERE id = $1 AND status = 'queued' AND (owner ->> 'worker') IS NULL RETURNING id`, [id, w]);
        return r.rowCount === 1;
      };
      const ws = Array.from({ length: workers }, (_, i) => new Worker<{ id: string }>(name, async (job) => {
        try {
          if (await claim(job.data.id, `w${i}`)) started.set(job.data.id, now());
        } catch (err) {
          console.error('claim failed', err);
        }
        if (++done === target) allDone();
      }, { connection: bullConnection(redis.url, { maxRetriesPerRequest: null }), concurrency, maxStalledCount: 0 }));
      await Promise.all(ws.map((w) => w.waitUntilReady()));
      let target = 0;
      const submit = async () => {
        const id = randomUUID();
        const t = now();
        await pool.query(`INSERT INTO jobs (id, status, created_at) VALUES ($1, 'queued', $2)`, [id, Date.now()]);
        await queue.add('run', { id }, { jobId: id });
        return { id, t };
      };
      // latency: one at a time, idle workers
      const lat: number[] = [];
      let stalled = 0;
      for (let i = 0; i < runs; i++) {
        // The worker idle when the job comes (it has gone back to waiting for the next one).
        await sleep(20);
        done = 0;
        target = 1;
        const finished = new Promise<void>((r) => (allDone = r));
        const { id, t } = await submit();
        // A job not started within STALL_MS is counted as stalled (and its latency left out).
        if (await Promise.race([finished.then(() => false), sleep(STALL_MS).then(() => true)])) stalled++;
        else lat.push(started.get(id)! - t);
      }
      // throughput: all queued first (workers paused), then released
      await Promise.all(ws.map((w) => w.pause()));
      const ids: string[] = [];
      for (let i = 0; i < jobs; i++) ids.push((await submit()).id);
      done = 0;
      target = jobs;
      const finished = new Promise<void>((r) => (allDone = r));
      const t0 = now();
      ws.forEach((w) => w.resume());
      await finished;
      const secs = (now() - t0) / 1000;
      out.push(`bullmq+pg claim: submit→start p50 ${pct(lat, 50).toFixed(2)} ms, p95 ${pct(lat, 95).toFixed(2)} ms (${runs} jobs, ${stalled} not started within ${STALL_MS / 1000} s); throughput ${Math.round(jobs / secs)} claims/s (${jobs} jobs, ${workers}×${concurrency})`);
      await Promise.all(ws.map((w) => w.close()));
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await pool.query('TRUNCATE jobs');
    // ---------------------------------------------------------------- PostgreSQL SKIP LOCKED + LISTEN/NOTIFY
    {
      const started = new Map<string, number>();
      let done = 0;
      let target = 0;
      let allDone: () => void = () => undefined;
      let paused = true;
      const claimNext = async (c: pg.PoolClient | pg.Pool, w: string): Promise<string | null> => {
        const r = await c.query<{ id: string }>(
          `UPDATE jobs SET status = 'running', owner = jsonb_build_object('worker', $1::text)
            WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id`,
          [w],
        );
        return r.rows[0]?.id ?? null;
      };
      // Each worker: one LISTEN connection; `concurrency` claim loops woken by a notice.
      const listeners: pg.Client[] = [];
      const wakers: Array<() => void> = [];
      for (let i = 0; i < workers; i++) {
        const l = new pg.Client({ connectionString: url });
        await l.connect();
        await l.query('LISTEN r42_jobs');
        listeners.push(l);
        for (let k = 0; k < concurrency; k++) {
          let wake: () => void = () => undefined;
          const loop = async () => {
            for (;;) {
              if (!paused) {
                const id = await claimNext(pool, `w${i}`);
                if (id) {
                  started.set(id, now());
                  if (++done === target) allDone();
                  continue;
                }
              }
              await new Promise<void>((r) => (wake = r));
            }
          };
          void loop();
          wakers.push(() => wake());
        }
        l.on('notification', () => wakers.forEach((w) => w()));
      }
      const submit = async () => {
        const id = randomUUID();
        const t = now();
        await pool.query(`WITH i AS (INSERT INTO jobs (id, status, created_at) VALUES ($1, 'queued', $2)) SELECT pg_notify('r42_jobs', $1)`, [id, Date.now()]);
        return { id, t };
      };
      paused = false;
      const lat: number[] = [];
      let stalled = 0;
      for (let i = 0; i < runs; i++) {
        // The worker idle when the job comes (it has gone back to waiting for the next one).
        await sleep(20);
        done = 0;
        target = 1;
        const finished = new Promise<void>((r) => (allDone = r));
        const { id, t } = await submit();
        // A job not started within STALL_MS is counted as stalled (and its latency left out).
        if (await Promise.race([finished.then(() => false), sleep(STALL_MS).then(() => true)])) stalled++;
        else lat.push(started.get(id)! - t);
      }
      paused = true;
      for (let i = 0; i < jobs; i++) await pool.query(`INSERT INTO jobs (id, status, created_at) VALUES ($1, 'queued', $2)`, [randomUUID(), Date.now()]);
      done = 0;
      target = jobs;
      const finished = new Promise<void>((r) => (allDone = r));
      const t0 = now();
      paused = false;
      wakers.forEach((w) => w());
      await finished;
      const secs = (now() - t0) / 1000;
      out.push(`pg SKIP LOCKED:  submit→start p50 ${pct(lat, 50).toFixed(2)} ms, p95 ${pct(lat, 95).toFixed(2)} ms (${runs} jobs, ${stalled} not started within ${STALL_MS / 1000} s); throughput ${Math.round(jobs / secs)} claims/s (${jobs} jobs, ${workers}×${concurrency})`);
      for (const l of listeners) await l.end();
    }
  } finally {
    await pool.end();
    await Promise.all([pgServer.close(), redis.close()]);
  }
  console.log(out.join('\n'));
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
