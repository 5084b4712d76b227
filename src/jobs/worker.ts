import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import type { Engine } from '../engine/engine.js';
import type { QueuedJob } from './context.js';
import { guardedStore } from './execute.js';
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
 */
export class RunWorker {
  readonly owner: JobOwner;
  readonly jobs: JobManager;
  private readonly channels: RedisChannels;
  private readonly queueStore: QueueStore;
  private worker: Worker | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private executed = 0;

  constructor(private readonly opts: RunWorkerOptions) {
    const url = opts.config.queue.redisUrl;
    if (!url) throw new Error('the worker needs RUN_QUEUE=redis and REDIS_URL');
    if (!opts.store.queueStore) throw new Error('the worker needs JOBS_STORE=postgres');
    const base = newOwner();
    this.owner = { ...base, queued: true, worker: base.instance };
    this.channels = new RedisChannels(url, opts.log);
    this.queueStore = opts.store.queueStore();
    this.jobs = new JobManager(
      { store: guardedStore(opts.store), engine: opts.engine, config: opts.config, log: opts.log, secrets: opts.secrets, defaultNode: () => null, notices: this.channels },
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
    await this.queueStore.registerWorker(this.owner, config.runner.maxConcurrent);
    this.heartbeat = setInterval(() => {
      this.queueStore.heartbeat(this.id).catch((err: unknown) => log.warn({ err }, 'worker: heartbeat not stored'));
    }, config.queue.heartbeatMs).unref();
    await this.jobs.start();
    this.worker = new Worker<QueuedJob>(
      QUEUE_NAME,
      async (job) => {
        const r = await this.jobs.execute(job.data, this.owner, (id, answer) => this.channels.setAnswer(id, answer));
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

  /** Takes no new job, lets the running ones end (the engine's shutdown grace, then canceled), records them, leaves. */
  async close(): Promise<void> {
    const closing = this.worker?.close();
    await this.opts.engine.close();
    await closing?.catch(() => undefined);
    await this.jobs.close();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.queueStore.retireWorker(this.id).catch(() => undefined);
    await this.channels.close();
    retireOwner(this.owner);
  }
}
