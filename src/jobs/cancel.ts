import { DomainError } from '../errors.js';
import { NOTICED_POLL_MS, type Jobs } from './context.js';
import { getJob } from './read.js';
import { isFinal, type JobRecord } from './types.js';

/**
 * Cancels a queued or running job and resolves once it is over (its processes gone). The job ends
 * through its own run (lifecycle.ts): cancel only asks. Null for an unknown job; JOB_FINISHED,
 * JOB_RUN_ELSEWHERE for one this process cannot cancel.
 */
export async function cancelJob(j: Jobs, id: string, reason = 'canceled by request'): Promise<JobRecord | null> {
  const a = j.active.get(id);
  if (!a) {
    const job = await j.store.getJob(id);
    if (!job) return null;
    if (isFinal(job.status)) throw new DomainError('JOB_FINISHED', `:: err - JOB ALREADY FINISHED (${job.status})`);
    if (job.owner.queued && j.opts.queue && j.queueStore) return cancelQueued(j, job, reason);
    throw new DomainError('JOB_RUN_ELSEWHERE', ':: err - JOB IS RUN BY ANOTHER INSTANCE OF THE SERVICE');
  }
  if (a.ended) throw new DomainError('JOB_FINISHED', `:: err - JOB ALREADY FINISHED (${a.record.status})`);
  a.cancelReason ??= reason;
  a.run?.cancel('canceled');
  await a.finished;
  return getJob(j, id);
}

/** Cancels every job this process runs (shutting down) and resolves once each is over. */
export async function cancelAll(j: Jobs, reason: string): Promise<void> {
  const pending = [...j.active.values()];
  for (const a of pending) {
    a.cancelReason ??= reason;
    a.run?.cancel('canceled');
  }
  await Promise.all(pending.map((a) => a.finished));
}

/** How long a cancel waits for the worker to stop a job, beyond its cancel grace. */
const REMOTE_CANCEL_MARGIN_MS = 30_000;
/** The cancel is said again this often until the job is over (a message lost in a Redis outage, a worker still claiming it). */
const CANCEL_REPEAT_MS = 1000;

/**
 * RUN_QUEUE=redis: a job still in the queue ends canceled in the store at once (a worker that
 * takes it later finds it final and does nothing); one a worker holds is asked to stop (Redis
 * pub/sub, again every second) and the answer waits until it is over, as for a local job. When
 * Redis cannot take the request at all: RunQueueUnavailableError (503, Retry-After) at once.
 */
async function cancelQueued(j: Jobs, job: JobRecord, reason: string): Promise<JobRecord | null> {
  const id = job.id;
  if (!job.owner.worker && (await j.queueStore!.cancelQueued(id, reason))) {
    await j.opts.queue!.remove(id);
    j.opts.notices?.stored(id, job.event_count + 1, true);
    return j.store.getJob(id);
  }
  const watch = j.opts.notices?.watch(id);
  const deadline = Date.now() + j.opts.config.runner.cancelGraceMs + REMOTE_CANCEL_MARGIN_MS;
  try {
    for (let first = true; ; first = false) {
      const since = watch?.version() ?? 0;
      await j.opts.queue!.cancel(id, reason).catch((err: unknown) => {
        // The only way to the worker is Redis: a cancel that cannot be sent at all is a 503 with
        // Retry-After at once, not a request waiting for the job to end by itself.
        if (first) throw err;
        j.log.warn({ err, job: id }, 'jobs: the cancel could not be sent again');
      });
      const current = await j.store.getJob(id);
      if (!current || isFinal(current.status) || Date.now() > deadline) return current;
      if (watch) await watch.changed(since, CANCEL_REPEAT_MS);
      else await new Promise((r) => setTimeout(r, Math.min(CANCEL_REPEAT_MS, NOTICED_POLL_MS)));
    }
  } finally {
    watch?.close();
  }
}
