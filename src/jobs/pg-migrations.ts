/**
 * The PostgreSQL schema of the job store, as numbered migrations. Each runs once, in order, in the
 * one transaction of the startup (pg.ts migrate) that also records it in `schema_migrations`; a
 * migration already applied is never edited: a change is a new migration at the end.
 *
 * Text keys compared for order (job ids in keyset pages, node names in lock order) are
 * COLLATE "C": byte order, the same as the SQLite and memory stores, whatever the database's locale.
 * JSON columns are `json`, not `jsonb`: the text is kept as written, key order included (a
 * synchronous answer replayed from the store is byte for byte the first one).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs, targets, events, VM locks',
    sql: `
CREATE TABLE jobs (
  id text COLLATE "C" PRIMARY KEY,
  status text NOT NULL,
  rc integer,
  operation text NOT NULL,
  method text NOT NULL,
  route text NOT NULL,
  path text NOT NULL,
  node text,
  async boolean NOT NULL,
  request json NOT NULL,
  created_at bigint NOT NULL,
  started_at bigint,
  finished_at bigint,
  reason text,
  answer json,
  http_status integer,
  idem_key text,
  idem_hash text,
  request_id text,
  owner json NOT NULL,
  runs json NOT NULL,
  event_count integer NOT NULL DEFAULT 0
);
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_status ON jobs (status, created_at DESC, id DESC);
CREATE INDEX jobs_operation ON jobs (operation, created_at DESC, id DESC);
CREATE INDEX jobs_node ON jobs (node, created_at DESC, id DESC);
CREATE INDEX jobs_idem ON jobs (idem_key, created_at DESC) WHERE idem_key IS NOT NULL;
CREATE INDEX jobs_unfinished ON jobs (status) WHERE status IN ('queued', 'running');

CREATE TABLE job_targets (
  job_id text COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  node text NOT NULL,
  vmid bigint NOT NULL,
  PRIMARY KEY (job_id, node, vmid)
);
CREATE INDEX job_targets_vm ON job_targets (vmid, node);
CREATE INDEX job_targets_node ON job_targets (node);

-- Appended by whichever process runs the job, read by any instance (streams of remote jobs).
CREATE TABLE job_events (
  job_id text COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  data json NOT NULL,
  PRIMARY KEY (job_id, seq)
);

-- One row per locked VM: the job holding it, the instance that took it, and when that instance
-- last said it is alive (refreshed while it holds locks): locks of an instance gone silent can
-- be given back. No foreign key to jobs: a lock is taken before its job is recorded.
CREATE TABLE vm_locks (
  node text COLLATE "C" NOT NULL,
  vmid bigint NOT NULL,
  job_id text COLLATE "C" NOT NULL,
  owner text NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node, vmid)
);
CREATE INDEX vm_locks_job ON vm_locks (job_id);
CREATE INDEX vm_locks_owner ON vm_locks (owner);
`,
  },
  {
    version: 2,
    name: 'workers (RUN_QUEUE=redis)',
    sql: `
-- One row per worker process (npm run worker): its heartbeat says it is alive. A job a worker took
-- names it in owner->>'worker'; when the heartbeat is older than WORKER_LOST_AFTER, its jobs end lost.
CREATE TABLE workers (
  id text COLLATE "C" PRIMARY KEY,
  host text NOT NULL,
  pid integer NOT NULL,
  concurrency integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_worker ON jobs ((owner ->> 'worker')) WHERE status IN ('queued', 'running');
`,
  },
];
