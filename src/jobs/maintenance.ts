import { cancelAll } from './cancel.js';
import type { Jobs } from './context.js';
import { markLost, recordLate } from './lifecycle.js';
import { cleanUpRun, ownerAlive, retireOwner } from './owner.js';

const MAINTENANCE_INTERVAL_MS = 60_000;
const PRUNE_INTERVAL_MS = 3600_000;

/**
 * Jobs left queued or running by a process that is gone: their leftover processes are killed,
 * their private directories removed, and they end as `lost`. Returns how many.
 */
export async function recover(j: Jobs): Promise<number> {
  let n = 0;
  for (const job of await j.store.unfinishedJobs()) {
    if (j.active.has(job.id) || ownerAlive(job.owner)) continue;
    const killed = job.runs.flatMap((r) => cleanUpRun(r));
    const reason = `the service stopped while the job was ${job.status} (process ${job.owner.pid} on ${job.owner.host} is gone)`;
    await markLost(j, job, reason);
    j.log.warn({ job: job.id, operation: job.operation, killed }, 'jobs: marked lost');
    n++;
  }
  // Shared locks of jobs that are over (the lost ones just marked included) or of an instance gone silent.
  const freed = await j.locks.sweep();
  if (freed > 0) j.log.warn({ locks: freed }, 'jobs: VM locks of ended jobs or silent instances given back');
  return n;
}

/** Deletes the jobs past the retention (age and count). Returns how many. */
export async function prune(j: Jobs): Promise<number> {
  const { retentionMs, retentionCount } = j.opts.config.jobs;
  const n = await j.store.prune({ before: Date.now() - retentionMs, keep: retentionCount });
  if (n > 0) j.log.info({ deleted: n }, 'jobs: old jobs deleted');
  return n;
}

/** Startup: lost jobs, retention; then both again now and then. Returns the timers. */
export async function startMaintenance(j: Jobs): Promise<NodeJS.Timeout[]> {
  await recover(j);
  await prune(j);
  return [
    setInterval(() => void recover(j).catch((err) => j.log.error({ err }, 'jobs: recovery failed')), MAINTENANCE_INTERVAL_MS).unref(),
    setInterval(() => void prune(j).catch((err) => j.log.error({ err }, 'jobs: pruning failed')), PRUNE_INTERVAL_MS).unref(),
  ];
}

/** Refuses new jobs, cancels what still runs (after the engine's own grace), waits for the records. */
export async function closeJobs(j: Jobs, timers: NodeJS.Timeout[]): Promise<void> {
  j.closed = true;
  for (const t of timers) clearInterval(t);
  await cancelAll(j, 'canceled (service shutting down)');
  // A last try for the ends the store refused; what still fails is lost with the process.
  for (const a of [...j.active.values()]) {
    if (a.recordRetry && !(await recordLate(j, a))) {
      clearInterval(a.recordRetry.timer);
      j.log.error({ job: a.record.id }, 'jobs: the end of a job was never stored; a restart will mark it lost');
    }
  }
  await j.locks.close();
  retireOwner(j.owner);
}
