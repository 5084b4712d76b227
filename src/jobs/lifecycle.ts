import type { Active, Jobs } from './context.js';
import { nowIso } from './context.js';
import { push, writeEvents } from './event-log.js';
import { describeStoreError, retrying } from './retry.js';
import { isFinal, type JobEvent, type JobPatch, type JobRecord, type JobStatus } from './types.js';

/**
 * The job life cycle, the one place a job's status changes:
 *
 *   queued → running → successful | failed | canceled | timeout | lost
 *
 * A queued job may also end without running (canceled or timed out in the engine's queue, a run
 * that could not start, lost with its process); a final status never changes again.
 */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['running', 'failed', 'canceled', 'timeout', 'lost'],
  running: ['successful', 'failed', 'canceled', 'timeout', 'lost'],
  successful: [],
  failed: [],
  canceled: [],
  timeout: [],
  lost: [],
};

/** How often the end of a job the store refused is written again. */
const RECORD_RETRY_MS = 5000;

export const canTransition = (from: JobStatus, to: JobStatus): boolean => TRANSITIONS[from].includes(to);

/** A status change the life cycle does not allow: a bug, never a request's fault. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly job: string,
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super(`job ${job}: no transition from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

function check(job: string, from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(job, from, to);
}

/** A status change of a job this process holds, with the fields that change with it. */
export type Transition = JobPatch & { status: JobStatus };

/**
 * Applies a status change to a job this process runs: in memory first (readers see it at once),
 * then on its event stream and in the store.
 * - `running`: a `status` event; the store write only helps (the end writes everything again), so
 *   its failure is logged, never thrown.
 * - a final status: the `end` event, then the job's remaining events and the patch written with
 *   the store retries (jobs/retry.ts). When the retries are used up the job is over all the same:
 *   it stays in memory, final, with a reason saying it is not recorded (see keepUnrecorded).
 * Resolves once the change is recorded or kept in memory; IllegalTransitionError for a change the
 * table refuses (nothing is changed).
 */
export async function transition(j: Jobs, a: Active, change: Transition): Promise<void> {
  const id = a.record.id;
  check(id, a.record.status, change.status);
  if (!isFinal(change.status)) {
    Object.assign(a.record, change);
    bestEffort(j, a, 'the start', () => j.store.updateJob(id, change));
    push(j, a, { t: nowIso(), type: 'status', status: 'running' });
    return;
  }
  if (a.fenced || j.opts?.fence?.writable() === false) return endFenced(j, a);
  push(j, a, { t: nowIso(), type: 'end', status: change.status, rc: change.rc ?? null, ...(change.reason ? { reason: change.reason } : {}) });
  a.ended = true;
  Object.assign(a.record, change);
  // What the job changed is on Proxmox now: whoever shows it needs no wait for the store.
  try {
    j.opts?.onJobEnd?.(a.record);
  } catch (err) {
    j.log.warn({ err, job: id }, 'jobs: the job-end hook failed');
  }
  let recorded = false;
  try {
    await retrying(() => record(j, a, change));
    recorded = true;
  } catch (err) {
    keepUnrecorded(j, a, change, err);
  }
  // Other processes waiting for the job (RUN_QUEUE=redis) read its end now.
  if (recorded) j.opts?.notices?.stored(id, a.events.length, true);
  a.emitter.emit('finished');
}

/**
 * The end of a job whose worker fenced itself: nothing is written (the job ends `lost` in the
 * store, by a sweeper or by the worker once it has a lease again); in memory it is over, lost.
 */
function endFenced(j: Jobs, a: Active): void {
  a.fenced ??= 'the worker fenced itself';
  a.ended = true;
  Object.assign(a.record, { status: 'lost', rc: null, reason: a.fenced, finished_at: Date.now() });
  j.log.warn({ job: a.record.id }, 'jobs: a fenced job ended; nothing written');
  a.emitter.emit('finished');
}

/** A job of a process that is gone, as the store has it: it ends `lost` (its end event, then its record). */
export async function markLost(j: Jobs, job: JobRecord, reason: string): Promise<void> {
  check(job.id, job.status, 'lost');
  const end: JobEvent = { seq: job.event_count + 1, t: nowIso(), type: 'end', status: 'lost', rc: null, reason };
  await j.store.appendEvents(job.id, [end]);
  await j.store.updateJob(job.id, { status: 'lost', finished_at: Date.now(), reason });
}

/** A write that only helps (the end writes everything again): its failure is logged, never thrown. */
export function bestEffort(j: Jobs, a: Active, what: string, write: () => Promise<void>): void {
  write().catch((err: unknown) => j.log.warn({ err, job: a.record.id }, `jobs: ${what} could not be stored (written again at the end)`));
}

/** Writes what the store lacks of a job: its remaining events, then the patch. Throws on failure. */
async function record(j: Jobs, a: Active, patch: JobPatch): Promise<void> {
  await a.flushing;
  await writeEvents(j, a);
  await j.store.updateJob(a.record.id, patch);
}

/**
 * The store refused the end of a job (retries used up): the job is over all the same. It stays
 * in memory, final, with a reason that says it is not recorded — readers, followers, replays and
 * cancel see it as finished — and its end is written again every RECORD_RETRY_MS until the store
 * takes it (then the reason says it was recorded late) or the service stops.
 */
function keepUnrecorded(j: Jobs, a: Active, patch: JobPatch, err: unknown): void {
  const cause = describeStoreError(err);
  const join = (note: string) => (patch.reason ? `${patch.reason}; ${note}` : note);
  a.record.reason = a.redactor.text(join(`not recorded: the job store failed (${cause}); kept in memory by process ${process.pid}, written again every ${RECORD_RETRY_MS / 1000} s`));
  j.log.error({ err, job: a.record.id, status: patch.status }, 'jobs: the end of a job could not be stored; kept in memory');
  const late: JobPatch = { ...patch, reason: a.redactor.text(join(`recorded late: the job store failed when the job ended (${cause})`)) };
  a.recordRetry = { timer: setInterval(() => void recordLate(j, a), RECORD_RETRY_MS).unref(), patch: late };
}

/** Writes the end of a job kept in memory again; true once it is in the store (or nothing was pending). */
export async function recordLate(j: Jobs, a: Active): Promise<boolean> {
  const retry = a.recordRetry;
  if (!retry) return true;
  try {
    await record(j, a, retry.patch);
  } catch {
    return false; // still failing: the next interval tries again
  }
  if (a.recordRetry !== retry) return true;
  clearInterval(retry.timer);
  a.recordRetry = null;
  j.opts?.notices?.stored(a.record.id, a.events.length, true);
  a.record.reason = retry.patch.reason ?? null;
  j.active.delete(a.record.id);
  j.log.warn({ job: a.record.id }, 'jobs: the end of a job was stored late');
  return true;
}
