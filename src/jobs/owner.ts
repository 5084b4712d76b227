import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, processesNaming, signal, statFields } from '../engine/process-tree.js';
import type { JobOwner, JobRunInfo } from './types.js';

let bootId: string | null = null;
function currentBootId(): string {
  if (bootId === null) {
    try {
      bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = 'unknown-boot';
    }
  }
  return bootId;
}

/** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or null. */
function startTicks(pid: number): string | null {
  try {
    return statFields(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))[19] ?? null;
  } catch {
    return null;
  }
}

const processStart = (pid: number): string | null => {
  const ticks = startTicks(pid);
  return ticks === null ? null : `${currentBootId()}:${ticks}`;
};

/** Service instances alive in this process (tests run several apps in one process). */
const liveInstances = new Set<string>();

export function newOwner(): JobOwner {
  const owner: JobOwner = { host: os.hostname(), pid: process.pid, start: processStart(process.pid) ?? 'unknown', instance: randomUUID() };
  liveInstances.add(owner.instance);
  return owner;
}

export function retireOwner(owner: JobOwner): void {
  liveInstances.delete(owner.instance);
}

/**
 * Whether the instance that owns a job may still be running it: same process → that instance is
 * open; same host → the pid is alive and is the same process (start time), not a reused pid.
 * Another host cannot be checked from here: its jobs are left alone.
 */
export function ownerAlive(owner: JobOwner): boolean {
  if (owner.host !== os.hostname()) return true;
  if (owner.pid === process.pid && owner.start === processStart(process.pid)) return liveInstances.has(owner.instance);
  return isAlive(owner.pid) && processStart(owner.pid) === owner.start;
}

/** Pids whose command line (ansible-runner's --ident) or environment (ansible-playbook's) names the run. */
export const processesOfRun = (runId: string): number[] => processesNaming(runId, ['cmdline', 'environ']);

/**
 * What a run of a dead service left behind: its processes (ansible-runner and ansible-playbook
 * live in sessions of their own and survive the service) and its private directory.
 * Returns the pids killed.
 */
export function cleanUpRun(run: JobRunInfo): number[] {
  const pids = processesOfRun(run.run_id);
  for (const pid of pids) signal(pid, 'SIGKILL');
  if (run.private_dir && path.isAbsolute(run.private_dir) && path.basename(run.private_dir).startsWith('r42-run-')) {
    fs.rmSync(run.private_dir, { recursive: true, force: true });
  }
  return pids;
}
