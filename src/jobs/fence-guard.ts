import { createInterface } from 'node:readline';
import { descendants, signal } from '../engine/process-tree.js';

/**
 * The fence guard of a worker (RUN_QUEUE=redis): a small process of its own, started by the worker
 * (fence.ts) in a process group of its own, that kills the worker's runs when the worker's lease
 * runs out — even when the worker itself cannot act (stopped by SIGSTOP, its event loop stuck).
 * It reads JSON lines on stdin:
 *   {"until": <CLOCK_MONOTONIC ms>}   the lease's end (the worker sends it on each renewal)
 *   {"watch": <pid>} / {"unwatch": <pid>}   a run's top process (its process group) and its tree
 * Once the monotonic clock passes `until`, every watched run's process group and every process
 * below it get SIGKILL, and a line {"fenced": [...]} goes to stdout. When stdin ends (the worker
 * exited, or died) the watched runs are killed the same way and the guard exits.
 */

const now = (): number => Number(process.hrtime.bigint() / 1_000_000n);
let until = Number.NEGATIVE_INFINITY;
const roots = new Set<number>();
let timer: NodeJS.Timeout | undefined;
let pending = false;

function killAll(why: string): void {
  if (roots.size === 0) return;
  const pids = [...roots];
  roots.clear();
  // The whole tree first (once a parent is dead its children hang from init), then the kills.
  const tree = [...new Set(pids.flatMap((p) => [p, ...descendants(p)]))];
  for (const p of tree) {
    signal(-p, 'SIGKILL');
    signal(p, 'SIGKILL');
  }
  process.stdout.write(`${JSON.stringify({ fenced: pids, killed: tree.length, why })}\n`);
}

function check(): void {
  clearTimeout(timer);
  if (roots.size === 0) return;
  const left = until - now();
  if (left <= 0) killAll('lease expired');
  // At the deadline, what already waits on stdin (a renewal sent in time) is read first: timers
  // run before I/O in an event-loop turn, setImmediate after it.
  else timer = setTimeout(() => setImmediate(check), left);
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  let m: { until?: unknown; watch?: unknown; unwatch?: unknown };
  try {
    m = JSON.parse(line) as typeof m;
  } catch {
    return;
  }
  if (typeof m.until === 'number') until = Math.max(until, m.until);
  if (typeof m.watch === 'number') roots.add(m.watch);
  if (typeof m.unwatch === 'number') roots.delete(m.unwatch);
  // Checked once everything already received is read: a `watch` may be followed in the same read
  // by renewals sent after it (the guard, slow to start, reads a backlog).
  if (!pending) {
    pending = true;
    setImmediate(() => {
      pending = false;
      check();
    });
  }
});
lines.on('close', () => {
  killAll('worker gone');
  process.exit(0);
});
// The worker's signals are the worker's: this process ends with its stdin.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => undefined);
