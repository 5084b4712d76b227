import fs from 'node:fs';
import os from 'node:os';

/**
 * The one /proc scanner (Linux): calls `visit` with every live process but this one and a reader
 * of its /proc files. A process that ends, or is not ours to read, while it is visited is skipped.
 */
function forEachProcess(visit: (pid: number, read: (file: string) => string) => void): void {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      visit(Number(entry), (file) => fs.readFileSync(`/proc/${entry}/${file}`, 'latin1'));
    } catch {
      // gone, or not ours to read
    }
  }
}

/**
 * Pids whose /proc `files` (e.g. cmdline, environ) contain `needle`. Their NUL separators read as
 * spaces, so a needle may span arguments (`sleep 5123`).
 */
export function processesNaming(needle: string, files: readonly string[]): number[] {
  const out: number[] = [];
  const names = (text: string) => text.replace(/\0/g, ' ').includes(needle);
  forEachProcess((pid, read) => {
    if (files.some((f) => { try { return names(read(f)); } catch { return false; } })) out.push(pid);
  });
  return out;
}

/**
 * The fields of a /proc/<pid>/stat text after the command name, from field 3 (state) on: the
 * name (field 2) may contain spaces and parentheses, so parsing starts after the last ')'.
 * Field n of proc(5) is index n - 3.
 */
export const statFields = (stat: string): string[] => stat.slice(stat.lastIndexOf(')') + 2).split(' ');

/** Parent pid of every live process. */
function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  forEachProcess((pid, read) => parents.set(pid, Number(statFields(read('stat'))[1])));
  return parents;
}

/** The pids below `root`, deepest last. ansible-playbook runs in its own session, so a
 *  process-group kill of ansible-runner would not reach it; walking parent links does. */
export function descendants(root: number): number[] {
  const parents = parentMap();
  const out: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const p = frontier.shift()!;
    for (const [pid, ppid] of parents) {
      if (ppid === p) {
        out.push(pid);
        frontier.push(pid);
      }
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Pids whose environment contains `needle`. ansible-runner gives ansible-playbook the run's
 * artifact directory (named after the run id) in its environment, and ansible-playbook runs in a
 * session of its own: this finds it even when the runner died before reporting its pid.
 */
export const processesWithEnvironment = (needle: string): number[] => processesNaming(needle, ['environ']);

/**
 * Pids of the process groups or sessions led by `ids` (a playbook process leads both: ptyprocess
 * makes it a session leader), in one walk of /proc. Its forked workers stay in them after it
 * dies, orphaned to pid 1, where no walk of parent links finds them.
 */
export function groupMembers(ids: readonly number[]): number[] {
  const out: number[] = [];
  if (ids.length === 0) return out;
  const leaders = new Set(ids);
  forEachProcess((pid, read) => {
    const f = statFields(read('stat'));
    if (leaders.has(Number(f[2])) || leaders.has(Number(f[3]))) out.push(pid);
  });
  return out;
}

/** Running: alive and not a zombie (a zombie is dead, only waiting for its parent to reap it). */
export function isRunning(pid: number): boolean {
  try {
    return statFields(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'))[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves once none of `pids` runs any more, or after `timeoutMs`; the pids still running. */
export async function waitGone(pids: Iterable<number>, timeoutMs: number): Promise<number[]> {
  let left = [...pids].filter(isRunning);
  const end = Date.now() + timeoutMs;
  while (left.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 10));
    left = left.filter(isRunning);
  }
  return left;
}

/** `SIGKILL` for 9; `signal 77` for a number Node does not name. */
export function signalName(n: number): string {
  const name = Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0];
  return name ?? `signal ${n}`;
}
