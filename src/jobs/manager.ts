import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import type { Engine, Run } from '../engine/engine.js';
import type { RunResult, RunSpec } from '../engine/types.js';
import { DomainError, EngineClosedError, IdempotencyMismatchError, JobStoreUnavailableError } from '../errors.js';
import { reduceEvent, type UnnumberedEvent } from './events.js';
import { VmLocks } from './locks.js';
import { cleanUpRun, newOwner, ownerAlive, retireOwner } from './owner.js';
import { Redactor, secretValuesOf } from './redact.js';
import { DefaultVmSets, targetsOf, type LockSpec } from './targets.js';
import { describeStoreError, retrying } from './retry.js';
import { isFinal, type Body, type JobEvent, type JobFilter, type JobPage, type JobPatch, type JobRecord, type JobRunInfo, type JobStatus, type JobStore } from './types.js';

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
const MAINTENANCE_INTERVAL_MS = 60_000;
const PRUNE_INTERVAL_MS = 3600_000;
/** Polling period for a job another process runs (shared database). */
const REMOTE_POLL_MS = 500;
/** How often the end of a job the store refused is written again. */
const RECORD_RETRY_MS = 5000;

/** The answer of the synchronous route. */
export interface Outcome {
  status: number;
  body: Record<string, unknown>;
}

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
  /** The synchronous route's answer for a finished run. */
  shape(result: RunResult): Record<string, unknown>;
}

export interface Submission {
  job: JobRecord;
  /** An Idempotency-Key repeat: the job is the one the first request started. */
  replayed: boolean;
  /** Resolves once the job is over with the answer the synchronous route gives. */
  outcome(): Promise<Outcome>;
}

export interface FollowHandlers {
  event(e: JobEvent): void;
  /** The job is over and every event was delivered. */
  end(): void;
}

/** A job running in this process. */
interface Active {
  record: JobRecord;
  events: JobEvent[];
  /** Events up to this seq are in the store; the rest are written by the next flush. */
  storedSeq: number;
  flushing: Promise<void>;
  flushScheduled: boolean;
  emitter: EventEmitter;
  run: Run | null;
  cancelReason: string | null;
  ended: boolean;
  redactor: Redactor;
  /** Resolves when the job is over (final in the store, or in memory when the store refused it). */
  finished: Promise<Outcome>;
  /** Set while the job's end is known only here: writes `patch` again until the store takes it. */
  recordRetry: { timer: NodeJS.Timeout; patch: JobPatch } | null;
}

export interface JobManagerOptions {
  store: JobStore;
  engine: Engine;
  config: Readonly<Config>;
  log: Logger;
  /** The service's own secrets (vault, tokens), re-read as they change. */
  secrets(): string[];
  /** The inventory's Proxmox node, for requests that leave proxmox_node empty (null when unknown). */
  defaultNode(): string | null;
  /** Every VM and container id of a node (read from Proxmox), for a bundle whose VMs cannot be known. */
  nodeVmIds?(node: string): Promise<number[]>;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Body)[k])]));
  return v;
}

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(JSON.stringify([method, path, canonical(body)])).digest('hex');
}

const nowIso = () => new Date().toISOString();

/**
 * Every playbook run of the API is a job: recorded (secrets redacted) before it runs, its
 * ansible-runner events reduced, numbered, stored and fanned out live, its answer kept once it
 * ends. Jobs that change VMs hold per-VM locks. Jobs of a dead process are marked `lost` (and
 * what their runs left behind is killed) when a live instance notices.
 */
export class JobManager {
  readonly locks = new VmLocks();
  readonly owner = newOwner();
  private readonly active = new Map<string, Active>();
  /** Idempotency keys being claimed by a request of this process. */
  private readonly claiming = new Map<string, { hash: string; settled: Promise<JobRecord | null> }>();
  private readonly sets: DefaultVmSets;
  private readonly roots: string[];
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(private readonly opts: JobManagerOptions) {
    this.sets = new DefaultVmSets(opts.config.publicPlaybooksDir);
    this.roots = [opts.config.publicPlaybooksDir, opts.config.projectRootDir];
  }

  get store(): JobStore {
    return this.opts.store;
  }

  /** Startup: lost jobs, retention; then both again now and then. */
  async start(): Promise<void> {
    await this.recover();
    await this.prune();
    this.timers.push(setInterval(() => void this.recover().catch((err) => this.opts.log.error({ err }, 'jobs: recovery failed')), MAINTENANCE_INTERVAL_MS).unref());
    this.timers.push(setInterval(() => void this.prune().catch((err) => this.opts.log.error({ err }, 'jobs: pruning failed')), PRUNE_INTERVAL_MS).unref());
  }

  // ---------------------------------------------------------------- submission

  async submit(req: SubmitRequest): Promise<Submission> {
    const key = req.idempotencyKey;
    const hash = key ? requestHash(req.method, req.path, req.body) : null;
    if (key && hash) {
      const prior = await this.priorJob(key, hash);
      if (prior) return this.replay(prior);
      let settle!: (j: JobRecord | null) => void;
      this.claiming.set(key, { hash, settled: new Promise((r) => (settle = r)) });
      try {
        const sub = await this.create(req, key, hash);
        settle(sub.job);
        return sub;
      } catch (err) {
        settle(null);
        throw err;
      } finally {
        this.claiming.delete(key);
      }
    }
    return this.create(req, null, null);
  }

  /** The job an Idempotency-Key already names, or null; IdempotencyMismatchError when it was another request. */
  private async priorJob(key: string, hash: string): Promise<JobRecord | null> {
    const inFlight = this.claiming.get(key);
    if (inFlight) {
      if (inFlight.hash !== hash) throw new IdempotencyMismatchError(key);
      const job = await inFlight.settled;
      if (job) return job;
    }
    const stored = await this.store.findByIdempotencyKey(key, Date.now() - IDEMPOTENCY_WINDOW_MS);
    if (stored && stored.request_hash !== hash) throw new IdempotencyMismatchError(key);
    return stored;
  }

  private replay(job: JobRecord): Submission {
    return { job, replayed: true, outcome: () => this.outcomeOf(job.id) };
  }

  private async create(req: SubmitRequest, key: string | null, hash: string | null): Promise<Submission> {
    const { body } = req;
    const id = randomUUID();
    const requestNode = typeof body.proxmox_node === 'string' && body.proxmox_node !== '' ? body.proxmox_node : null;
    const node = requestNode ?? (req.locks ? this.defaultNode() : null);
    const wanted = targetsOf(req.locks, body, node ?? '', this.sets);
    const targets = wanted !== 'node' ? wanted : ((await this.opts.nodeVmIds?.(node ?? '')) ?? []).map((vmid) => ({ node: node ?? '', vmid }));
    const release = targets.length > 0 ? await this.locks.acquire(id, targets, req.lockWaitMs) : () => undefined;
    let registered = false;
    try {
      const steps = await req.plan();
      if (steps.length === 0) throw new DomainError('NOTHING_TO_RUN', ':: err - nothing to run');
      const redactor = new Redactor([...this.opts.secrets(), ...secretValuesOf(body)]);
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
        owner: this.owner,
        runs: [],
        event_count: 0,
      };
      if (this.closed) throw new EngineClosedError();
      let resolveFinished!: (o: Outcome) => void;
      const active: Active = {
        record,
        events: [],
        storedSeq: 0,
        flushing: Promise.resolve(),
        flushScheduled: false,
        emitter: new EventEmitter().setMaxListeners(0),
        run: null,
        cancelReason: null,
        ended: false,
        redactor,
        finished: new Promise((r) => (resolveFinished = r)),
        recordRetry: null,
      };
      // Known as live before it is visible in the store: a reader never mistakes it for another process's.
      this.active.set(id, active);
      let first: Run;
      try {
        const inserted = await this.insert(record, key && hash ? { key, hash, since: Date.now() - IDEMPOTENCY_WINDOW_MS } : undefined);
        if (!inserted.inserted) {
          // Another process claimed the key first.
          this.active.delete(id);
          if (inserted.existing.request_hash !== hash) throw new IdempotencyMismatchError(key ?? "");
          return this.replay(inserted.existing);
        }
        try {
          first = this.opts.engine.start(steps[0]!);
        } catch (err) {
          // Refused (queue full, shutting down): no job, and the key stays free for a retry.
          await retrying(() => this.store.deleteJob(id)).catch((e: unknown) => this.opts.log.error({ err: e, job: id }, 'jobs: a refused job could not be deleted'));
          throw err;
        }
      } catch (err) {
        this.active.delete(id);
        throw err;
      }
      registered = true;
      void this.drive(active, steps, first, req.shape)
        .then(resolveFinished, async (err: unknown) => {
          this.opts.log.error({ err, job: id }, 'jobs: a job failed to finish cleanly');
          const reason = `internal error: ${(err as Error).message}`;
          await this.store.updateJob(id, { status: 'failed', finished_at: Date.now(), reason }).catch(() => undefined);
          resolveFinished({ status: 500, body: { rc: -1, log_multiline: [`job ${id}: ${reason}`] } });
        })
        .finally(() => {
          release();
          // A job whose end the store refused stays served from memory until it is written.
          if (!active.recordRetry) this.active.delete(id);
        });
      return { job: { ...record }, replayed: false, outcome: () => active.finished };
    } finally {
      if (!registered) release();
    }
  }

  /** The job's first record; a store that keeps failing refuses the request (JOB_STORE_UNAVAILABLE), nothing runs. */
  private async insert(record: JobRecord, idem: Parameters<JobStore['insertJob']>[1]) {
    try {
      return await retrying(() => this.store.insertJob(record, idem));
    } catch (err) {
      this.opts.log.error({ err, job: record.id }, 'jobs: the job store refused a new job');
      throw new JobStoreUnavailableError(describeStoreError(err));
    }
  }

  private defaultNode(): string | null {
    try {
      return this.opts.defaultNode();
    } catch {
      return null;
    }
  }

  // ---------------------------------------------------------------- running

  private async drive(a: Active, steps: RunSpec[], first: Run, shape: (r: RunResult) => Record<string, unknown>): Promise<Outcome> {
    let last: RunResult | null = null;
    let status: JobStatus | null = null;
    let reason: string | null = null;
    for (let i = 0; i < steps.length; i++) {
      let run: Run;
      if (i === 0) run = first;
      else {
        if (a.cancelReason) {
          status = 'canceled';
          reason = a.cancelReason;
          break;
        }
        try {
          run = this.opts.engine.start(steps[i]!);
        } catch (err) {
          status = err instanceof EngineClosedError ? 'canceled' : 'failed';
          reason = `step ${i + 1} of ${steps.length} refused: ${(err as Error).message}`;
          break;
        }
      }
      if (steps.length > 1) this.push(a, { t: nowIso(), type: 'step', index: i + 1, of: steps.length, label: steps[i]!.label ?? null });
      last = await this.watchRun(a, run);
      if (last.rc !== 0) break;
    }
    if (!last) throw new Error('no run');
    if (status) {
      // Stopped between two runs: the answer says so the way a stopped run does.
      const text = `ERROR! ${reason}`;
      last = { ...last, rc: 254, status: status === 'canceled' ? 'canceled' : 'failed', events: [...last.events, { event: 'verbose', stdout: text }] };
      this.push(a, { t: nowIso(), type: 'message', level: 'error', text: a.redactor.text(text) });
    } else {
      status = last.status;
      if (status === 'canceled') reason = a.cancelReason ?? 'canceled (service shutting down)';
      else if (status === 'timeout') reason = `stopped after ${Math.round((steps[0]?.timeoutMs ?? this.opts.config.runner.timeoutMs) / 1000)} s (RUNNER_TIMEOUT)`;
    }
    const answer = shape(last);
    const http = last.rc === 0 ? 200 : 500;
    this.push(a, { t: nowIso(), type: 'end', status, rc: last.rc, ...(reason ? { reason: a.redactor.text(reason) } : {}) });
    a.ended = true;
    const patch: JobPatch = {
      status, rc: last.rc, started_at: a.record.started_at, finished_at: Date.now(), reason: reason ? a.redactor.text(reason) : null,
      answer: a.redactor.value(answer), http_status: http, runs: a.record.runs,
    };
    Object.assign(a.record, patch);
    try {
      await retrying(() => this.record(a, patch));
    } catch (err) {
      this.keepUnrecorded(a, patch, err);
    }
    a.emitter.emit('finished');
    return { status: http, body: answer };
  }

  /** Writes what the store lacks of a job: its remaining events, then the patch. Throws on failure. */
  private async record(a: Active, patch: JobPatch): Promise<void> {
    await a.flushing;
    await this.writeEvents(a);
    await this.store.updateJob(a.record.id, patch);
  }

  /**
   * The store refused the end of a job (retries used up): the job is over all the same. It stays
   * in memory, final, with a reason that says it is not recorded — readers, followers, replays and
   * cancel see it as finished — and its end is written again every RECORD_RETRY_MS until the store
   * takes it (then the reason says it was recorded late) or the service stops.
   */
  private keepUnrecorded(a: Active, patch: JobPatch, err: unknown): void {
    const cause = describeStoreError(err);
    const join = (note: string) => (patch.reason ? `${patch.reason}; ${note}` : note);
    a.record.reason = a.redactor.text(join(`not recorded: the job store failed (${cause}); kept in memory by process ${process.pid}, written again every ${RECORD_RETRY_MS / 1000} s`));
    this.opts.log.error({ err, job: a.record.id, status: patch.status }, 'jobs: the end of a job could not be stored; kept in memory');
    const late: JobPatch = { ...patch, reason: a.redactor.text(join(`recorded late: the job store failed when the job ended (${cause})`)) };
    a.recordRetry = { timer: setInterval(() => void this.recordLate(a), RECORD_RETRY_MS).unref(), patch: late };
  }

  private async recordLate(a: Active): Promise<boolean> {
    const retry = a.recordRetry;
    if (!retry) return true;
    try {
      await this.record(a, retry.patch);
    } catch {
      return false; // still failing: the next interval tries again
    }
    if (a.recordRetry !== retry) return true;
    clearInterval(retry.timer);
    a.recordRetry = null;
    a.record.reason = retry.patch.reason ?? null;
    this.active.delete(a.record.id);
    this.opts.log.warn({ job: a.record.id }, 'jobs: the end of a job was stored late');
    return true;
  }

  /** A write that only helps (the end writes everything again): its failure is logged, never thrown. */
  private bestEffort(a: Active, what: string, write: () => Promise<void>): void {
    write().catch((err: unknown) => this.opts.log.warn({ err, job: a.record.id }, `jobs: ${what} could not be stored (written again at the end)`));
  }

  /** Follows one run of the job to its end. */
  private async watchRun(a: Active, run: Run): Promise<RunResult> {
    a.run = run;
    const info: JobRunInfo = { run_id: run.id, label: run.spec.label ?? null, pid: null, private_dir: null, rc: null, status: null };
    a.record.runs.push(info);
    const started = () => {
      if (a.record.status !== 'queued') return;
      a.record.status = 'running';
      a.record.started_at = Date.now();
      this.bestEffort(a, 'the start', () => this.store.updateJob(a.record.id, { status: 'running', started_at: a.record.started_at }));
      this.push(a, { t: nowIso(), type: 'status', status: 'running' });
    };
    const onEvent = (ev: Parameters<typeof reduceEvent>[0]) => {
      const e = reduceEvent(ev, { redactor: a.redactor, roots: this.roots });
      if (e) this.push(a, e);
    };
    const onSpawn = (s: { pid: number; privateDir: string }) => {
      info.pid = s.pid;
      info.private_dir = s.privateDir;
      // Written at once: it is what a restart needs to clean up after a crash.
      this.bestEffort(a, 'the run process', () => this.store.updateJob(a.record.id, { runs: a.record.runs }));
    };
    run.on('event', onEvent);
    run.on('spawn', onSpawn);
    run.once('started', started);
    if (run.state !== 'queued') started(); // it may have started inside Engine.start
    if (a.cancelReason) run.cancel('canceled');
    try {
      const result = await run.done;
      info.rc = result.rc;
      info.status = result.status;
      return result;
    } finally {
      run.off('event', onEvent);
      run.off('spawn', onSpawn);
      run.off('started', started);
    }
  }

  private push(a: Active, e: UnnumberedEvent): void {
    const ev = { seq: a.events.length + 1, ...e } as JobEvent;
    a.events.push(ev);
    a.emitter.emit('event', ev);
    if (!a.flushScheduled) {
      a.flushScheduled = true;
      // One transaction for what arrives in one turn of the event loop.
      setImmediate(() => void this.flush(a));
    }
  }

  private flush(a: Active): Promise<void> {
    a.flushScheduled = false;
    a.flushing = a.flushing.then(() => this.writeEvents(a)).catch((err: unknown) => {
      // Nothing is lost: the events stay in memory and the next flush (or the job's end) writes them.
      this.opts.log.error({ err, job: a.record.id }, 'jobs: events could not be stored yet');
    });
    return a.flushing;
  }

  /** The events the store does not have yet (seq is the position in a.events, from 1). */
  private async writeEvents(a: Active): Promise<void> {
    const batch = a.events.slice(a.storedSeq);
    if (batch.length === 0) return;
    await this.store.appendEvents(a.record.id, batch);
    a.storedSeq = Math.max(a.storedSeq, batch[batch.length - 1]!.seq);
  }

  // ---------------------------------------------------------------- reading

  async get(id: string): Promise<JobRecord | null> {
    const a = this.active.get(id);
    if (a) return structuredClone({ ...a.record, event_count: a.events.length });
    return this.store.getJob(id);
  }

  /** A page of the history; a job this process runs (or holds unrecorded) is shown as it is now. */
  async list(filter: JobFilter): Promise<JobPage> {
    const page = await this.store.listJobs(filter);
    const live = (j: JobRecord) => {
      const a = this.active.get(j.id);
      return a ? structuredClone({ ...a.record, event_count: a.events.length }) : j;
    };
    return { ...page, jobs: page.jobs.map(live) };
  }

  /** The synchronous answer of a job, once it is over. */
  private async outcomeOf(id: string): Promise<Outcome> {
    const a = this.active.get(id);
    if (a) return a.finished;
    for (;;) {
      const job = await this.store.getJob(id);
      if (!job) return { status: 500, body: { rc: -1, log_multiline: [`job ${id} is gone`] } };
      if (isFinal(job.status)) {
        if (job.answer) return { status: job.http_status ?? 500, body: job.answer };
        return { status: 500, body: { rc: job.rc ?? -1, log_multiline: [`job ${id} ${job.status}: ${job.reason ?? ''}`.trim()] } };
      }
      if (this.active.has(id)) return this.active.get(id)!.finished;
      await new Promise((r) => setTimeout(r, REMOTE_POLL_MS));
    }
  }

  /**
   * Delivers the events after `after`, then the live ones, then calls `end` once the job is over;
   * returns a function that stops following, or null for an unknown job.
   */
  async follow(id: string, after: number, h: FollowHandlers): Promise<(() => void) | null> {
    const a = this.active.get(id);
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
    const job = await this.store.getJob(id);
    if (!job) return null;
    let last = after;
    let stopped = false;
    const drain = async () => {
      for (const e of await this.store.readEvents(id, last)) {
        if (stopped) return;
        h.event(e);
        last = e.seq;
      }
    };
    await drain();
    if (isFinal(job.status)) {
      h.end();
      return () => undefined;
    }
    // Run by another process sharing the database: poll until it ends.
    const poll = async () => {
      while (!stopped) {
        await new Promise((r) => setTimeout(r, REMOTE_POLL_MS));
        if (stopped) return;
        const j = await this.store.getJob(id);
        await drain();
        if (!j || isFinal(j.status)) {
          if (!stopped) h.end();
          return;
        }
      }
    };
    void poll();
    return () => {
      stopped = true;
    };
  }

  // ---------------------------------------------------------------- cancel

  /** Cancels a queued or running job and resolves once it is over (its processes gone). */
  async cancel(id: string, reason = 'canceled by request'): Promise<JobRecord | null> {
    const a = this.active.get(id);
    if (!a) {
      const job = await this.store.getJob(id);
      if (!job) return null;
      if (isFinal(job.status)) throw new DomainError('JOB_FINISHED', `:: err - JOB ALREADY FINISHED (${job.status})`);
      throw new DomainError('JOB_RUN_ELSEWHERE', ':: err - JOB IS RUN BY ANOTHER INSTANCE OF THE SERVICE');
    }
    if (a.ended) throw new DomainError('JOB_FINISHED', `:: err - JOB ALREADY FINISHED (${a.record.status})`);
    a.cancelReason ??= reason;
    a.run?.cancel('canceled');
    await a.finished;
    return this.get(id);
  }

  // ---------------------------------------------------------------- maintenance

  /**
   * Jobs left queued or running by a process that is gone: their leftover processes are killed,
   * their private directories removed, and they end as `lost`. Returns how many.
   */
  async recover(): Promise<number> {
    let n = 0;
    for (const job of await this.store.unfinishedJobs()) {
      if (this.active.has(job.id) || ownerAlive(job.owner)) continue;
      const killed = job.runs.flatMap((r) => cleanUpRun(r));
      const reason = `the service stopped while the job was ${job.status} (process ${job.owner.pid} on ${job.owner.host} is gone)`;
      const end: JobEvent = { seq: job.event_count + 1, t: nowIso(), type: 'end', status: 'lost', rc: null, reason };
      await this.store.appendEvents(job.id, [end]);
      await this.store.updateJob(job.id, { status: 'lost', finished_at: Date.now(), reason });
      this.opts.log.warn({ job: job.id, operation: job.operation, killed }, 'jobs: marked lost');
      n++;
    }
    return n;
  }

  async prune(): Promise<number> {
    const { retentionMs, retentionCount } = this.opts.config.jobs;
    const n = await this.store.prune({ before: Date.now() - retentionMs, keep: retentionCount });
    if (n > 0) this.opts.log.info({ deleted: n }, 'jobs: old jobs deleted');
    return n;
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** Refuses new jobs, cancels what still runs (after the engine's own grace), waits for the records. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    const pending = [...this.active.values()];
    for (const a of pending) {
      a.cancelReason ??= 'canceled (service shutting down)';
      a.run?.cancel('canceled');
    }
    await Promise.all(pending.map((a) => a.finished));
    // A last try for the ends the store refused; what still fails is lost with the process.
    for (const a of [...this.active.values()]) {
      if (a.recordRetry && !(await this.recordLate(a))) {
        clearInterval(a.recordRetry.timer);
        this.opts.log.error({ job: a.record.id }, 'jobs: the end of a job was never stored; a restart will mark it lost');
      }
    }
    retireOwner(this.owner);
  }
}
