import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

/** CLOCK_MONOTONIC in ms: the same clock in every process of the host (the guard's too), never set back. */
export const monotonicMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

/**
 * A worker's lease: how long after sending a heartbeat that PostgreSQL stored the worker may go on
 * acting without another. The sweepers declare a worker lost once its stored heartbeat is
 * WORKER_LOST_AFTER old; the stored time is later than the moment the worker sent it, so a lease
 * of 3/4 of WORKER_LOST_AFTER counted from the sending leaves a quarter of it (7.5 s by default,
 * 0.5 s with WORKER_LOST_AFTER=2) for the kill to land, a late timer and clock rate differences.
 */
export const leaseMs = (lostAfterMs: number): number => Math.floor((lostAfterMs * 3) / 4);

/**
 * The worker's side of fencing: the lease (renewed after each heartbeat PostgreSQL took), checked
 * synchronously before every write of a job (`valid()`), a timer at its end, and the guard process
 * (fence-guard.ts) that kills the runs at the same deadline when this process cannot (stopped,
 * stuck). `onExpire` runs once per expiry, the first time the end is noticed (timer or check).
 */
export class Lease {
  private deadline = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private guard: ChildProcess | null = null;
  private fired = true;
  private closed = false;
  private readonly watched = new Set<number>();

  constructor(
    readonly ms: number,
    private readonly onExpire: () => void,
    private readonly log: Logger,
  ) {}

  /** Starts the guard process. */
  start(): void {
    this.spawnGuard();
  }

  private spawnGuard(): void {
    const here = fileURLToPath(import.meta.url);
    const script = path.join(path.dirname(here), `fence-guard${path.extname(here)}`);
    const guard = spawn(process.execPath, [...process.execArgv, script], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
    this.guard = guard;
    guard.stdin!.on('error', () => undefined);
    guard.stdout!.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split('\n').filter(Boolean)) this.log.error({ guard: line }, 'worker: fence guard killed runs');
    });
    guard.once('exit', (code, sig) => {
      if (this.closed) return;
      this.log.error({ code, signal: sig }, 'worker: fence guard ended; starting another');
      this.spawnGuard();
      this.send({ until: this.deadline });
      for (const pid of this.watched) this.send({ watch: pid });
    });
    guard.unref();
    (guard.stdout as unknown as { unref?: () => void }).unref?.();
  }

  private send(m: Record<string, number>): void {
    if (!Number.isFinite(m.until ?? 0)) return;
    this.guard?.stdin?.write(`${JSON.stringify(m)}\n`);
  }

  /** A heartbeat sent at `sentAt` (monotonicMs) was stored: the lease runs until sentAt + ms. */
  renew(sentAt: number): void {
    const deadline = sentAt + this.ms;
    if (deadline <= this.deadline) return;
    this.deadline = deadline;
    this.fired = false;
    this.send({ until: deadline });
    if (this.timer) clearTimeout(this.timer);
    // setImmediate: a heartbeat answer already received is handled first (timers run before I/O).
    this.timer = setTimeout(() => setImmediate(() => this.valid()), Math.max(0, deadline - monotonicMs()) + 1).unref();
  }

  /** Whether the lease still holds; when it has just run out, fences first (onExpire). */
  valid(): boolean {
    if (monotonicMs() < this.deadline) return true;
    if (!this.fired) {
      this.fired = true;
      this.onExpire();
    }
    return false;
  }

  /** Ends the lease at once (the database said it had expired): fences if not done yet. */
  expire(): void {
    this.deadline = Math.min(this.deadline, monotonicMs());
    this.valid();
  }

  /** A run's top process (and its process group and tree), killed by the guard when the lease ends. */
  watch(pid: number): () => void {
    this.watched.add(pid);
    this.send({ watch: pid });
    return () => {
      this.watched.delete(pid);
      this.send({ unwatch: pid });
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.guard?.stdin?.end();
  }
}
