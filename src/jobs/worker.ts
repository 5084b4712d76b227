import { WaitingError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import type { Engine } from '../engine/engine.js';
import type { QueuedJob } from './context.js';
import { guardedStore } from './execute.js';
import { Lease, leaseMs, monotonicMs } from './fence.js';
import { JobManager } from './manager.js';
import { newOwner, retireOwner } from './owner.js';
import { bullConnection, QUEUE_NAME, RedisChannels } from './redis-queue.js';
import type { JobOwner, JobStore, QueueStore } from './types.js';

export interface RunWorkerOptions {
  config: Readonly<Config>;
  /** The shared PostgreSQL store (JOBS_STORE=postgres). */
  store: JobStore;
  engine: Engine;
  log: Logger;
  /** The worker's own secrets (vault, tokens), redacted from what it stores and streams. */
  secrets(): string[];
}

/**
 * A worker process of RUN_QUEUE=redis (`npm run worker`): takes jobs from the BullMQ queue
 * `r42-runs`, at most RUNNER_MAX_CONCURRENT at once, and runs each on its engine through the job
 * code every instance uses (execute.ts). It says it is alive every WORKER_HEARTBEAT_INTERVAL
 * (PostgreSQL `workers`, and the heartbeat of its jobs' VM locks); it stops the job it holds when
 * any instance asks (Redis pub/sub), and sweeps for the jobs of silent workers like the API instances.
 * A BullMQ job is tried once, and a stalled one (its worker gone) is failed, never run again.
 *
 * Fencing: each heartbeat PostgreSQL stores renews the worker's lease (fence.ts, 3/4 of
 * WORKER_LOST_AFTER from the moment it was sent). When the lease runs out — the database cut off,
 * the process stopped — the worker fences itself before any sweeper may declare it lost: its runs
 * are killed (here, and by the guard process even if this one is frozen) and nothing more is
 * written for them. While its store does not answer it takes no job (the BullMQ worker is paused)
 * and gives back any it was about to claim. Once the store answers again it ends its fenced jobs
 * `lost` (if no sweeper did), takes a new lease and takes jobs again.
 */
export class RunWorker {
  readonly owner: JobOwner;
  readonly jobs: JobManager;
  private readonly channels: RedisChannels;
  private readonly queueStore: QueueStore;
  private worker: Worker | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private executed = 0;
  private readonly lease: Lease;
  /** Set while the worker does not take jobs (its store does not answer, or it is fenced). */
  private paused = false;
  private beating = false;

  constructor(private readonly opts: RunWorkerOptions) {
    const url = opts.config.queue.redisUrl;
    if (!url) throw new Error('the worker needs RUN_QUEUE=redis and REDIS_URL');
    if (!opts.store.queueStore) throw new Error('the worker needs JOBS_STORE=postgres');
    const base = newOwner();
    this.owner = { ...base, queued: true, worker: base.instance };
    this.channels = new RedisChannels(url, opts.log);
    this.queueStore = opts.store.queueStore();
    this.lease = new Lease(leaseMs(opts.config.queue.lostAfterMs), () => this.fence(), opts.log);
    const writable = () => this.lease.valid();
    this.jobs = new JobManager(
      {
        store: guardedStore(opts.store, writable), engine: opts.engine, config: opts.config, log: opts.log, secrets: opts.secrets, defaultNode: () => null, notices: this.channels,
        fence: { writable, watch: (pid) => this.lease.watch(pid) },
      },
      base,
    );
    this.channels.onCancel((id, reason) => {
      if (this.jobs.stopIfHere(id, reason)) opts.log.info({ job: id }, 'worker: canceling on request');
    });
  }

  get id(): string {
    return this.owner.instance;
  }

  get count(): number {
    return this.executed;
  }

  async start(): Promise<void> {
    const { config, log } = this.opts;
    this.lease.start();
    const sentAt = monotonicMs();
    await this.queueStore.registerWorker(this.owner, config.runner.maxConcurrent);
    this.lease.renew(sentAt);
    this.heartbeat = setInterval(() => void this.beat(), config.queue.heartbeatMs).unref();
    await this.jobs.start();
    this.worker = new Worker<QueuedJob>(
      QUEUE_NAME,
      async (job, token) => {
        const r = await this.jobs.execute(job.data, this.owner, (id, answer) => this.channels.setAnswer(id, answer));
        if (r === 'requeue') {
          // Back to the queue for another worker (or this one once its store answers), not failed.
          this.pause();
          await job.moveToWait(token);
          throw new WaitingError();
        }
        if (r === 'done') this.executed++;
        return r;
      },
      {
        connection: bullConnection(config.queue.redisUrl!, { maxRetriesPerRequest: null }),
        concurrency: config.runner.maxConcurrent,
        // A job whose worker stopped renewing its lock is failed, not given to another: runs are not idempotent.
        maxStalledCount: 0,
        removeOnComplete: { count: 0 },
        removeOnFail: { count: 0 },
      },
    );
    this.worker.on('error', (err) => log.warn({ err: err.message }, 'worker: run queue error (reconnecting)'));
    this.worker.on('failed', (job, err) => log.warn({ job: job?.id, err: err.message }, 'worker: queue job failed'));
    log.info({ worker: this.id, concurrency: config.runner.maxConcurrent }, 'worker: taking runs from the queue');
  }

  /** The lease ran out: the runs are killed, nothing more is written for them, no job is taken. */
  private fence(): void {
    const { lostAfterMs } = this.opts.config.queue;
    const reason = `worker ${this.id} (process ${this.owner.pid} on ${this.owner.host}) fenced itself: no heartbeat stored for its lease of ${this.lease.ms / 1000} s (WORKER_LOST_AFTER ${lostAfterMs / 1000} s); its run was killed`;
    this.pause();
    const jobs = this.jobs.fence(reason);
    this.opts.log.error({ worker: this.id, jobs }, 'worker: fenced (lease ran out): runs killed, nothing more written for them');
  }

  private pause(): void {
    if (this.paused || !this.worker) return;
    this.paused = true;
    void this.worker.pause(true).catch(() => undefined);
  }

  private resume(): void {
    if (!this.paused || !this.worker) return;
    this.paused = false;
    this.worker.resume();
  }

  /**
   * One heartbeat: renews the lease when PostgreSQL stores it in time. When the database says the
   * lease had expired, or it ran out meanwhile, the worker is fenced and recovers: what it held ends
   * lost, then a new lease. A store that does not answer: no job is taken until it does.
   */
  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    const { config, log } = this.opts;
    const sentAt = monotonicMs();
    try {
      if (this.lease.valid()) {
        if (!(await this.queueStore.heartbeat(this.id, config.queue.lostAfterMs))) {
          log.error({ worker: this.id }, 'worker: the database has its heartbeat older than WORKER_LOST_AFTER');
          this.lease.expire();
        } else if (this.lease.valid()) {
          this.lease.renew(sentAt);
          this.resume();
          return;
        }
      }
      await this.recover();
      this.resume();
    } catch (err) {
      if (!this.paused) log.warn({ err }, 'worker: heartbeat not stored; taking no job until the job store answers');
      this.pause();
    } finally {
      this.beating = false;
    }
  }

  /**
   * After a fence, with the store answering again: the jobs this worker claimed and no longer runs
   * (fenced, or claimed while the store's answer was lost) end lost unless a sweeper ended them
   * already; then a new lease.
   */
  private async recover(): Promise<void> {
    const { config, log } = this.opts;
    for (const job of await this.queueStore.jobsOfWorker(this.id)) {
      if (this.jobs.runsHere(job.id)) continue;
      const reason = `worker ${this.id} (process ${this.owner.pid} on ${this.owner.host}) fenced itself: no heartbeat stored for its lease of ${this.lease.ms / 1000} s (WORKER_LOST_AFTER ${config.queue.lostAfterMs / 1000} s) while the job was ${job.status}; its run was killed`;
      if (await this.queueStore.markLost(job.id, reason)) {
        this.channels.stored(job.id, job.event_count + 1, true);
        log.warn({ job: job.id }, 'worker: a fenced job marked lost');
      }
    }
    const sentAt = monotonicMs();
    await this.queueStore.registerWorker(this.owner, config.runner.maxConcurrent);
    this.lease.renew(sentAt);
    log.warn({ worker: this.id }, 'worker: new lease; taking jobs again');
  }

  /** Takes no new job, lets the running ones end (the engine's shutdown grace, then canceled), records them, leaves. */
  async close(): Promise<void> {
    const closing = this.worker?.close();
    await this.opts.engine.close();
    await closing?.catch(() => undefined);
    await this.jobs.close();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.lease.close();
    await this.queueStore.retireWorker(this.id).catch(() => undefined);
    await this.channels.close();
    retireOwner(this.owner);
  }
}
