/**
 * Jobs: every playbook run of the API, synchronous or not, as a record with a status, timings,
 * the request (secrets redacted), the answer once finished, and a numbered stream of events.
 */

export type JobStatus = 'queued' | 'running' | 'successful' | 'failed' | 'canceled' | 'timeout' | 'lost';

export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'successful', 'failed', 'canceled', 'timeout', 'lost'];
const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['successful', 'failed', 'canceled', 'timeout', 'lost']);
export const isFinal = (s: JobStatus): boolean => FINAL_STATUSES.has(s);

/** A request body as a job sees it: recorded, hashed, read for its targets. */
export type Body = Record<string, unknown>;

/** One VM a job changes (and holds a lock on while it runs). */
export interface VmTarget {
  node: string;
  vmid: number;
}

/** Who runs a job: a live process on this host, or a dead one whose jobs are lost. */
export interface JobOwner {
  host: string;
  pid: number;
  /** /proc/sys/kernel/random/boot_id + process start time: a pid reused later does not match. */
  start: string;
  /** One service instance (several apps may live in one test process). */
  instance: string;
  /**
   * RUN_QUEUE=redis: the job went through the run queue. Its fate is then the workers' heartbeats',
   * not this process's: the API instance that recorded it may end without the job being lost.
   */
  queued?: boolean;
  /** The worker (its instance id) that took the queued job; absent while it waits in the queue. */
  worker?: string;
}

/** One ansible-runner execution of a job (a plan may have several, e.g. create-vms). */
export interface JobRunInfo {
  run_id: string;
  label: string | null;
  pid: number | null;
  private_dir: string | null;
  rc: number | null;
  status: string | null;
}

export interface JobRecord {
  id: string;
  status: JobStatus;
  rc: number | null;
  /** The route's operationId. */
  operation: string;
  method: string;
  /** The route pattern (`/v0/admin/proxmox/vms/vm_id/start`). */
  route: string;
  /** The request path as called (differs from `route` for the generic runners). */
  path: string;
  /** The Proxmox node of the request (the inventory's when the request leaves it empty), or null. */
  node: string | null;
  targets: VmTarget[];
  /** Answered 202 at once (`Prefer: respond-async`) rather than at the end. */
  async: boolean;
  /** Body (validated, secrets redacted) and path parameters. */
  request: { body: unknown; params: Record<string, string> };
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** Why a job ended the way it did (cancel, lost, refused step), else null. */
  reason: string | null;
  /** The synchronous route's answer (redacted) and status, once finished. */
  answer: Record<string, unknown> | null;
  http_status: number | null;
  idempotency_key: string | null;
  /** SHA-256 of method, path and canonical body: same key with another request is a 422. */
  request_hash: string | null;
  request_id: string | null;
  owner: JobOwner;
  runs: JobRunInfo[];
  /** Number of events (the last `seq`). */
  event_count: number;
}

/** The fields a running job changes. */
export type JobPatch = Partial<Pick<JobRecord, 'status' | 'rc' | 'started_at' | 'finished_at' | 'reason' | 'answer' | 'http_status' | 'runs' | 'event_count'>>;

/**
 * One event of a job's stream, numbered from 1. Reduced from ansible-runner's events to what a UI
 * shows; every string has been through the redactor.
 */
export interface JobEvent {
  seq: number;
  /** ISO 8601 time: Ansible's own timestamp for Ansible events. */
  t: string;
  type: JobEventType;
  [key: string]: unknown;
}

export type JobEventType =
  | 'status' // the job's status changed (running)
  | 'step' // a plan of several runs starts its next one
  | 'playbook_start'
  | 'play_start'
  | 'task_start'
  | 'task_ok'
  | 'task_failed'
  | 'task_skipped'
  | 'host_unreachable'
  | 'item_failed'
  | 'no_hosts'
  | 'stats'
  | 'message'
  | 'end'; // last event: final status and rc

export interface JobFilter {
  status?: JobStatus[];
  operation?: string;
  node?: string;
  vmid?: number;
  limit: number;
  /** Opaque keyset cursor from a previous page. */
  cursor?: string | null;
}

export interface JobPage {
  jobs: JobRecord[];
  next_cursor: string | null;
  total: number;
}

export interface IdempotencyClaim {
  key: string;
  hash: string;
  /** Only jobs created after this time (ms) count. */
  since: number;
}

export type InsertOutcome = { inserted: true } | { inserted: false; existing: JobRecord };

/**
 * Where the per-VM locks live. In the process (VmLocks, below) for the SQLite and memory stores;
 * in the database for a store several instances share (pg-locks.ts), so that a lock taken through
 * one instance is seen by all. Either way a job takes its locks in lockOrder, and a request that
 * cannot get them all within its wait gives back what it took and learns who holds the one it
 * waited on (LockConflictError).
 */
export interface LockStore {
  readonly kind: string;
  /**
   * Takes every lock of `targets` for `jobId`, waiting at most `waitMs` in all; resolves with a
   * release function, or rejects with LockConflictError (holding nothing).
   */
  acquire(jobId: string, targets: readonly VmTarget[], waitMs: number): Promise<() => void>;
  /** Who holds the lock on a VM as this instance knows it (its own jobs' locks): no I/O. */
  holderOf(t: VmTarget): string | null;
  /** Who holds the lock on a VM, whatever instance took it. */
  holder(t: VmTarget): Promise<string | null>;
  /** Forgets a job's locks in this instance's view, leaving them in the shared store (they passed to the run queue). */
  forget?(jobId: string): void;
  /** Gives back locks whose job is over or whose owner stopped refreshing them; returns how many. */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

/** A worker process of RUN_QUEUE=redis, as the shared store knows it. */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  /** Milliseconds since its last heartbeat (the database's clock). */
  silentMs: number;
}

/**
 * What the run queue (RUN_QUEUE=redis) needs of the shared store, each step atomic in the
 * database so that instances and workers racing on one job agree: a queued job is taken by one
 * worker at most, canceled or lost at most once, and a job already final is never written again.
 */
export interface QueueStore {
  registerWorker(owner: JobOwner, concurrency: number): Promise<void>;
  /**
   * The worker is alive: its row and the VM locks of its jobs — only while its last heartbeat is
   * younger than `lostAfterMs` (false otherwise: it may have been declared lost, and must fence).
   */
  heartbeat(workerId: string, lostAfterMs: number): Promise<boolean>;
  /** The unfinished jobs a worker has claimed. */
  jobsOfWorker(workerId: string): Promise<JobRecord[]>;
  retireWorker(workerId: string): Promise<void>;
  workers(): Promise<WorkerInfo[]>;
  /** The VM locks of a job being queued pass to the queue (kept alive by any live instance until a worker takes them). */
  handOverLocks(jobId: string): Promise<void>;
  /** Keeps alive the locks of jobs waiting in the queue. */
  refreshQueuedLocks(): Promise<void>;
  releaseLocks(jobId: string): Promise<void>;
  /** A worker takes a queued job: it becomes its owner (and its locks'); false when it is not queued and free any more. */
  claim(jobId: string, owner: JobOwner): Promise<boolean>;
  /** A job still waiting in the queue ends canceled (end event, locks released); false when a worker has it, or it is over. */
  cancelQueued(jobId: string, reason: string): Promise<boolean>;
  /** A job not final yet ends `lost` (end event, locks released); false when it is over already. */
  markLost(jobId: string, reason: string): Promise<boolean>;
  /** The final patch of a job, written only while it is not final (a worker whose job was declared lost writes nothing). */
  finish(jobId: string, patch: JobPatch): Promise<boolean>;
  /** Unfinished jobs whose worker has been silent for `silentMs` (or has no row at all). */
  jobsOfSilentWorkers(silentMs: number): Promise<Array<{ job: JobRecord; worker: string; silentMs: number | null }>>;
  /** Queued jobs no worker has taken, recorded before `before` (ms). */
  unclaimedJobs(before: number): Promise<JobRecord[]>;
}

/**
 * Where jobs live. The default is SQLite (a file under DATA_DIR); the interface is asynchronous so
 * that a server database (PostgreSQL, pg-store.ts) replaces it without touching the callers.
 */
export interface JobStore {
  readonly kind: string;
  /**
   * Inserts a job; with `idem`, atomically returns the job already holding that key (created after
   * `idem.since`) instead.
   */
  insertJob(job: JobRecord, idem?: IdempotencyClaim): Promise<InsertOutcome>;
  updateJob(id: string, patch: JobPatch): Promise<void>;
  /** Removes a job that never ran (its run was refused), with whatever it has. */
  deleteJob(id: string): Promise<void>;
  getJob(id: string): Promise<JobRecord | null>;
  findByIdempotencyKey(key: string, since: number): Promise<JobRecord | null>;
  listJobs(filter: JobFilter): Promise<JobPage>;
  /** Appends events (in seq order, after the ones stored) and updates the job's event_count. */
  appendEvents(jobId: string, events: readonly JobEvent[]): Promise<void>;
  readEvents(jobId: string, afterSeq: number, limit?: number): Promise<JobEvent[]>;
  /** Jobs still queued or running (candidates for `lost` after a crash). */
  unfinishedJobs(): Promise<JobRecord[]>;
  /** Deletes finished jobs older than `before` (ms) and beyond the newest `keep`; returns how many. */
  prune(opts: { before: number; keep: number }): Promise<number>;
  /**
   * The per-VM locks of a store several instances share (a server database), for the instance
   * `owner`; absent: the locks live in the process (VmLocks).
   */
  vmLocks?(owner: JobOwner): LockStore;
  /** The shared store's side of the run queue (RUN_QUEUE=redis); absent: a store only one host uses. */
  queueStore?(): QueueStore;
  /** Throws when the store cannot be reached (for /readyz); absent: a local store with nothing to check. */
  ping?(): Promise<void>;
  close(): Promise<void>;
}
