import { decodeCursor, encodeCursor } from './cursor.js';
import { ADVISORY_CLASS, PgDatabase, patchAssignments, type Queryable } from './pg.js';
import { PgVmLocks } from './pg-locks.js';
import { PgQueueStore } from './pg-queue.js';
import type { IdempotencyClaim, InsertOutcome, JobEvent, JobFilter, JobOwner, JobPage, JobPatch, JobRecord, JobStore, LockStore, QueueStore, VmTarget } from './types.js';

interface Row {
  id: string;
  status: string;
  rc: number | null;
  operation: string;
  method: string;
  route: string;
  path: string;
  node: string | null;
  async: boolean;
  request: JobRecord['request'];
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  reason: string | null;
  answer: Record<string, unknown> | null;
  http_status: number | null;
  idem_key: string | null;
  idem_hash: string | null;
  request_id: string | null;
  owner: JobOwner;
  runs: JobRecord['runs'];
  event_count: number;
  targets: VmTarget[];
}

const COLUMNS = ['id', 'status', 'rc', 'operation', 'method', 'route', 'path', 'node', 'async', 'request', 'created_at', 'started_at', 'finished_at', 'reason', 'answer', 'http_status', 'idem_key', 'idem_hash', 'request_id', 'owner', 'runs', 'event_count'] as const;
// Targets travel with the row as a JSON array (one query per page, no N+1).
const SELECT = `SELECT ${COLUMNS.join(', ')},
  (SELECT coalesce(json_agg(json_build_object('node', t.node, 'vmid', t.vmid)), '[]'::json) FROM job_targets t WHERE t.job_id = jobs.id) AS targets
  FROM jobs`;
const UNFINISHED = `('queued', 'running')`;
/** The columns a patch may set (JobPatch's keys), and which of them are JSON. */

function fromRow(r: Row): JobRecord {
  return {
    id: r.id,
    status: r.status as JobRecord['status'],
    rc: r.rc,
    operation: r.operation,
    method: r.method,
    route: r.route,
    path: r.path,
    node: r.node,
    targets: r.targets,
    async: r.async,
    request: r.request,
    created_at: r.created_at,
    started_at: r.started_at,
    finished_at: r.finished_at,
    reason: r.reason,
    answer: r.answer,
    http_status: r.http_status,
    idempotency_key: r.idem_key,
    request_hash: r.idem_hash,
    request_id: r.request_id,
    owner: r.owner,
    runs: r.runs,
    event_count: r.event_count,
  };
}

/**
 * Jobs in PostgreSQL (`JOBS_STORE=postgres`, `DATABASE_URL`), shared by every instance of the
 * service that uses the same database: jobs, their targets and events, Idempotency-Keys, and the
 * per-VM locks (pg-locks.ts). The schema is migrated at startup (pg.ts, pg-migrations.ts). Same
 * contract as the SQLite store (tests/jobs/store.test.ts runs it on both); an unreachable server
 * is a JobStoreUnavailableError (503) and the pool reconnects once it is back.
 */
export class PgJobStore implements JobStore {
  readonly kind = 'postgres';
  private locks: PgVmLocks[] = [];
  private queue: PgQueueStore | null = null;

  private constructor(readonly db: PgDatabase) {}

  /** Connects and migrates the schema; throws (with the server's host, never the password) when it cannot. */
  static async open(url: string, opts: { max?: number } = {}): Promise<PgJobStore> {
    const db = new PgDatabase(url, opts);
    try {
      await db.migrate();
    } catch (err) {
      await db.close().catch(() => undefined);
      throw new Error(`job store ${db.where}: ${(err as Error).message}`, { cause: err });
    }
    return new PgJobStore(db);
  }

  async insertJob(job: JobRecord, idem?: IdempotencyClaim): Promise<InsertOutcome> {
    return this.db.tx(async (c) => {
      if (idem) {
        // One claim of a key at a time, across instances: the check and the insert are one step.
        await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ADVISORY_CLASS.idempotency, idem.key]);
        const prior = await byIdem(c, idem.key, idem.since);
        if (prior) return { inserted: false, existing: prior };
      }
      await c.query(
        `INSERT INTO jobs (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
        [
          job.id, job.status, job.rc, job.operation, job.method, job.route, job.path, job.node, job.async,
          JSON.stringify(job.request), job.created_at, job.started_at, job.finished_at, job.reason,
          job.answer === null ? null : JSON.stringify(job.answer), job.http_status, job.idempotency_key, job.request_hash,
          job.request_id, JSON.stringify(job.owner), JSON.stringify(job.runs), job.event_count,
        ],
      );
      if (job.targets.length > 0) {
        await c.query(
          'INSERT INTO job_targets (job_id, node, vmid) SELECT $1, t.node, t.vmid FROM unnest($2::text[], $3::bigint[]) AS t(node, vmid) ON CONFLICT DO NOTHING',
          [job.id, job.targets.map((t) => t.node), job.targets.map((t) => t.vmid)],
        );
      }
      return { inserted: true };
    });
  }

  async updateJob(id: string, patch: JobPatch): Promise<void> {
    const { sets, values } = patchAssignments(patch);
    if (sets.length === 0) return;
    values.push(id);
    // A job in a final state is never written again (a worker declared lost that comes back included).
    await this.db.query(`UPDATE jobs SET ${sets.join(', ')} WHERE id = $${values.length} AND status IN ${UNFINISHED}`, values);
  }

  async deleteJob(id: string): Promise<void> {
    // Its targets and events go with it (ON DELETE CASCADE).
    await this.db.query('DELETE FROM jobs WHERE id = $1', [id]);
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const r = await this.db.query<Row>(`${SELECT} WHERE id = $1`, [id], 'r42_get_job');
    return r.rows[0] ? fromRow(r.rows[0]) : null;
  }

  async findByIdempotencyKey(key: string, since: number): Promise<JobRecord | null> {
    return byIdem(this.db, key, since);
  }

  async listJobs(filter: JobFilter): Promise<JobPage> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (filter.status && filter.status.length > 0) where.push(`status = ANY(${arg(filter.status)}::text[])`);
    if (filter.operation) where.push(`operation = ${arg(filter.operation)}`);
    if (filter.vmid !== undefined) {
      const node = filter.node ? ` AND node = ${arg(filter.node)}` : '';
      where.push(`id IN (SELECT job_id FROM job_targets WHERE vmid = ${arg(filter.vmid)}${node})`);
    } else if (filter.node) {
      const node = arg(filter.node);
      where.push(`(node = ${node} OR id IN (SELECT job_id FROM job_targets WHERE node = ${node}))`);
    }
    const cursor = decodeCursor(filter.cursor);
    const filtered = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const countArgs = [...args];
    const page = [...where];
    if (cursor) page.push(`(created_at, id) < (${arg(cursor.createdAt)}, ${arg(cursor.id)})`);
    const limit = arg(filter.limit + 1);
    const [count, rows] = await Promise.all([
      this.db.query<{ n: number }>(`SELECT count(*) AS n FROM jobs ${filtered}`, countArgs),
      this.db.query<Row>(`${SELECT} ${page.length > 0 ? `WHERE ${page.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${limit}`, args),
    ]);
    const more = rows.rows.length > filter.limit;
    const jobs = rows.rows.slice(0, filter.limit).map(fromRow);
    const last = jobs[jobs.length - 1];
    return { jobs, total: count.rows[0]!.n, next_cursor: more && last ? encodeCursor(last.created_at, last.id) : null };
  }

  async appendEvents(jobId: string, events: readonly JobEvent[]): Promise<void> {
    if (events.length === 0) return;
    // One statement (atomic, one round trip): the events, and the job's event_count — only while
    // the job is not final. The job's row is locked first, so an append racing with the end
    // another process writes (a sweeper declaring it lost) waits for it, sees it final and adds
    // nothing: no event ever follows a job's `end`.
    await this.db.query(
      `WITH j AS (SELECT id FROM jobs WHERE id = $1 AND status IN ${UNFINISHED} FOR UPDATE),
       added AS (
         INSERT INTO job_events (job_id, seq, data)
         SELECT j.id, (e ->> 'seq')::integer, e FROM j, json_array_elements($2::json) AS e
         ON CONFLICT DO NOTHING
       )
       UPDATE jobs SET event_count = GREATEST(jobs.event_count, $3) FROM j WHERE jobs.id = j.id`,
      [jobId, JSON.stringify(events), events[events.length - 1]!.seq],
      'r42_append_events',
    );
  }

  async readEvents(jobId: string, afterSeq: number, limit = 100_000): Promise<JobEvent[]> {
    const r = await this.db.query<{ data: JobEvent }>('SELECT data FROM job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [jobId, afterSeq, limit], 'r42_read_events');
    return r.rows.map((row) => row.data);
  }

  async unfinishedJobs(): Promise<JobRecord[]> {
    return (await this.db.query<Row>(`${SELECT} WHERE status IN ${UNFINISHED}`)).rows.map(fromRow);
  }

  async prune(opts: { before: number; keep: number }): Promise<number> {
    const r = await this.db.query(
      `DELETE FROM jobs WHERE status NOT IN ${UNFINISHED} AND (created_at < $1 OR id IN (
         SELECT id FROM jobs WHERE status NOT IN ${UNFINISHED} ORDER BY created_at DESC, id DESC OFFSET $2))`,
      [opts.before, opts.keep],
    );
    return r.rowCount ?? 0;
  }

  vmLocks(owner: JobOwner): LockStore {
    const locks = new PgVmLocks(this.db, owner.instance);
    this.locks.push(locks);
    return locks;
  }

  queueStore(): QueueStore {
    return (this.queue ??= new PgQueueStore(this.db, async (where, args) => (await this.db.query<Row>(`${SELECT} ${where}`, args)).rows.map(fromRow)));
  }

  async ping(): Promise<void> {
    await this.db.ping();
  }

  async close(): Promise<void> {
    for (const l of this.locks.splice(0)) await l.close();
    await this.db.close();
  }
}

async function byIdem(c: Queryable, key: string, since: number): Promise<JobRecord | null> {
  const r = await c.query<Row>(`${SELECT} WHERE idem_key = $1 AND created_at > $2 ORDER BY created_at DESC LIMIT 1`, [key, since]);
  return r.rows[0] ? fromRow(r.rows[0]) : null;
}
