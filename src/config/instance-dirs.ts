import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Private directories of one service process in the system temp dir (the VAULT_PASSWORD file,
 * the warm engine's socket): named after their owner, `<prefix><pid>-<start>-XXXXXX`, where
 * `<start>` is the process's start time in clock ticks since boot (/proc/<pid>/stat field 22),
 * so that a reused pid is not taken for the owner. A process killed by SIGKILL (or the OOM
 * killer) cannot remove its own: the next process that makes one with the same prefix removes
 * every one whose owner is gone. Those of live processes — two instances on one machine — are
 * never touched.
 */

/** The start time of `pid` in clock ticks since boot, or null (no such process, or no /proc). */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const OWNED = /^(\d+)-(\d+)-[A-Za-z0-9]{6}$/;

/** Whether the process that made a directory named `<pid>-<start>-…` still runs. */
function ownerAlive(pid: number, start: string): boolean {
  return processStartTicks(pid) === start;
}

/**
 * Removes the directories `<prefix><pid>-<start>-XXXXXX` of the temp dir whose owner process is
 * gone (only real directories of this user: a symlink or another user's entry is left alone).
 * Returns the paths removed.
 */
export function sweepDeadInstanceDirs(prefix: string, tmpDir = os.tmpdir()): string[] {
  const removed: string[] = [];
  // Without /proc no owner can be checked: nothing is removed.
  if (processStartTicks(process.pid) === null) return removed;
  let entries: string[];
  try {
    entries = fs.readdirSync(tmpDir);
  } catch {
    return removed;
  }
  const uid = process.getuid?.();
  for (const name of entries) {
    if (!name.startsWith(prefix)) continue;
    const m = OWNED.exec(name.slice(prefix.length));
    if (!m || ownerAlive(Number(m[1]), m[2]!)) continue;
    const dir = path.join(tmpDir, name);
    try {
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

/**
 * A new private directory (0700) of this process in the temp dir, named after it; the leftovers
 * of dead processes with the same prefix are removed first.
 */
export function makeInstanceDir(prefix: string, tmpDir = os.tmpdir()): string {
  sweepDeadInstanceDirs(prefix, tmpDir);
  const start = processStartTicks(process.pid) ?? '0';
  return fs.mkdtempSync(path.join(tmpDir, `${prefix}${process.pid}-${start}-`));
}

/** The prefixes of the service's instance directories: the vault password file's, the warm engine's socket's. */
export const INSTANCE_DIR_PREFIXES = ['r42-vault-', 'r42-warm-'] as const;

/** At startup: removes what dead service processes left in the temp dir; returns the paths removed. */
export function sweepDeadInstances(tmpDir = os.tmpdir()): string[] {
  return INSTANCE_DIR_PREFIXES.flatMap((prefix) => sweepDeadInstanceDirs(prefix, tmpDir));
}
