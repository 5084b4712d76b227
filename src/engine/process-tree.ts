import fs from 'node:fs';

/** Parent pid of every live process, read from /proc (Linux). */
function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // the process ended while we were reading
    }
  }
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
export function processesWithEnvironment(needle: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) out.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}
