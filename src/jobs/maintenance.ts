import { cancelAll } from './cancel.js';
import os from 'node:os';
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
    // A queued job's fate is its worker's heartbeat (sweepQueue), not the process that recorded it.
    if (j.active.has(job.id) || job.owner.queued || ownerAlive(job.owner)) continue;
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
  const queued: NodeJS.Timeout[] = [];
  if (j.queueStore) {
    const sweep = queueSweeper(j);
    queued.push(setInterval(() => void sweep(), sweepIntervalMs(j)).unref());
  }
  return [
    ...queued,
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

/** How long a queued job may wait with its queue entry gone before it is declared lost. */
const UNCLAIMED_GRACE_MS = 5000;

/** The lost sweep's period: a fraction of WORKER_LOST_AFTER, so a job is lost within ~1.25× of it. */
export const sweepIntervalMs = (j: Jobs) => Math.max(100, Math.min(j.opts.config.queue.heartbeatMs, j.opts.config.queue.lostAfterMs / 4));

/**
 * RUN_QUEUE=redis, on every API instance and worker: jobs of a worker silent for WORKER_LOST_AFTER
 * end `lost` (never run again) with a reason naming it, their VM locks given back, and — when the
 * worker ran on this host and its process is gone — what its runs left behind is killed. On an API
 * instance, queued jobs whose queue entry is gone (Redis restarted without its data) end lost too.
 * The locks of jobs waiting in the queue are kept alive. After the store was unreachable, nobody is
 * declared lost before WORKER_LOST_AFTER has passed again: the workers' heartbeats failed too.
 */
export function queueSweeper(j: Jobs): () => Promise<number> {
  const qs = j.queueStore!;
  const { lostAfterMs } = j.opts.config.queue;
  let reachableSince = Date.now();
  let running = false;
  return async () => {
    if (running) return 0;
    running = true;
    let n = 0;
    try {
      await qs.refreshQueuedLocks();
      if (Date.now() - reachableSince < lostAfterMs) return 0;
      for (const { job, worker, silentMs } of await qs.jobsOfSilentWorkers(lostAfterMs)) {
        const local = job.owner.host === os.hostname() && !ownerAlive(job.owner);
        const killed = local ? job.runs.flatMap((r) => cleanUpRun(r)) : [];
        const silence = silentMs === null ? 'it is not registered' : `no heartbeat for ${(silentMs / 1000).toFixed(1)} s`;
        const reason = `worker ${worker} (process ${job.owner.pid} on ${job.owner.host}) stopped answering while the job was ${job.status}: ${silence} (WORKER_LOST_AFTER ${lostAfterMs / 1000} s)`;
        if (await qs.markLost(job.id, reason)) {
          j.opts.notices?.stored(job.id, job.event_count + 1, true);
          j.log.warn({ job: job.id, worker, killed }, 'jobs: marked lost (silent worker)');
          n++;
        }
      }
      const queue = j.opts.queue;
      if (queue) {
        for (const job of await qs.unclaimedJobs(Date.now() - UNCLAIMED_GRACE_MS)) {
          const state = await queue.state(job.id).catch(() => null);
          if (state === null || !['unknown', 'completed', 'failed'].includes(state)) continue;
          const reason = `the run queue lost the job before a worker took it (queue state: ${state}); it never ran`;
          if (await qs.markLost(job.id, reason)) {
            j.opts.notices?.stored(job.id, job.event_count + 1, true);
            j.log.warn({ job: job.id, state }, 'jobs: marked lost (gone from the run queue)');
            n++;
          }
        }
      }
    } catch (err) {
      reachableSince = Date.now();
      j.log.warn({ err }, 'jobs: the run queue sweep could not reach the store');
    } finally {
      running = false;
    }
    return n;
  };
}
