import pg from 'pg';
import { withoutPassword } from '../config/secret-names.js';
import { JobStoreUnavailableError } from '../errors.js';
import { MIGRATIONS, type Migration } from './pg-migrations.js';

/** The advisory lock (two-int form: class, key) the startup migration holds; other keys use other classes. */
export const ADVISORY_CLASS = { migrate: 4242_0001, idempotency: 4242_0002 } as const;

/** How long a connection attempt may take before the request is answered 503. */
const CONNECT_TIMEOUT_MS = 5000;
/** A query that gets no answer in this time fails (a server gone silent, a network cut). */
const QUERY_TIMEOUT_MS = 15_000;

// Node's and libpq's words for "the server is not there", and PostgreSQL's SQLSTATE codes for it:
// class 08 (connection exception), 57P01–57P03 (shutting down, crashed, starting), 53300 (too many connections).
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
const LOST_CONNECTION = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection error|Client was closed|not queryable|terminating connection/i;

/** Whether an error of `pg` means the database cannot be reached now (rather than a bad query). */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown[] } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || SERVER_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  if (Array.isArray(e.errors) && e.errors.some(isUnreachable)) return true;
  return typeof e.message === 'string' && LOST_CONNECTION.test(e.message);
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown[] };
  let message = typeof e?.message === 'string' && e.message !== '' ? e.message : '';
  // Node's AggregateError (every address of a host refused) has no message of its own.
  if (!message && Array.isArray(e?.errors)) message = e.errors.map((x) => (x as Error)?.message).filter(Boolean).join('; ');
  return message || String(err);
}

/** A `pg` error, as the jobs domain sees it: unreachable → JobStoreUnavailableError (a 503); else as is. */
export function storeError(err: unknown): unknown {
  if (err instanceof JobStoreUnavailableError) return err;
  return isUnreachable(err) ? new JobStoreUnavailableError(`PostgreSQL unreachable (${describe(err)})`) : err;
}

// int8 (bigint: times in ms, VM ids, count(*)) as numbers: every value the store keeps is below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** A connection in a transaction, or the database itself: what runs one query. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * The PostgreSQL database of JOBS_STORE=postgres: a connection pool that reconnects by itself (a
 * server that went away and came back is used again without a restart), errors of an unreachable
 * server turned into JobStoreUnavailableError, transactions, and the versioned schema.
 */
export class PgDatabase {
  readonly pool: pg.Pool;
  /** host:port/database, for messages (never the password). */
  readonly where: string;

  constructor(url: string, opts: { max?: number; applicationName?: string } = {}) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 10,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: opts.applicationName ?? 'range42-backend',
      types,
    });
    // An idle connection the server closed (restart, failover): the pool drops it and opens a new
    // one when needed. Without a listener the error would end the process.
    this.pool.on('error', () => undefined);
    let where: string;
    try {
      const u = new URL(url);
      where = `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
    } catch {
      where = withoutPassword(url);
    }
    this.where = where;
  }

  /** One query; with `name`, a prepared statement (parsed and planned once per connection: the hot paths). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[], name?: string): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(name ? { name, text, values } : { text, values });
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Runs `fn` in one transaction (READ COMMITTED), rolled back when it throws. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeError(err);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e as Error;
      });
      if (isUnreachable(err)) broken ??= err as Error;
      throw storeError(err);
    } finally {
      // A connection that failed is thrown away, not given back to the pool.
      client.release(broken);
    }
  }

  /**
   * Brings the schema to the newest migration: every instance runs this at startup, in one
   * transaction under an advisory lock, so two instances starting together neither race nor see a
   * half-migrated schema. Refuses a database migrated by a newer service. Returns the versions applied.
   */
  async migrate(migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, 0)', [ADVISORY_CLASS.migrate]);
      await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const newest = Math.max(0, ...migrations.map((m) => m.version));
      const ahead = [...done].filter((v) => v > newest);
      if (ahead.length > 0) throw new Error(`${this.where}: job database schema ${Math.max(...ahead)} is newer than this service (${newest})`);
      const applied: number[] = [];
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        applied.push(m.version);
      }
      return applied;
    });
  }

  /** Throws (JobStoreUnavailableError) unless the server answers. */
  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

const PATCHABLE = new Set(['status', 'rc', 'started_at', 'finished_at', 'reason', 'answer', 'http_status', 'runs', 'event_count']);
const JSON_COLUMNS = new Set(['answer', 'runs']);

/**
 * The `SET` assignments of a job patch, `$1`… in order, and their values (JSON columns as text);
 * the caller's own parameters follow from `$${values.length + 1}`.
 */
export function patchAssignments(patch: Record<string, unknown>): { sets: string[]; values: unknown[] } {
  const sets: string[] = [];
  const values: unknown[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (!PATCHABLE.has(k)) throw new Error(`job patch: unknown field ${k}`);
    values.push(JSON_COLUMNS.has(k) ? (v === null ? null : JSON.stringify(v)) : v);
    sets.push(`${k} = $${values.length}`);
  }
  return { sets, values };
}
