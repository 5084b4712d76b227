import { EventEmitter, once } from 'node:events';
import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { QueueFullError, RunQueueUnavailableError } from '../errors.js';
import type { JobNotices, NoticeWatch, QueuedJob, RunQueue } from './context.js';

/** The BullMQ queue every instance and worker shares. */
export const QUEUE_NAME = 'r42-runs';
const EVENTS_CHANNEL = 'r42:job-events';
const CANCEL_CHANNEL = 'r42:job-cancel';
const ANSWER_KEY = (id: string) => `r42:answer:${id}`;
/** The unredacted synchronous answer is kept this long (seconds) for the instance waiting for it. */
const ANSWER_TTL_S = 60;
/** A Redis command that gets no answer in this time: the queue is unavailable (503). */
const COMMAND_TIMEOUT_MS = 3000;
/** An estimate of a run's duration, for Retry-After when the queue is full. */
const RUN_ESTIMATE_S = 2;

/** ioredis options from a redis:// or rediss:// URL (user, password, database number, TLS). */
export function redisOptions(url: string): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db && /^\d+$/.test(db) ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    connectTimeout: COMMAND_TIMEOUT_MS,
    // Reconnects for ever, at most every 2 s: a Redis that comes back is used again without a restart.
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
  };
}

/** host:port of a Redis URL, for messages (never the password). */
export function redisWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'redis';
  }
}

/** A Redis step bounded in time; a failure or no answer is RunQueueUnavailableError (503 with Retry-After). */
export async function bounded<T>(what: string, where: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${COMMAND_TIMEOUT_MS / 1000} s`)), COMMAND_TIMEOUT_MS))),
    ]);
  } catch (err) {
    throw new RunQueueUnavailableError(`Redis ${where} unreachable (${what}: ${(err as Error).message})`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What processes say to each other through Redis (pub/sub, and short-lived keys): "events of job
 * X are stored up to seq N" (followers and waiting requests on any instance wake at once), "cancel
 * job X" (the worker holding it stops it), and the synchronous answer a worker leaves for the
 * instance that waits for it. Everything here is a hint or a shortcut: the job store stays the
 * source of truth, so a message lost while Redis is down only delays (followers also read the
 * store every NOTICED_POLL_MS). ioredis reconnects and subscribes again by itself.
 */
export class RedisChannels implements JobNotices {
  readonly where: string;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly watched = new Map<string, { version: number; wake: EventEmitter; refs: number }>();
  private readonly cancels = new EventEmitter();

  constructor(url: string, private readonly log: Logger) {
    this.where = redisWhere(url);
    const opts = redisOptions(url);
    // Fails fast while Redis is away (a 503, not a request hanging in a queue).
    this.pub = new Redis({ ...opts, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
    this.sub = new Redis({ ...opts, maxRetriesPerRequest: null });
    for (const c of [this.pub, this.sub]) c.on('error', () => undefined);
    void this.sub.subscribe(EVENTS_CHANNEL, CANCEL_CHANNEL).catch((err: unknown) => log.warn({ err }, 'run queue: subscribing failed (retried on reconnect)'));
    this.sub.on('message', (channel: string, text: string) => {
      let m: { id?: unknown; reason?: unknown };
      try {
        m = JSON.parse(text) as typeof m;
      } catch {
        return;
      }
      if (typeof m.id !== 'string') return;
      if (channel === EVENTS_CHANNEL) {
        const w = this.watched.get(m.id);
        if (w) {
          w.version++;
          w.wake.emit('notice');
        }
      } else if (channel === CANCEL_CHANNEL) this.cancels.emit('cancel', m.id, typeof m.reason === 'string' ? m.reason : 'canceled by request');
    });
  }

  stored(jobId: string, seq: number, final: boolean): void {
    this.pub.publish(EVENTS_CHANNEL, JSON.stringify({ id: jobId, seq, final })).catch(() => undefined);
  }

  watch(jobId: string): NoticeWatch {
    let w = this.watched.get(jobId);
    if (!w) {
      w = { version: 0, wake: new EventEmitter().setMaxListeners(0), refs: 0 };
      this.watched.set(jobId, w);
    }
    w.refs++;
    const entry = w;
    let closed = false;
    return {
      version: () => entry.version,
      // A notice, or `ms` gone (AbortSignal.timeout's timer does not hold the process open).
      changed: async (since, ms) => {
        if (entry.version > since) return;
        await once(entry.wake, 'notice', { signal: AbortSignal.timeout(ms) }).catch(() => undefined);
      },
      close: () => {
        if (closed) return;
        closed = true;
        if (--entry.refs === 0) this.watched.delete(jobId);
      },
    };
  }

  async cancel(jobId: string, reason: string): Promise<void> {
    await bounded('publish', this.where, this.pub.publish(CANCEL_CHANNEL, JSON.stringify({ id: jobId, reason })));
  }

  onCancel(listener: (jobId: string, reason: string) => void): void {
    this.cancels.on('cancel', listener);
  }

  async setAnswer(jobId: string, answer: Record<string, unknown>): Promise<void> {
    await bounded('set', this.where, this.pub.set(ANSWER_KEY(jobId), JSON.stringify(answer), 'EX', ANSWER_TTL_S));
  }

  async answer(jobId: string): Promise<Record<string, unknown> | null> {
    const text = await bounded('get', this.where, this.pub.get(ANSWER_KEY(jobId)));
    return text ? (JSON.parse(text) as Record<string, unknown>) : null;
  }

  async ping(): Promise<void> {
    await bounded('ping', this.where, this.pub.ping());
  }

  async close(): Promise<void> {
    this.cancels.removeAllListeners();
    await Promise.all([this.pub.quit().catch(() => this.pub.disconnect()), this.sub.quit().catch(() => this.sub.disconnect())]);
  }
}

/** BullMQ's connection options for a Redis URL (BullMQ makes its own clients from them). */
export function bullConnection(url: string, extra: RedisOptions = {}): ConnectionOptions {
  return { ...redisOptions(url), ...extra } as ConnectionOptions;
}

/**
 * The API side of RUN_QUEUE=redis: jobs go to the BullMQ queue `r42-runs` (attempts 1, removed
 * once over: a run is never tried again), bounded globally at RUNNER_MAX_QUEUED waiting jobs.
 */
export class RedisRunQueue implements RunQueue {
  readonly kind = 'redis';
  private readonly queue: Queue;
  readonly notices: RedisChannels;

  constructor(
    url: string,
    private readonly limits: { maxQueued: number; maxConcurrent: number },
    log: Logger,
  ) {
    this.notices = new RedisChannels(url, log);
    this.queue = new Queue(QUEUE_NAME, {
      connection: bullConnection(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
      defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: true },
    });
    this.queue.on('error', () => undefined);
  }

  private get where(): string {
    return this.notices.where;
  }

  async room(): Promise<void> {
    const waiting = await bounded('count', this.where, this.queue.getWaitingCount());
    if (waiting >= this.limits.maxQueued) {
      throw new QueueFullError(Math.max(1, Math.ceil((waiting + 1) / this.limits.maxConcurrent) * RUN_ESTIMATE_S));
    }
  }

  async enqueue(job: QueuedJob): Promise<void> {
    await bounded('add', this.where, this.queue.add('run', job, { jobId: job.id }));
  }

  async remove(jobId: string): Promise<void> {
    await bounded('remove', this.where, this.queue.remove(jobId)).catch(() => undefined);
  }

  state(jobId: string): Promise<string> {
    return bounded('state', this.where, this.queue.getJobState(jobId));
  }

  cancel(jobId: string, reason: string): Promise<void> {
    return this.notices.cancel(jobId, reason);
  }

  answer(jobId: string): Promise<Record<string, unknown> | null> {
    return this.notices.answer(jobId);
  }

  async ping(): Promise<void> {
    await this.notices.ping();
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.close().catch(() => undefined), this.notices.close()]);
  }
}
