import { DomainError } from '../errors.js';
import type { Jobs } from './context.js';
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
