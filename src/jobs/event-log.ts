import type { Active, Jobs } from './context.js';
import type { UnnumberedEvent } from './events.js';
import type { JobEvent } from './types.js';

/**
 * A live job's events: numbered, fanned out at once, and written to the store in one transaction
 * per turn of the event loop. A write that fails loses nothing: the events stay in memory and the
 * next flush (or the job's end) writes them.
 */
export function push(j: Jobs, a: Active, e: UnnumberedEvent): void {
  const ev = { seq: a.events.length + 1, ...e } as JobEvent;
  a.events.push(ev);
  a.emitter.emit('event', ev);
  if (!a.flushScheduled) {
    a.flushScheduled = true;
    // One transaction for what arrives in one turn of the event loop.
    setImmediate(() => void flush(j, a));
  }
}

function flush(j: Jobs, a: Active): Promise<void> {
  a.flushScheduled = false;
  a.flushing = a.flushing.then(() => writeEvents(j, a)).catch((err: unknown) => {
    // Nothing is lost: the events stay in memory and the next flush (or the job's end) writes them.
    j.log.error({ err, job: a.record.id }, 'jobs: events could not be stored yet');
  });
  return a.flushing;
}

/** The events the store does not have yet (seq is the position in a.events, from 1). */
export async function writeEvents(j: Jobs, a: Active): Promise<void> {
  const batch = a.events.slice(a.storedSeq);
  if (batch.length === 0) return;
  // A worker that fenced itself writes nothing more (its lease ran out: the job may be lost already).
  if (a.fenced || j.opts?.fence?.writable() === false) return;
  await j.store.appendEvents(a.record.id, batch);
  a.storedSeq = Math.max(a.storedSeq, batch[batch.length - 1]!.seq);
  j.opts?.notices?.stored(a.record.id, a.storedSeq, false);
}
