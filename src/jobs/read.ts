import { NOTICED_POLL_MS, REMOTE_POLL_MS, type Jobs, type NoticeWatch, type Outcome } from './context.js';
import { isFinal, type JobEvent, type JobFilter, type JobPage, type JobRecord } from './types.js';

export interface FollowHandlers {
  event(e: JobEvent): void;
  /** The job is over and every event was delivered. */
  end(): void;
}

/** A job as it is now: from memory when this process holds it, else from the store. */
export async function getJob(j: Jobs, id: string): Promise<JobRecord | null> {
  const a = j.active.get(id);
  if (a) return structuredClone({ ...a.record, event_count: a.events.length });
  return j.store.getJob(id);
}

/** A page of the history; a job this process runs (or holds unrecorded) is shown as it is now. */
export async function listJobs(j: Jobs, filter: JobFilter): Promise<JobPage> {
  const page = await j.store.listJobs(filter);
  const live = (job: JobRecord) => {
    const a = j.active.get(job.id);
    return a ? structuredClone({ ...a.record, event_count: a.events.length }) : job;
  };
  return { ...page, jobs: page.jobs.map(live) };
}

/** Waits for a job run elsewhere: woken by its notices (RUN_QUEUE=redis), else by polling. */
function waiter(j: Jobs, id: string): { watch: NoticeWatch | null; next(since: number): Promise<void> } {
  const watch = j.opts?.notices?.watch(id) ?? null;
  return {
    watch,
    next: (since) => (watch ? watch.changed(since, NOTICED_POLL_MS) : new Promise((r) => setTimeout(r, REMOTE_POLL_MS))),
  };
}

/** The synchronous answer of a job, once it is over. */
export async function outcomeOf(j: Jobs, id: string): Promise<Outcome> {
  const a = j.active.get(id);
  if (a) return a.finished;
  const w = waiter(j, id);
  try {
    for (;;) {
      const since = w.watch?.version() ?? 0;
      let job: JobRecord | null;
      try {
        job = await j.store.getJob(id);
      } catch (err) {
        // A store restarting: the job is still there once it is back.
        if (!j.opts?.queue) throw err;
        j.log.warn({ err, job: id }, 'jobs: waiting for a queued job: the store cannot be read yet');
        await w.next(since);
        continue;
      }
      if (!job) return { status: 500, body: { rc: -1, log_multiline: [`job ${id} is gone`] } };
      if (isFinal(job.status)) {
        if (job.answer) {
          // The worker's unredacted answer, as the instance itself would have given it; else the stored one.
          const fresh = j.opts?.queue ? await j.opts?.queue.answer(id).catch(() => null) : null;
          return { status: job.http_status ?? 500, body: fresh ?? job.answer };
        }
        return { status: 500, body: { rc: job.rc ?? -1, log_multiline: [`job ${id} ${job.status}: ${job.reason ?? ''}`.trim()] } };
      }
      if (j.active.has(id)) return j.active.get(id)!.finished;
      await w.next(since);
    }
  } finally {
    w.watch?.close();
  }
}

/**
 * Delivers the events after `after`, then the live ones, then calls `end` once the job is over;
 * returns a function that stops following, or null for an unknown job.
 */
export async function follow(j: Jobs, id: string, after: number, h: FollowHandlers): Promise<(() => void) | null> {
  const a = j.active.get(id);
  if (a) {
    // Backlog and subscription in one synchronous step: nothing can slip in between.
    for (const e of a.events) if (e.seq > after) h.event(e);
    if (a.ended) {
      h.end();
      return () => undefined;
    }
    const onEvent = (e: JobEvent) => {
      h.event(e);
      if (e.type === 'end') {
        a.emitter.off('event', onEvent);
        h.end();
      }
    };
    a.emitter.on('event', onEvent);
    return () => a.emitter.off('event', onEvent);
  }
  const w = waiter(j, id);
  let job: JobRecord | null;
  try {
    job = await j.store.getJob(id);
  } catch (err) {
    w.watch?.close();
    throw err;
  }
  if (!job) {
    w.watch?.close();
    return null;
  }
  let last = after;
  let stopped = false;
  let ended = false;
  const drain = async () => {
    for (const e of await j.store.readEvents(id, last)) {
      if (stopped) return;
      h.event(e);
      last = e.seq;
      if (e.type === 'end') ended = true;
    }
  };
  let since = w.watch?.version() ?? 0;
  try {
    await drain();
  } catch (err) {
    w.watch?.close();
    throw err;
  }
  if (isFinal(job.status) || ended) {
    w.watch?.close();
    h.end();
    return () => undefined;
  }
  // Run by another process sharing the database: read on when it says so (notices) or when the
  // poll comes round, until it ends. A store that fails for a while (a database restarting) only
  // delays the next events: the follower keeps its place.
  const poll = async () => {
    try {
      while (!stopped) {
        await w.next(since);
        if (stopped) return;
        since = w.watch?.version() ?? 0;
        let current: JobRecord | null;
        try {
          current = await j.store.getJob(id);
          await drain();
        } catch (err) {
          j.log.warn({ err, job: id }, 'jobs: the events of a job run elsewhere could not be read yet');
          continue;
        }
        if (!current || isFinal(current.status) || ended) {
          // Its last events may have been stored with the end: read once more.
          if (current && !ended) await drain().catch(() => undefined);
          if (!stopped) h.end();
          return;
        }
      }
    } finally {
      w.watch?.close();
    }
  };
  void poll();
  return () => {
    stopped = true;
  };
}
