import { EventEmitter, once } from 'node:events';
import { LockConflictError } from '../errors.js';
import { lockKey, lockOrder } from './locks.js';
import type { PgDatabase } from './pg.js';
import type { LockStore, VmTarget } from './types.js';

/** How often an instance says it still holds its locks (vm_locks.heartbeat_at). */
export const LOCK_HEARTBEAT_MS = 10_000;
/** Locks whose instance has not said so for this long are given back by the next sweep. */
export const LOCK_STALE_MS = 120_000;
/** A request waiting for a VM another instance holds looks again this often. */
const POLL_MS = 100;
/** A release the database refused is tried again this often until it goes through. */
const RELEASE_RETRY_MS = 1000;

/**
 * Per-VM locks in PostgreSQL (table vm_locks, one row per locked (node, vmid): the holding job, the
 * instance that took it, acquired_at, heartbeat_at), so every instance sharing the database sees
 * every lock: a request through one instance for a VM a job of another holds waits, then gets the
 * 409 naming the holder, as with the locks in the process. Taking a lock is one INSERT ... ON
 * CONFLICT DO NOTHING (atomic: two instances never both get it); the order is lockOrder's, so two
 * jobs wanting overlapping sets cannot deadlock. Waiters of this instance wake as soon as a lock is
 * given back here; for another instance's, they look again every POLL_MS (no FIFO across instances).
 *
 * A lock is given back when its job ends; a release the database refused (unreachable) is tried
 * again every second until it answers. sweep() (the jobs' maintenance, every minute) gives back locks whose
 * job is over (lost included) and those of an instance that stopped its heartbeat
 * LOCK_STALE_MS ago (a dead process, on this host or another).
 */
export class PgVmLocks implements LockStore {
  readonly kind = 'postgres';
  /** This instance's locks: lock key → job id. */
  private readonly held = new Map<string, string>();
  /** Jobs whose locks could not be given back yet. */
  private readonly unreleased = new Set<string>();
  private readonly released = new EventEmitter().setMaxListeners(0);
  private readonly timer: NodeJS.Timeout;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly db: PgDatabase,
    /** The instance (JobOwner.instance) the locks are taken for. */
    readonly owner: string,
    heartbeatMs = LOCK_HEARTBEAT_MS,
  ) {
    this.timer = setInterval(() => void this.heartbeat(), heartbeatMs).unref();
  }

  holderOf(t: VmTarget): string | null {
    return this.held.get(lockKey(t)) ?? null;
  }

  async holder(t: VmTarget): Promise<string | null> {
    const r = await this.db.query<{ job_id: string }>('SELECT job_id FROM vm_locks WHERE node = $1 AND vmid = $2', [t.node, t.vmid], 'r42_lock_holder');
    return r.rows[0]?.job_id ?? null;
  }

  async acquire(jobId: string, targets: readonly VmTarget[], waitMs: number): Promise<() => void> {
    const ordered = lockOrder(targets);
    const deadline = Date.now() + waitMs;
    let taken = 0;
    try {
      for (const t of ordered) {
        await this.take(jobId, t, deadline);
        taken++;
      }
    } catch (err) {
      if (taken > 0) this.release(jobId);
      throw err;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.release(jobId);
    };
  }

  private async take(jobId: string, t: VmTarget, deadline: number): Promise<void> {
    for (;;) {
      const got = await this.db.query(
        'INSERT INTO vm_locks (node, vmid, job_id, owner) VALUES ($1, $2, $3, $4) ON CONFLICT (node, vmid) DO NOTHING RETURNING job_id',
        [t.node, t.vmid, jobId, this.owner],
        'r42_lock_take',
      );
      const holder = got.rowCount ? jobId : await this.holder(t);
      if (holder === null) continue; // given back in between: try again
      if (holder === jobId) {
        this.held.set(lockKey(t), jobId);
        return;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new LockConflictError(t, holder);
      await this.nextChance(Math.min(remaining, POLL_MS));
    }
  }

  /** Resolves when this instance gives a lock back, or after `ms`. */
  private nextChance(ms: number): Promise<void> {
    return once(this.released, 'released', { signal: AbortSignal.timeout(ms) }).then(() => undefined, () => undefined);
  }

  forget(jobId: string): void {
    for (const [key, holder] of this.held) if (holder === jobId) this.held.delete(key);
  }

  /** Gives back every lock of a job (at once in this instance's view; in the database as soon as it answers). */
  private release(jobId: string): void {
    for (const [key, holder] of this.held) if (holder === jobId) this.held.delete(key);
    this.unreleased.add(jobId);
    void this.flushReleases();
  }

  private async flushReleases(): Promise<void> {
    for (const jobId of [...this.unreleased]) {
      try {
        await this.db.query('DELETE FROM vm_locks WHERE job_id = $1', [jobId]);
        this.unreleased.delete(jobId);
        this.released.emit('released');
      } catch {
        // unreachable: tried again in a moment, until the database answers
        if (!this.retry && !this.closed) {
          this.retry = setTimeout(() => {
            this.retry = null;
            void this.flushReleases();
          }, RELEASE_RETRY_MS).unref();
        }
        return;
      }
    }
  }

  private async heartbeat(): Promise<void> {
    await this.flushReleases();
    if (this.held.size === 0) return;
    await this.db.query('UPDATE vm_locks SET heartbeat_at = now() WHERE owner = $1', [this.owner]).catch(() => undefined);
  }

  async sweep(): Promise<number> {
    const r = await this.db.query(
      `DELETE FROM vm_locks l
        WHERE l.heartbeat_at < now() - make_interval(secs => $1)
           OR EXISTS (SELECT 1 FROM jobs j WHERE j.id = l.job_id AND j.status NOT IN ('queued', 'running'))`,
      [LOCK_STALE_MS / 1000],
    );
    if (r.rowCount) this.released.emit('released');
    return r.rowCount ?? 0;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushReleases();
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }
}
