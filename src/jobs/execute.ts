import type { Run } from '../engine/engine.js';
import type { RunSpec } from '../engine/types.js';
import { shapeAnswer } from './answer.js';
import { newActive, type Jobs, type Outcome, type QueuedJob } from './context.js';
import { transition } from './lifecycle.js';
import { fromPortable, rootsOf } from './portable.js';
import { Redactor } from './redact.js';
import { retrying } from './retry.js';
import { drive } from './run.js';
import { isFinal, type JobEvent, type JobOwner, type JobPatch, type JobRecord, type JobStore } from './types.js';

/**
 * A worker tries this long to read and claim a job before giving it back to the queue (another
 * worker, or this one once its store answers again, takes it): a worker cut from its database
 * never holds a job it cannot run.
 */
const CLAIM_RETRY_MS: readonly number[] = [100, 250, 500];

/** `requeue`: the job was not taken (the store did not answer, or the worker is fenced): back to the queue. */
export type Executed = 'done' | 'skipped' | 'requeue';

/** A write refused because the worker's lease ran out (it fenced itself). */
export class FencedError extends Error {
  constructor() {
    super("the worker's lease ran out (fenced): it writes nothing more for its jobs");
    this.name = 'FencedError';
  }
}

/**
 * The job store as a worker writes it: nothing at all once its lease ran out (`writable`, checked
 * synchronously before each write), and a status change only while the job is not final in the
 * store, so a worker declared lost (a long pause, a network cut) that comes back writes nothing
 * over the `lost` the others agreed on (the store itself refuses any write to a final job too).
 */
export function guardedStore(store: JobStore, writable: () => boolean = () => true): JobStore {
  const qs = store.queueStore!();
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'updateJob') {
        return async (id: string, patch: JobPatch) => {
          if (!writable()) throw new FencedError();
          if (patch.status === undefined) return target.updateJob(id, patch);
          await qs.finish(id, patch);
        };
      }
      if (prop === 'appendEvents') {
        return async (id: string, events: readonly JobEvent[]) => {
          if (!writable()) throw new FencedError();
          return target.appendEvents(id, events);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * A worker runs one queued job (RUN_QUEUE=redis), through the same code as an instance runs its
 * own: the plan's paths resolved and checked against this host's roots, the job taken in the
 * store (once: a job canceled in the queue, lost, or taken by another worker is left alone), its
 * runs driven by run.ts on this worker's engine, events and status through the life cycle into
 * the shared store, the answer shaped from the queued description (the unredacted one also left
 * in Redis for the instance that waits), the locks given back at the end.
 */
export async function executeQueued(
  j: Jobs,
  data: QueuedJob,
  owner: JobOwner,
  leaveAnswer: (id: string, answer: Record<string, unknown>) => Promise<void>,
): Promise<Executed> {
  const qs = j.queueStore!;
  const id = data.id;
  if (j.closed) throw new Error('the worker is closing');
  const fence = j.opts.fence;
  if (fence && !fence.writable()) return 'requeue';
  let record: JobRecord | null;
  try {
    record = await retrying(() => j.store.getJob(id), CLAIM_RETRY_MS);
  } catch (err) {
    j.log.warn({ err, job: id }, 'worker: the job store does not answer; the job goes back to the queue');
    return 'requeue';
  }
  if (!record || isFinal(record.status)) return 'skipped';
  const redactor = new Redactor([...j.opts.secrets(), ...data.secrets]);
  const { active: a, finish } = newActive({ ...record, owner }, redactor, await retrying(() => j.store.readEvents(id, 0), CLAIM_RETRY_MS));
  // Known here before the claim, so a cancel arriving meanwhile is not missed.
  j.active.set(id, a);
  let claimed = false;
  try {
    if (fence && !fence.writable()) return 'requeue';
    claimed = await retrying(() => qs.claim(id, owner), CLAIM_RETRY_MS);
  } catch (err) {
    // Not known whether the claim was stored: given back; if it was, the job ends lost (it never
    // ran) when this worker has its store again (RunWorker.recover) or is declared lost.
    j.log.warn({ err, job: id }, 'worker: the claim could not be stored; the job goes back to the queue');
    return 'requeue';
  } finally {
    if (!claimed) j.active.delete(id);
  }
  if (!claimed) return 'skipped';
  // Fenced while claiming: the run does not start; the job ends lost (RunWorker.recover).
  if (a.fenced) {
    j.active.delete(id);
    return 'done';
  }
  try {
    let steps: RunSpec[] | null = null;
    let first: Run | null = null;
    let refused: string | null = null;
    try {
      steps = data.steps.map((s) => fromPortable(s, rootsOf(j.opts.config)));
      first = j.opts.engine.start(steps[0]!);
    } catch (err) {
      refused = (err as Error).message;
    }
    if (!steps || !first || refused) {
      const reason = redactor.text(`refused by worker ${owner.instance} on ${owner.host}: ${refused}`);
      await transition(j, a, { status: 'failed', finished_at: Date.now(), reason, http_status: 500, answer: { rc: -1, log_multiline: [reason] } });
      finish({ status: 500, body: { rc: -1, log_multiline: [reason] } });
      return 'done';
    }
    const outcome = await drive(j, a, steps, first, (r) => shapeAnswer(data.answer, r), (answer) =>
      leaveAnswer(id, answer).catch((err: unknown) => j.log.warn({ err, job: id }, 'worker: the answer could not be left in Redis (the stored one is used)')),
    ).catch(async (err: unknown) => {
      j.log.error({ err, job: id }, 'worker: a job failed to finish cleanly');
      const reason = redactor.text(`internal error: ${(err as Error).message}`);
      if (!isFinal(a.record.status)) await transition(j, a, { status: 'failed', finished_at: Date.now(), reason }).catch(() => undefined);
      return { status: 500, body: { rc: -1, log_multiline: [`job ${id}: ${reason}`] } } as Outcome;
    });
    finish(outcome);
    return 'done';
  } finally {
    // A fenced job's locks go with its `lost` (whoever writes it), not from a worker without a lease.
    if (!a.fenced) await retrying(() => qs.releaseLocks(id)).catch((err: unknown) => j.log.error({ err, job: id }, 'worker: locks not given back (the sweep will)'));
    if (!a.recordRetry) j.active.delete(id);
  }
}
