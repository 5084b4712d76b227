import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import type { Engine, Run } from '../engine/engine.js';
import type { Redactor } from './redact.js';
import type { DefaultVmSets } from './targets.js';
import type { JobOwner, JobPatch, JobRecord, JobStore, JobEvent, LockStore } from './types.js';

/** Polling period for a job another process runs (shared database). */
export const REMOTE_POLL_MS = 500;

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
  ended: boolean;
  redactor: Redactor;
  /** Resolves when the job is over (final in the store, or in memory when the store refused it). */
  finished: Promise<Outcome>;
  /** Set while the job's end is known only here: writes `patch` again until the store takes it. */
  recordRetry: { timer: NodeJS.Timeout; patch: JobPatch } | null;
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
}
