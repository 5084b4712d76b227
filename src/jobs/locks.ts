import { LockConflictError } from '../errors.js';
import type { LockStore, VmTarget } from './types.js';

interface Waiter {
  jobId: string;
  resolve: () => void;
}

interface Entry {
  holder: string;
  waiters: Waiter[];
}

export const lockKey = (t: VmTarget) => `${t.node}\u0000${t.vmid}`;

/** Targets without duplicates, in the one global order every job takes its locks in. */
export function lockOrder(targets: readonly VmTarget[]): VmTarget[] {
  const seen = new Map<string, VmTarget>();
  for (const t of targets) seen.set(lockKey(t), { node: t.node, vmid: t.vmid });
  return [...seen.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.vmid - b.vmid));
}

/**
 * Per-VM locks in the process, keyed by (node, vmid), held by job ids. A job takes all its locks one by one in
 * the global order (node name, then VM id): two jobs wanting overlapping sets always meet on the
 * first VM they share, so neither can hold what the other waits for while waiting itself — no
 * deadlock. Each lock is handed to its waiters first come, first served. A job that cannot get
 * everything before its deadline gives back what it took and learns who holds the lock it waited on.
 */
export class VmLocks implements LockStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();

  /** Who holds the lock on a VM, if anyone. */
  holderOf(t: VmTarget): string | null {
    return this.entries.get(lockKey(t))?.holder ?? null;
  }

  async holder(t: VmTarget): Promise<string | null> {
    return this.holderOf(t);
  }

  /** Nothing to sweep: a lock in the process goes with its job. */
  async sweep(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    // nothing to release: the jobs gave their locks back as they ended
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Takes every lock of `targets` for `jobId`, waiting at most `waitMs` in all; resolves with a
   * release function, or rejects with LockConflictError (holding nothing).
   */
  async acquire(jobId: string, targets: readonly VmTarget[], waitMs: number): Promise<() => void> {
    const ordered = lockOrder(targets);
    const taken: VmTarget[] = [];
    const deadline = Date.now() + waitMs;
    try {
      for (const t of ordered) {
        await this.take(jobId, t, deadline);
        taken.push(t);
      }
    } catch (err) {
      for (const t of taken.reverse()) this.release(jobId, t);
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const t of [...ordered].reverse()) this.release(jobId, t);
    };
  }

  private take(jobId: string, t: VmTarget, deadline: number): Promise<void> {
    const key = lockKey(t);
    const entry = this.entries.get(key);
    if (!entry) {
      this.entries.set(key, { holder: jobId, waiters: [] });
      return Promise.resolve();
    }
    if (entry.holder === jobId) return Promise.resolve();
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.reject(new LockConflictError(t, entry.holder));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        jobId,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const e = this.entries.get(key);
        if (e) e.waiters = e.waiters.filter((w) => w !== waiter);
        reject(new LockConflictError(t, e?.holder ?? 'unknown'));
      }, remaining);
      entry.waiters.push(waiter);
    });
  }

  private release(jobId: string, t: VmTarget): void {
    const key = lockKey(t);
    const entry = this.entries.get(key);
    if (!entry || entry.holder !== jobId) return;
    const next = entry.waiters.shift();
    if (!next) {
      this.entries.delete(key);
      return;
    }
    entry.holder = next.jobId;
    next.resolve();
  }
}
