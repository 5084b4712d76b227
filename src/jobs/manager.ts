import { cancelJob } from './cancel.js';
import type { Jobs, JobManagerOptions, QueuedJob } from './context.js';
import { executeQueued, type Executed } from './execute.js';
import { VmLocks } from './locks.js';
import { closeJobs, prune, recover, startMaintenance } from './maintenance.js';
import { newOwner } from './owner.js';
import { follow, getJob, listJobs, type FollowHandlers } from './read.js';
import { submit, type SubmitRequest, type Submission } from './submit.js';
import { DefaultVmSets } from './targets.js';
import type { JobFilter, JobOwner, JobPage, JobRecord, JobStore, LockStore } from './types.js';

/**
 * Every playbook run of the API is a job: recorded (secrets redacted) before it runs, its
 * ansible-runner events reduced, numbered, stored and fanned out live, its answer kept once it
 * ends. Jobs that change VMs hold per-VM locks. Jobs of a dead process are marked `lost` (and
 * what their runs left behind is killed) when a live instance notices.
 *
 * The parts: submit.ts (recording and starting, Idempotency-Key), run.ts (a job's runs to its
 * end), lifecycle.ts (every status change, and a job whose end the store refused), event-log.ts
 * (the numbered events), read.ts (reading and following), cancel.ts, maintenance.ts (lost jobs,
 * retention, shutdown). This class holds their shared state.
 */
export class JobManager {
  private readonly jobs: Jobs;
  private timers: NodeJS.Timeout[] = [];

  constructor(opts: JobManagerOptions, owner: JobOwner = newOwner()) {
    this.jobs = {
      opts,
      store: opts.store,
      log: opts.log,
      // A store several instances share has locks they share too.
      locks: opts.store.vmLocks?.(owner) ?? new VmLocks(),
      owner,
      active: new Map(),
      claiming: new Map(),
      sets: new DefaultVmSets(opts.config.publicPlaybooksDir),
      roots: [opts.config.publicPlaybooksDir, opts.config.projectRootDir],
      closed: false,
      queueStore: opts.queue || opts.notices ? (opts.store.queueStore?.() ?? null) : null,
    };
  }

  get locks(): LockStore {
    return this.jobs.locks;
  }

  get owner() {
    return this.jobs.owner;
  }

  get store(): JobStore {
    return this.jobs.store;
  }

  get activeCount(): number {
    return this.jobs.active.size;
  }

  /** Startup: lost jobs, retention; then both again now and then. */
  async start(): Promise<void> {
    this.timers.push(...(await startMaintenance(this.jobs)));
  }

  submit(req: SubmitRequest): Promise<Submission> {
    return submit(this.jobs, req);
  }

  get(id: string): Promise<JobRecord | null> {
    return getJob(this.jobs, id);
  }

  list(filter: JobFilter): Promise<JobPage> {
    return listJobs(this.jobs, filter);
  }

  follow(id: string, after: number, h: FollowHandlers): Promise<(() => void) | null> {
    return follow(this.jobs, id, after, h);
  }

  /** A worker runs a job of the run queue (RUN_QUEUE=redis; see execute.ts). */
  execute(data: QueuedJob, owner: JobOwner, leaveAnswer: (id: string, answer: Record<string, unknown>) => Promise<void>): Promise<Executed> {
    return executeQueued(this.jobs, data, owner, leaveAnswer);
  }

  /** A cancel another process asked for: stops the job if this process runs it (its end follows through its run). */
  stopIfHere(id: string, reason: string): boolean {
    const a = this.jobs.active.get(id);
    if (!a || a.ended) return false;
    a.cancelReason ??= reason;
    a.run?.cancel('canceled');
    return true;
  }

  /**
   * A worker's lease ran out: every job it runs is fenced — its run's whole tree killed at once
   * (SIGKILL, no grace), nothing more written for it. Returns the ids.
   */
  fence(reason: string): string[] {
    const fenced: string[] = [];
    for (const a of this.jobs.active.values()) {
      if (a.ended) continue;
      a.fenced ??= reason;
      a.run?.kill();
      fenced.push(a.record.id);
    }
    return fenced;
  }

  /** Whether this process runs the job and has not fenced it. */
  runsHere(id: string): boolean {
    const a = this.jobs.active.get(id);
    return a !== undefined && !a.fenced;
  }

  /** Cancels a queued or running job and resolves once it is over (its processes gone). */
  cancel(id: string, reason?: string): Promise<JobRecord | null> {
    return cancelJob(this.jobs, id, reason);
  }

  recover(): Promise<number> {
    return recover(this.jobs);
  }

  prune(): Promise<number> {
    return prune(this.jobs);
  }

  /** Refuses new jobs, cancels what still runs (after the engine's own grace), waits for the records. */
  close(): Promise<void> {
    return closeJobs(this.jobs, this.timers);
  }
}
