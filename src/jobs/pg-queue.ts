import { patchAssignments, type PgDatabase } from './pg.js';
import type { JobEvent, JobOwner, JobPatch, JobRecord, QueueStore, WorkerInfo } from './types.js';

/** The owner a lock has while its job waits in the run queue: kept alive by any live instance or worker. */
export const QUEUE_LOCK_OWNER = 'run-queue';

const UNFINISHED = `('queued', 'running')`;

type Select = (where: string, args: unknown[]) => Promise<JobRecord[]>;

/**
 * The run queue's side of the PostgreSQL store (RUN_QUEUE=redis): the workers' heartbeats (table
 * `workers`), a worker taking a queued job, canceling a job still in the queue, declaring the jobs
 * of a silent worker lost, and the final write of a worker's job — each one statement or one
 * transaction guarded by the job's status, so that two processes racing on one job agree.
 */
export class PgQueueStore implements QueueStore {
  constructor(
    private readonly db: PgDatabase,
    private readonly select: Select,
  ) {}

  async registerWorker(owner: JobOwner, concurrency: number): Promise<void> {
    await this.db.query(
      `INSERT INTO workers (id, host, pid, concurrency) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [owner.instance, owner.host, owner.pid, concurrency],
    );
  }

  async heartbeat(workerId: string, lostAfterMs: number): Promise<boolean> {
    // Renewed only while not expired: once silent for WORKER_LOST_AFTER a worker may have been
    // declared lost, and it must learn so (and fence itself) rather than look alive again.
    const r = await this.db.query<{ n: number }>(
      `WITH w AS (UPDATE workers SET heartbeat_at = now() WHERE id = $1 AND heartbeat_at > now() - make_interval(secs => $2) RETURNING id),
       l AS (UPDATE vm_locks SET heartbeat_at = now() WHERE owner = $1 AND EXISTS (SELECT 1 FROM w))
       SELECT count(*)::int AS n FROM w`,
      [workerId, lostAfterMs / 1000],
      'r42_worker_heartbeat',
    );
    return (r.rows[0]?.n ?? 0) > 0;
  }

  jobsOfWorker(workerId: string): Promise<JobRecord[]> {
    return this.select(`WHERE status IN ${UNFINISHED} AND (owner ->> 'worker') = $1`, [workerId]);
  }

  async retireWorker(workerId: string): Promise<void> {
    await this.db.query('DELETE FROM workers WHERE id = $1', [workerId]);
  }

  async workers(): Promise<WorkerInfo[]> {
    const r = await this.db.query<WorkerInfo>(
      `SELECT id, host, pid, concurrency, (extract(epoch FROM now() - heartbeat_at) * 1000)::float8 AS "silentMs" FROM workers ORDER BY started_at`,
    );
    return r.rows;
  }

  async handOverLocks(jobId: string): Promise<void> {
    await this.db.query('UPDATE vm_locks SET owner = $2, heartbeat_at = now() WHERE job_id = $1', [jobId, QUEUE_LOCK_OWNER]);
  }

  async refreshQueuedLocks(): Promise<void> {
    await this.db.query('UPDATE vm_locks SET heartbeat_at = now() WHERE owner = $1', [QUEUE_LOCK_OWNER]);
  }

  async releaseLocks(jobId: string): Promise<void> {
    await this.db.query('DELETE FROM vm_locks WHERE job_id = $1', [jobId]);
  }

  async claim(jobId: string, owner: JobOwner): Promise<boolean> {
    return this.db.tx(async (c) => {
      const r = await c.query(
        `UPDATE jobs SET owner = $2 WHERE id = $1 AND status = 'queued' AND (owner ->> 'worker') IS NULL RETURNING id`,
        [jobId, JSON.stringify(owner)],
      );
      if (!r.rowCount) return false;
      await c.query('UPDATE vm_locks SET owner = $2, heartbeat_at = now() WHERE job_id = $1', [jobId, owner.instance]);
      return true;
    });
  }

  /** Ends a job that is not final yet, if `where` (SQL on the row) holds: its end event, the patch, its locks. */
  private async end(jobId: string, where: string, status: 'canceled' | 'lost', rc: number | null, reason: string): Promise<boolean> {
    return this.db.tx(async (c) => {
      const now = Date.now();
      const r = await c.query<{ event_count: number }>(
        `UPDATE jobs SET status = $2, rc = $3, reason = $4, finished_at = $5, event_count = event_count + 1
          WHERE id = $1 AND status IN ${UNFINISHED} AND ${where} RETURNING event_count`,
        [jobId, status, rc, reason, now],
      );
      const row = r.rows[0];
      if (!row) return false;
      const end: JobEvent = { seq: row.event_count, t: new Date(now).toISOString(), type: 'end', status, rc, reason };
      await c.query('INSERT INTO job_events (job_id, seq, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [jobId, end.seq, JSON.stringify(end)]);
      await c.query('DELETE FROM vm_locks WHERE job_id = $1', [jobId]);
      return true;
    });
  }

  cancelQueued(jobId: string, reason: string): Promise<boolean> {
    return this.end(jobId, `status = 'queued' AND (owner ->> 'worker') IS NULL`, 'canceled', 254, reason);
  }

  markLost(jobId: string, reason: string): Promise<boolean> {
    return this.end(jobId, 'true', 'lost', null, reason);
  }

  async finish(jobId: string, patch: JobPatch): Promise<boolean> {
    const { sets, values } = patchAssignments(patch);
    values.push(jobId);
    const r = await this.db.query(`UPDATE jobs SET ${sets.join(', ')} WHERE id = $${values.length} AND status IN ${UNFINISHED} RETURNING id`, values);
    return (r.rowCount ?? 0) > 0;
  }

  async jobsOfSilentWorkers(silentMs: number): Promise<Array<{ job: JobRecord; worker: string; silentMs: number | null }>> {
    const silent = await this.db.query<{ id: string; worker: string; silent_ms: number | null }>(
      `SELECT j.id, j.owner ->> 'worker' AS worker,
              (SELECT (extract(epoch FROM now() - w.heartbeat_at) * 1000)::float8 FROM workers w WHERE w.id = j.owner ->> 'worker') AS silent_ms
         FROM jobs j
        WHERE j.status IN ${UNFINISHED} AND (j.owner ->> 'worker') IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.id = j.owner ->> 'worker' AND w.heartbeat_at > now() - make_interval(secs => $1))`,
      [silentMs / 1000],
      'r42_silent_workers',
    );
    if (silent.rows.length === 0) return [];
    const jobs = new Map((await this.select('WHERE id = ANY($1::text[])', [silent.rows.map((r) => r.id)])).map((j) => [j.id, j]));
    return silent.rows.flatMap((r) => {
      const job = jobs.get(r.id);
      return job ? [{ job, worker: r.worker, silentMs: r.silent_ms }] : [];
    });
  }

  unclaimedJobs(before: number): Promise<JobRecord[]> {
    return this.select(`WHERE status = 'queued' AND (owner ->> 'queued') = 'true' AND (owner ->> 'worker') IS NULL AND created_at < $1`, [before]);
  }
}
