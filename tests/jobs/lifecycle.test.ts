import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Active, Jobs } from '../../src/jobs/context.js';
import { canTransition, IllegalTransitionError, markLost, transition, TRANSITIONS } from '../../src/jobs/lifecycle.js';
import { MemoryJobStore } from '../../src/jobs/memory-store.js';
import { Redactor } from '../../src/jobs/redact.js';
import { JOB_STATUSES, type JobRecord, type JobStatus } from '../../src/jobs/types.js';

const FINAL: JobStatus[] = ['successful', 'failed', 'canceled', 'timeout', 'lost'];

function record(status: JobStatus): JobRecord {
  return {
    id: `job-${status}`, status, rc: null, operation: 'op', method: 'POST', route: '/r', path: '/r', node: null, targets: [], async: false,
    request: { body: {}, params: {} }, created_at: Date.now(), started_at: null, finished_at: null, reason: null, answer: null, http_status: null,
    idempotency_key: null, request_hash: null, request_id: null, owner: { host: 'h', pid: 1, start: 's', instance: 'i' }, runs: [], event_count: 0,
  };
}

async function setup(status: JobStatus) {
  const store = new MemoryJobStore();
  const rec = record(status);
  await store.insertJob(structuredClone(rec));
  const jobs = { store, log: pino({ level: 'silent' }), active: new Map() } as unknown as Jobs;
  const a: Active = {
    record: rec, events: [], storedSeq: 0, flushing: Promise.resolve(), flushScheduled: false, emitter: new EventEmitter(), run: null,
    cancelReason: null, fenced: null, ended: false, redactor: new Redactor(), finished: new Promise(() => undefined), recordRetry: null,
  };
  return { store, jobs, a };
}

describe('the job life cycle', () => {
  it('allows exactly queued → running → a final status, and a queued job to end without running (never successful)', () => {
    const allowed = JOB_STATUSES.flatMap((from) => JOB_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}→${to}`));
    expect(allowed.sort()).toEqual(
      [...['running', 'failed', 'canceled', 'timeout', 'lost'].map((to) => `queued→${to}`), ...FINAL.map((to) => `running→${to}`)].sort(),
    );
    for (const s of FINAL) expect(TRANSITIONS[s]).toEqual([]);
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...JOB_STATUSES].sort());
  });

  it('refuses an illegal transition and changes nothing (memory, events, store)', async () => {
    for (const [from, to] of [['successful', 'failed'], ['canceled', 'running'], ['running', 'queued'], ['queued', 'successful'], ['running', 'running'], ['lost', 'lost']] as const) {
      const { store, jobs, a } = await setup(from);
      await expect(transition(jobs, a, { status: to, finished_at: 1 })).rejects.toThrow(IllegalTransitionError);
      expect(a.record.status).toBe(from);
      expect(a.record.finished_at).toBeNull();
      expect(a.events).toEqual([]);
      expect((await store.getJob(a.record.id))!.status).toBe(from);
    }
  });

  it('queued → running: in memory, a status event, and the store', async () => {
    const { store, jobs, a } = await setup('queued');
    await transition(jobs, a, { status: 'running', started_at: 42 });
    expect(a.record).toMatchObject({ status: 'running', started_at: 42 });
    expect(a.events).toMatchObject([{ seq: 1, type: 'status', status: 'running' }]);
    await new Promise((r) => setImmediate(r));
    expect(await store.getJob(a.record.id)).toMatchObject({ status: 'running', started_at: 42 });
  });

  it('running → final: the end event, the job ended, and the record with its events in the store', async () => {
    const { store, jobs, a } = await setup('running');
    await transition(jobs, a, { status: 'failed', rc: 2, finished_at: 7, reason: 'why' });
    expect(a.ended).toBe(true);
    expect(a.recordRetry).toBeNull();
    expect(a.events).toMatchObject([{ seq: 1, type: 'end', status: 'failed', rc: 2, reason: 'why' }]);
    expect(await store.getJob(a.record.id)).toMatchObject({ status: 'failed', rc: 2, finished_at: 7, reason: 'why' });
    expect(await store.readEvents(a.record.id, 0)).toHaveLength(1);
  });

  it('a stored job of a gone process ends lost, once', async () => {
    const { store, jobs } = await setup('running');
    const job = (await store.getJob('job-running'))!;
    await markLost(jobs, job, 'gone');
    expect(await store.getJob(job.id)).toMatchObject({ status: 'lost', reason: 'gone' });
    await expect(markLost(jobs, (await store.getJob(job.id))!, 'again')).rejects.toThrow(IllegalTransitionError);
  });
});
