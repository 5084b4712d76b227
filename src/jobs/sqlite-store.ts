import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { IdempotencyClaim, InsertOutcome, JobEvent, JobFilter, JobPage, JobPatch, JobRecord, JobStore, VmTarget } from './types.js';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  rc INTEGER,
  operation TEXT NOT NULL,
  method TEXT NOT NULL,
  route TEXT NOT NULL,
  path TEXT NOT NULL,
  node TEXT,
  async INTEGER NOT NULL,
  request TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  reason TEXT,
  answer TEXT,
  http_status INTEGER,
  idem_key TEXT,
  idem_hash TEXT,
  request_id TEXT,
  owner TEXT NOT NULL,
  runs TEXT NOT NULL,
  event_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_operation ON jobs (operation, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_node ON jobs (node, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_idem ON jobs (idem_key, created_at) WHERE idem_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS job_targets (
  job_id TEXT NOT NULL,
  node TEXT NOT NULL,
  vmid INTEGER NOT NULL,
  PRIMARY KEY (job_id, node, vmid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS job_targets_vm ON job_targets (vmid, node);
CREATE INDEX IF NOT EXISTS job_targets_node ON job_targets (node);
CREATE TABLE IF NOT EXISTS job_events (
  job_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
`;

interface Row {
  id: string;
  status: string;
  rc: number | null;
  operation: string;
  method: string;
  route: string;
  path: string;
  node: string | null;
  async: number;
  request: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  reason: string | null;
  answer: string | null;
  http_status: number | null;
  idem_key: string | null;
  idem_hash: string | null;
  request_id: string | null;
  owner: string;
  runs: string;
  event_count: number;
  targets: string | null;
}

const COLUMNS = 'id, status, rc, operation, method, route, path, node, async, request, created_at, started_at, finished_at, reason, answer, http_status, idem_key, idem_hash, request_id, owner, runs, event_count';
// Targets travel with the row as "node/vmid" pairs (one query per page, no N+1).
const SELECT = `SELECT ${COLUMNS}, (SELECT group_concat(node || '/' || vmid, ' ') FROM job_targets t WHERE t.job_id = jobs.id) AS targets FROM jobs`;

function fromRow(r: Row): JobRecord {
  const targets: VmTarget[] = [];
  for (const pair of r.targets ? r.targets.split(' ') : []) {
    const i = pair.lastIndexOf('/');
    targets.push({ node: pair.slice(0, i), vmid: Number(pair.slice(i + 1)) });
  }
  return {
    id: r.id,
    status: r.status as JobRecord['status'],
    rc: r.rc,
    operation: r.operation,
    method: r.method,
    route: r.route,
    path: r.path,
    node: r.node,
    targets,
    async: r.async === 1,
    request: JSON.parse(r.request) as JobRecord['request'],
    created_at: r.created_at,
    started_at: r.started_at,
    finished_at: r.finished_at,
    reason: r.reason,
    answer: r.answer === null ? null : (JSON.parse(r.answer) as Record<string, unknown>),
    http_status: r.http_status,
    idempotency_key: r.idem_key,
    request_hash: r.idem_hash,
    request_id: r.request_id,
    owner: JSON.parse(r.owner) as JobRecord['owner'],
    runs: JSON.parse(r.runs) as JobRecord['runs'],
    event_count: r.event_count,
  };
}

/**
 * Jobs in an embedded SQLite database (better-sqlite3): one file, WAL mode (readers never block
 * the writer), synchronous=NORMAL (a power cut may lose the last transactions, never corrupt the
 * file). better-sqlite3 is synchronous; the methods return promises to honour the JobStore
 * interface. Several processes may share the file (busy timeout); the default keeps it under DATA_DIR.
 */
export class SqliteJobStore implements JobStore {
  readonly kind = 'sqlite';
  readonly file: string;
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<SqliteJobStore['prepare']>;
  private readonly tx: {
    insert: (job: JobRecord, idem?: IdempotencyClaim) => InsertOutcome;
    append: (jobId: string, events: readonly JobEvent[]) => void;
    remove: (ids: readonly string[]) => void;
  };

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.file = file;
    this.db = new Database(file);
    try {
      fs.chmodSync(file, 0o600);
    } catch {
      // not ours to change: keep what the administrator set
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = OFF');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`${file}: job database schema ${version} is newer than this service (${SCHEMA_VERSION})`);
    this.db.exec(SCHEMA);
    if (version < SCHEMA_VERSION) this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.stmt = this.prepare();
    const insertRaw = (job: JobRecord) => {
      this.stmt.insert.run({
        ...job,
        async: job.async ? 1 : 0,
        request: JSON.stringify(job.request),
        answer: job.answer === null ? null : JSON.stringify(job.answer),
        idem_key: job.idempotency_key,
        idem_hash: job.request_hash,
        owner: JSON.stringify(job.owner),
        runs: JSON.stringify(job.runs),
      });
      for (const t of job.targets) this.stmt.insertTarget.run(job.id, t.node, t.vmid);
    };
    const appendTx = this.db.transaction((jobId: string, events: readonly JobEvent[]) => {
      if (this.stmt.unfinishedById.get(jobId) === undefined) return;
      let last = 0;
      for (const e of events) {
        this.stmt.insertEvent.run(jobId, e.seq, JSON.stringify(e));
        last = e.seq;
      }
      this.stmt.eventCount.run(last, jobId);
    });
    this.tx = {
      insert: this.db.transaction((job: JobRecord, idem?: IdempotencyClaim): InsertOutcome => {
        if (idem) {
          const row = this.stmt.byIdem.get(idem.key, idem.since) as Row | undefined;
          if (row) return { inserted: false, existing: fromRow(row) };
        }
        insertRaw(job);
        return { inserted: true };
      }),
      remove: this.db.transaction((ids: readonly string[]) => {
        for (const id of ids) {
          this.stmt.deleteEvents.run(id);
          this.stmt.deleteTargets.run(id);
          this.stmt.deleteJob.run(id);
        }
      }),
      // Nothing is appended to a job in a final state: its `end` is its last event. IMMEDIATE:
      // the check and the inserts under one write lock (another process may share the file).
      append: (jobId: string, events: readonly JobEvent[]) => appendTx.immediate(jobId, events),
    };
  }

  private prepare() {
    const db = this.db;
    return {
      insert: db.prepare(`INSERT INTO jobs (${COLUMNS}) VALUES (@id, @status, @rc, @operation, @method, @route, @path, @node, @async, @request, @created_at, @started_at, @finished_at, @reason, @answer, @http_status, @idem_key, @idem_hash, @request_id, @owner, @runs, @event_count)`),
      insertTarget: db.prepare('INSERT OR IGNORE INTO job_targets (job_id, node, vmid) VALUES (?, ?, ?)'),
      byId: db.prepare(`${SELECT} WHERE id = ?`),
      byIdem: db.prepare(`${SELECT} WHERE idem_key = ? AND created_at > ? ORDER BY created_at DESC LIMIT 1`),
      insertEvent: db.prepare('INSERT OR IGNORE INTO job_events (job_id, seq, data) VALUES (?, ?, ?)'),
      eventCount: db.prepare('UPDATE jobs SET event_count = max(event_count, ?) WHERE id = ?'),
      unfinishedById: db.prepare(`SELECT 1 FROM jobs WHERE id = ? AND status IN ('queued', 'running')`),
      events: db.prepare('SELECT data FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      unfinished: db.prepare(`${SELECT} WHERE status IN ('queued', 'running')`),
      deleteJob: db.prepare('DELETE FROM jobs WHERE id = ?'),
      deleteTargets: db.prepare('DELETE FROM job_targets WHERE job_id = ?'),
      deleteEvents: db.prepare('DELETE FROM job_events WHERE job_id = ?'),
    };
  }

  async insertJob(job: JobRecord, idem?: IdempotencyClaim): Promise<InsertOutcome> {
    return this.tx.insert(job, idem);
  }

  async updateJob(id: string, patch: JobPatch): Promise<void> {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      sets.push(`${k} = ?`);
      values.push(k === 'answer' || k === 'runs' ? (v === null ? null : JSON.stringify(v)) : v);
    }
    if (sets.length === 0) return;
    // A job in a final state is never written again.
    this.db.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ? AND status IN ('queued', 'running')`).run(...values, id);
  }

  async deleteJob(id: string): Promise<void> {
    this.tx.remove([id]);
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const row = this.stmt.byId.get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  async findByIdempotencyKey(key: string, since: number): Promise<JobRecord | null> {
    const row = this.stmt.byIdem.get(key, since) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  async listJobs(filter: JobFilter): Promise<JobPage> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status && filter.status.length > 0) {
      where.push(`status IN (${filter.status.map(() => '?').join(', ')})`);
      args.push(...filter.status);
    }
    if (filter.operation) {
      where.push('operation = ?');
      args.push(filter.operation);
    }
    if (filter.vmid !== undefined) {
      where.push(`id IN (SELECT job_id FROM job_targets WHERE vmid = ?${filter.node ? ' AND node = ?' : ''})`);
      args.push(filter.vmid);
      if (filter.node) args.push(filter.node);
    } else if (filter.node) {
      where.push('(node = ? OR id IN (SELECT job_id FROM job_targets WHERE node = ?))');
      args.push(filter.node, filter.node);
    }
    const filtered = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM jobs ${filtered}`).get(...args) as { n: number }).n;
    const cursor = decodeCursor(filter.cursor);
    const page = [...where];
    const pageArgs = [...args];
    if (cursor) {
      page.push('(created_at < ? OR (created_at = ? AND id < ?))');
      pageArgs.push(cursor.createdAt, cursor.createdAt, cursor.id);
    }
    const rows = this.db
      .prepare(`${SELECT} ${page.length > 0 ? `WHERE ${page.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`)
      .all(...pageArgs, filter.limit + 1) as Row[];
    const more = rows.length > filter.limit;
    const jobs = rows.slice(0, filter.limit).map(fromRow);
    const last = jobs[jobs.length - 1];
    return { jobs, total, next_cursor: more && last ? encodeCursor(last.created_at, last.id) : null };
  }

  async appendEvents(jobId: string, events: readonly JobEvent[]): Promise<void> {
    if (events.length > 0) this.tx.append(jobId, events);
  }

  async readEvents(jobId: string, afterSeq: number, limit = 100_000): Promise<JobEvent[]> {
    return (this.stmt.events.all(jobId, afterSeq, limit) as Array<{ data: string }>).map((r) => JSON.parse(r.data) as JobEvent);
  }

  async unfinishedJobs(): Promise<JobRecord[]> {
    return (this.stmt.unfinished.all() as Row[]).map(fromRow);
  }

  async prune(opts: { before: number; keep: number }): Promise<number> {
    const victims = this.db
      .prepare(
        `SELECT id FROM jobs WHERE status NOT IN ('queued', 'running') AND (created_at < ? OR id IN (
           SELECT id FROM jobs WHERE status NOT IN ('queued', 'running') ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?))`,
      )
      .pluck()
      .all(opts.before, opts.keep) as string[];
    this.tx.remove(victims);
    return victims.length;
  }

  async close(): Promise<void> {
    if (this.db.open) {
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // another process holds the database: it will checkpoint
      }
      this.db.close();
    }
  }
}
