import { createHash, randomUUID } from 'node:crypto';
import type { Run } from '../engine/engine.js';
import type { RunSpec } from '../engine/types.js';
import { shapeAnswer, type AnswerShape } from './answer.js';
import { DomainError, EngineClosedError, IdempotencyMismatchError, JobStoreUnavailableError } from '../errors.js';
import { newActive, type Jobs, type Outcome } from './context.js';
import { transition } from './lifecycle.js';
import { outcomeOf } from './read.js';
import { toPortable, rootsOf } from './portable.js';
import { Redactor, secretValuesOf } from './redact.js';
import { describeStoreError, retrying } from './retry.js';
import { drive } from './run.js';
import { targetsOf, type LockSpec } from './targets.js';
import { isFinal, type Body, type JobRecord, type JobStore } from './types.js';

const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

/** What a job is: the operation, the request that asks for it, the VMs it changes, and its plan. */
export interface SubmitRequest {
  /** The operation's id (the route's operationId). */
  operation: string;
  method: string;
  /** The route pattern the request matched. */
  route: string;
  /** The request path as called. */
  path: string;
  /** The validated body: recorded (secrets redacted), hashed for Idempotency-Key, and read for the targets and the node. */
  body: Body;
  params: Record<string, string>;
  /** The VMs the job changes (per-VM locks, on the body's `proxmox_node` or the default node); absent: none. */
  locks?: LockSpec;
  async: boolean;
  idempotencyKey: string | null;
  lockWaitMs: number;
  requestId: string | null;
  /** The route's plan: called once the locks are held (its checks see the VMs as the run will). */
  plan(): Promise<RunSpec[]>;
  /** How the synchronous route's answer is made from a finished run (data: it may travel to a worker). */
  answer: AnswerShape;
  /** The answer's shape when the plan decides it (a VM route run on a container publishes `lxc_*`); `answer` otherwise. */
  answerFor?(steps: RunSpec[]): AnswerShape;
}

export interface Submission {
  job: JobRecord;
  /** An Idempotency-Key repeat: the job is the one the first request started. */
  replayed: boolean;
  /** Resolves once the job is over with the answer the synchronous route gives. */
  outcome(): Promise<Outcome>;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Body)[k])]));
  return v;
}

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(JSON.stringify([method, path, canonical(body)])).digest('hex');
}

/**
 * Records a job (secrets redacted) and starts it; with an Idempotency-Key, the job an earlier
 * request with the same key and request started instead (IdempotencyMismatchError for another
 * request under the key).
 */
export async function submit(j: Jobs, req: SubmitRequest): Promise<Submission> {
  const key = req.idempotencyKey;
  const hash = key ? requestHash(req.method, req.path, req.body) : null;
  if (key && hash) {
    const prior = await priorJob(j, key, hash);
    if (prior) return replay(j, prior);
    let settle!: (job: JobRecord | null) => void;
    j.claiming.set(key, { hash, settled: new Promise((r) => (settle = r)) });
    try {
      const sub = await create(j, req, key, hash);
      settle(sub.job);
      return sub;
    } catch (err) {
      settle(null);
      throw err;
    } finally {
      j.claiming.delete(key);
    }
  }
  return create(j, req, null, null);
}

/** The job an Idempotency-Key already names, or null; IdempotencyMismatchError when it was another request. */
async function priorJob(j: Jobs, key: string, hash: string): Promise<JobRecord | null> {
  const inFlight = j.claiming.get(key);
  if (inFlight) {
    if (inFlight.hash !== hash) throw new IdempotencyMismatchError(key);
    const job = await inFlight.settled;
    if (job) return job;
  }
  const stored = await j.store.findByIdempotencyKey(key, Date.now() - IDEMPOTENCY_WINDOW_MS);
  if (stored && stored.request_hash !== hash) throw new IdempotencyMismatchError(key);
  return stored;
}

function replay(j: Jobs, job: JobRecord): Submission {
  return { job, replayed: true, outcome: () => outcomeOf(j, job.id) };
}

async function create(j: Jobs, req: SubmitRequest, key: string | null, hash: string | null): Promise<Submission> {
  const { body } = req;
  const id = randomUUID();
  // A full or unreachable run queue refuses the request before anything is locked or recorded.
  if (j.opts.queue) await j.opts.queue.room();
  const requestNode = typeof body.proxmox_node === 'string' && body.proxmox_node !== '' ? body.proxmox_node : null;
  const node = requestNode ?? (req.locks ? defaultNode(j) : null);
  const wanted = targetsOf(req.locks, body, node ?? '', j.sets);
  const targets = wanted !== 'node' ? wanted : ((await j.opts.nodeVmIds?.(node ?? '')) ?? []).map((vmid) => ({ node: node ?? '', vmid }));
  const release = targets.length > 0 ? await j.locks.acquire(id, targets, req.lockWaitMs) : () => undefined;
  let registered = false;
  try {
    const steps = await req.plan();
    if (steps.length === 0) throw new DomainError('NOTHING_TO_RUN', ':: err - nothing to run');
    const answer = req.answerFor?.(steps) ?? req.answer;
    const redactor = new Redactor([...j.opts.secrets(), ...secretValuesOf(body)]);
    const record: JobRecord = {
      id,
      status: 'queued',
      rc: null,
      operation: req.operation,
      method: req.method,
      route: req.route,
      path: req.path,
      node: requestNode ?? node,
      targets,
      async: req.async,
      request: { body: redactor.value(body), params: redactor.value(req.params) },
      created_at: Date.now(),
      started_at: null,
      finished_at: null,
      reason: null,
      answer: null,
      http_status: null,
      idempotency_key: key,
      request_hash: hash,
      request_id: req.requestId,
      owner: j.opts.queue ? { ...j.owner, queued: true } : j.owner,
      runs: [],
      event_count: 0,
    };
    if (j.closed) throw new EngineClosedError();
    if (j.opts.queue) {
      const sub = await enqueue(j, { ...req, answer }, record, steps, key, hash);
      registered = sub.replayed === false;
      return sub;
    }
    const { active, finish: resolveFinished } = newActive(record, redactor);
    // Known as live before it is visible in the store: a reader never mistakes it for another process's.
    j.active.set(id, active);
    let first: Run;
    try {
      const inserted = await insert(j, record, key && hash ? { key, hash, since: Date.now() - IDEMPOTENCY_WINDOW_MS } : undefined);
      if (!inserted.inserted) {
        // Another process claimed the key first.
        j.active.delete(id);
        if (inserted.existing.request_hash !== hash) throw new IdempotencyMismatchError(key ?? '');
        return replay(j, inserted.existing);
      }
      try {
        first = j.opts.engine.start(steps[0]!);
      } catch (err) {
        // Refused (queue full, shutting down): no job, and the key stays free for a retry.
        await retrying(() => j.store.deleteJob(id)).catch((e: unknown) => j.log.error({ err: e, job: id }, 'jobs: a refused job could not be deleted'));
        throw err;
      }
    } catch (err) {
      j.active.delete(id);
      throw err;
    }
    registered = true;
    void drive(j, active, steps, first, (r) => shapeAnswer(answer, r))
      .then(resolveFinished, async (err: unknown) => {
        j.log.error({ err, job: id }, 'jobs: a job failed to finish cleanly');
        const reason = `internal error: ${(err as Error).message}`;
        // Ended by the life cycle like any job (recorded, or kept in memory), unless it is over already.
        if (!isFinal(active.record.status)) {
          await transition(j, active, { status: 'failed', finished_at: Date.now(), reason: redactor.text(reason) }).catch((e: unknown) =>
            j.log.error({ err: e, job: id }, 'jobs: a job that failed to finish cleanly could not be ended'),
          );
        }
        resolveFinished({ status: 500, body: { rc: -1, log_multiline: [`job ${id}: ${reason}`] } });
      })
      .finally(() => {
        release();
        // A job whose end the store refused stays served from memory until it is written.
        if (!active.recordRetry) j.active.delete(id);
      });
    return { job: { ...record }, replayed: false, outcome: () => active.finished };
  } finally {
    if (!registered) release();
  }
}

/**
 * RUN_QUEUE=redis: the job, recorded, goes to the run queue with its plan as data (paths relative
 * to the configured roots, re-resolved and re-checked by the worker), its answer's shape and the
 * request's secret values. Its VM locks pass to the queue first, then to the worker that takes
 * it, which gives them back when the job ends. A queue that refuses it: the job is deleted, its
 * locks given back, the Idempotency-Key left free, and the request gets the 503.
 */
async function enqueue(j: Jobs, req: SubmitRequest, record: JobRecord, steps: RunSpec[], key: string | null, hash: string | null): Promise<Submission> {
  const queue = j.opts.queue!;
  const qs = j.queueStore!;
  const id = record.id;
  const portable = steps.map((s) => toPortable(s, rootsOf(j.opts.config)));
  const inserted = await insert(j, record, key && hash ? { key, hash, since: Date.now() - IDEMPOTENCY_WINDOW_MS } : undefined);
  if (!inserted.inserted) {
    if (inserted.existing.request_hash !== hash) throw new IdempotencyMismatchError(key ?? '');
    return replay(j, inserted.existing);
  }
  try {
    if (record.targets.length > 0) await retrying(() => qs.handOverLocks(id));
    await queue.enqueue({ id, steps: portable, answer: req.answer, secrets: [...secretValuesOf(req.body)], queuedAt: Date.now() });
  } catch (err) {
    await retrying(() => j.store.deleteJob(id)).catch((e: unknown) => j.log.error({ err: e, job: id }, 'jobs: a refused job could not be deleted'));
    throw err;
  }
  // Given to the queue: this instance no longer holds them (the worker gives them back).
  j.locks.forget?.(id);
  return { job: { ...record }, replayed: false, outcome: () => outcomeOf(j, id) };
}

/** The job's first record; a store that keeps failing refuses the request (JOB_STORE_UNAVAILABLE), nothing runs. */
async function insert(j: Jobs, record: JobRecord, idem: Parameters<JobStore['insertJob']>[1]) {
  try {
    return await retrying(() => j.store.insertJob(record, idem));
  } catch (err) {
    j.log.error({ err, job: record.id }, 'jobs: the job store refused a new job');
    throw err instanceof JobStoreUnavailableError ? err : new JobStoreUnavailableError(describeStoreError(err));
  }
}

function defaultNode(j: Jobs): string | null {
  try {
    return j.opts.defaultNode();
  } catch {
    return null;
  }
}
