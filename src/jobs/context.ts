import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import type { Engine, Run } from '../engine/engine.js';
import type { AnswerShape } from './answer.js';
import type { PortableRunSpec } from './portable.js';
import type { Redactor } from './redact.js';
import type { DefaultVmSets } from './targets.js';
import type { JobOwner, JobPatch, JobRecord, JobStore, JobEvent, LockStore, QueueStore } from './types.js';

/** Polling period for a job another process runs (shared database). */
export const REMOTE_POLL_MS = 500;
/** With notices (RUN_QUEUE=redis), a follower still reads the store this often: a notice lost in a Redis outage only delays. */
export const NOTICED_POLL_MS = 2000;

/**
 * Word between processes that a job's events (and, `final`, its end) are in the store
 * (RUN_QUEUE=redis: Redis pub/sub). A notice is a hint: the store stays the one source, so a
 * follower reads from its own position and never misses nor repeats an event.
 */
export interface JobNotices {
  stored(jobId: string, seq: number, final: boolean): void;
  /** Counts the notices of one job from now on (take the version before reading the store). */
  watch(jobId: string): NoticeWatch;
}

export interface NoticeWatch {
  version(): number;
  /** Resolves when a notice newer than `since` has come, or after `ms`. */
  changed(since: number, ms: number): Promise<void>;
  close(): void;
}

/** What travels through the run queue to a worker: the job's id, its plan as data, how its answer is shaped. */
export interface QueuedJob {
  id: string;
  steps: PortableRunSpec[];
  answer: AnswerShape;
  /** The request's secret values (redacted from what the worker stores and streams). */
  secrets: string[];
  queuedAt: number;
}

/** The API side of RUN_QUEUE=redis: where jobs go instead of the engine. */
export interface RunQueue {
  readonly kind: string;
  readonly notices: JobNotices;
  /** Throws QueueFullError when the queue holds RUNNER_MAX_QUEUED waiting jobs, RunQueueUnavailableError when it cannot be reached. */
  room(): Promise<void>;
  enqueue(job: QueuedJob): Promise<void>;
  /** Takes a job out of the queue (it was canceled there); best effort. */
  remove(jobId: string): Promise<void>;
  /** The queue's word for a job (`waiting`, `active`, ..., `unknown` when it has none). */
  state(jobId: string): Promise<string>;
  /** Asks the worker holding the job to cancel it. */
  cancel(jobId: string, reason: string): Promise<void>;
  /** The unredacted synchronous answer a worker left for the instance that waits for it, if any. */
  answer(jobId: string): Promise<Record<string, unknown> | null>;
  ping(): Promise<void>;
}

export const nowIso = () => new Date().toISOString();

/** The answer of the synchronous route. */
export interface Outcome {
  status: number;
  body: Record<string, unknown>;
}

/** A job running in this process. */
export interface Active {
  record: JobRecord;
  events: JobEvent[];
  /** Events up to this seq are in the store; the rest are written by the next flush. */
  storedSeq: number;
  flushing: Promise<void>;
  flushScheduled: boolean;
  emitter: EventEmitter;
  run: Run | null;
  cancelReason: string | null;
  /** Set when the worker running the job fenced itself (its lease ran out): the run is killed, nothing more is written. */
  fenced: string | null;
  ended: boolean;
  redactor: Redactor;
  /** Resolves when the job is over (final in the store, or in memory when the store refused it). */
  finished: Promise<Outcome>;
  /** Set while the job's end is known only here: writes `patch` again until the store takes it. */
  recordRetry: { timer: NodeJS.Timeout; patch: JobPatch } | null;
}

/** A job this process is about to drive, with the events already stored; `finish` settles `finished`. */
export function newActive(record: JobRecord, redactor: Redactor, events: JobEvent[] = []): { active: Active; finish: (o: Outcome) => void } {
  let finish!: (o: Outcome) => void;
  const active: Active = {
    record,
    events,
    storedSeq: events.length,
    flushing: Promise.resolve(),
    flushScheduled: false,
    emitter: new EventEmitter().setMaxListeners(0),
    run: null,
    cancelReason: null,
    fenced: null,
    ended: false,
    redactor,
    finished: new Promise((r) => (finish = r)),
    recordRetry: null,
  };
  return { active, finish };
}

export interface JobManagerOptions {
  store: JobStore;
  engine: Engine;
  config: Readonly<Config>;
  log: Logger;
  /** The service's own secrets (vault, tokens), re-read as they change. */
  secrets(): string[];
  /** The inventory's Proxmox node, for requests that leave proxmox_node empty (null when unknown). */
  defaultNode(): string | null;
  /** Every VM and container id of a node (read from Proxmox), for a bundle whose VMs cannot be known. */
  nodeVmIds?(node: string): Promise<number[]>;
  /** RUN_QUEUE=redis on an API instance: jobs are queued for workers instead of run here. */
  queue?: RunQueue;
  /** Notices to and from other processes (RUN_QUEUE=redis); absent: followers of remote jobs poll. */
  notices?: JobNotices;
  /**
   * Called once when a job this process runs is over (before its end is stored), with its record:
   * the live status of the guests it changed is pushed from here (app.ts). Must not throw.
   */
  onJobEnd?(job: Readonly<JobRecord>): void;
  /** A worker's fencing (fence.ts): absent on an API instance. */
  fence?: JobFence;
}

/** What the job code asks of a worker's lease. */
export interface JobFence {
  /** Whether the worker may still write its jobs (its lease holds); noticing the lease's end fences the worker first. */
  writable(): boolean;
  /** A run's top process, killed with its tree by the fence guard when the lease ends; returns the unwatch. */
  watch(pid: number): () => void;
}

/** What the parts of the jobs domain share: the options, and the jobs this process holds. */
export interface Jobs {
  readonly opts: JobManagerOptions;
  readonly store: JobStore;
  readonly log: Logger;
  /** Per-VM locks: in the process, or the shared store's (JobStore.vmLocks). */
  readonly locks: LockStore;
  readonly owner: JobOwner;
  /** Jobs this process runs, or holds final but unrecorded. */
  readonly active: Map<string, Active>;
  /** Idempotency keys being claimed by a request of this process. */
  readonly claiming: Map<string, { hash: string; settled: Promise<JobRecord | null> }>;
  readonly sets: DefaultVmSets;
  /** Directories whose paths are shortened in events. */
  readonly roots: string[];
  /** Set by close(): new jobs are refused. */
  closed: boolean;
  /** The shared store's side of the run queue (RUN_QUEUE=redis), else null. */
  readonly queueStore: QueueStore | null;
}
