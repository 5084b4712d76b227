import { PveError } from '../errors.js';

/**
 * Proxmox worker tasks. An asynchronous call answers with a UPID at once; the work runs after the
 * configured duration (immediately by default), then the task is `stopped` with `exitstatus` "OK"
 * or the error text, and its log ends in `TASK OK` / `TASK ERROR: ...`.
 */
export interface Task {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
  endtime?: number;
  log: string[];
}

/**
 * Tasks that copy data take much longer on Proxmox than the ones that flip a state: a full clone,
 * a disk import (`import-from`), a disk move or a download runs for seconds to minutes. Each such
 * kind has its own duration so that a client which writes to a guest before such a task ended
 * meets the `lock` (and the `VM is locked (clone)` refusal) as it would on a real node.
 */
export type SlowTaskKind = 'clone' | 'import' | 'download';
export const SLOW_TASK_KINDS: readonly SlowTaskKind[] = ['clone', 'import', 'download'];

/** Unless set, a slow kind takes this many times the base duration (0 stays 0: the tests' instant tasks). */
export const SLOW_TASK_FACTOR = 6;

export type TaskDurations = Partial<Record<SlowTaskKind, number>>;

export interface TaskSpec {
  node: string;
  type: string;
  id: string;
  /** The authenticated principal: `user@realm` or `user@realm!token`. */
  user: string;
  /** A slow kind runs for its own duration (see `SlowTaskKind`); others for the base duration. */
  kind?: SlowTaskKind;
  /** Runs when the task "finishes"; throw to fail the task. Returns extra log lines. */
  work: (log: (line: string) => void) => void;
  /** Called before the work when the duration is not zero (e.g. to set a `lock`). */
  begin?: () => void;
  /** Called after the work whatever its outcome (e.g. to clear the `lock`). */
  end?: () => void;
}

export const UPID_PATTERN =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');

export class TaskManager {
  private readonly tasks = new Map<string, Task>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextPid = 0x1a000 + Math.floor(Math.random() * 0x10000);
  /** Keep the newest tasks only, as the task archive of a node rotates. */
  private readonly maxKept = 5000;

  /** Durations set explicitly per slow kind; the others follow the base duration. */
  private readonly kindDurations: TaskDurations = {};

  constructor(
    /** The base duration of every task. */
    public durationMs: number,
    /** Told whenever a task ends (state may have changed without a request). */
    private readonly onChange: () => void = () => undefined,
    kindDurations: TaskDurations = {},
  ) {
    this.setKindDurations(kindDurations);
  }

  /** How long a task of `kind` runs now. */
  durationOf(kind?: SlowTaskKind): number {
    if (!kind) return this.durationMs;
    return this.kindDurations[kind] ?? this.durationMs * SLOW_TASK_FACTOR;
  }

  /** Sets per-kind durations; `null` lets a kind follow the base duration again. */
  setKindDurations(durations: Partial<Record<SlowTaskKind, number | null>>): void {
    for (const kind of SLOW_TASK_KINDS) {
      const ms = durations[kind];
      if (ms === null) delete this.kindDurations[kind];
      else if (ms !== undefined) this.kindDurations[kind] = Math.max(0, ms);
    }
  }

  /** The durations in effect, for `/_sim/settings` and the CLI banner. */
  durations(): { taskDurationMs: number; taskDurationsMs: Record<SlowTaskKind, number> } {
    return {
      taskDurationMs: this.durationMs,
      taskDurationsMs: Object.fromEntries(SLOW_TASK_KINDS.map((k) => [k, this.durationOf(k)])) as Record<SlowTaskKind, number>,
    };
  }

  start(spec: TaskSpec): string {
    const pid = this.nextPid++;
    const starttime = Math.floor(Date.now() / 1000);
    const pstart = 0x1000000 + (pid % 0xffff);
    const upid = `UPID:${spec.node}:${hex8(pid)}:${hex8(pstart)}:${hex8(starttime)}:${spec.type}:${spec.id}:${spec.user}:`;
    const task: Task = {
      upid, node: spec.node, pid, pstart, starttime, type: spec.type, id: spec.id, user: spec.user,
      status: 'running', log: [],
    };
    this.remember(task);
    const duration = this.durationOf(spec.kind);
    if (duration <= 0) {
      this.finish(task, spec);
    } else {
      spec.begin?.();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.finish(task, spec);
      }, duration);
      this.timers.add(timer);
    }
    return upid;
  }

  get(upid: string): Task | undefined {
    return this.tasks.get(upid);
  }

  /** Newest first, as `GET /nodes/{node}/tasks` lists them. */
  list(node: string): Task[] {
    return [...this.tasks.values()].filter((t) => t.node === node).reverse();
  }

  /** `DELETE /nodes/{node}/tasks/{upid}`: a running task ends as interrupted. */
  stop(upid: string): void {
    const task = this.tasks.get(upid);
    if (task && task.status === 'running') this.conclude(task, 'unexpected status', 'TASK ERROR: interrupted by signal');
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  clear(): void {
    this.close();
    this.tasks.clear();
  }

  private finish(task: Task, spec: TaskSpec): void {
    if (task.status === 'stopped') return; // stopped by DELETE meanwhile
    try {
      spec.work((line) => task.log.push(line));
      this.conclude(task, 'OK', 'TASK OK');
    } catch (err) {
      const text = err instanceof PveError || err instanceof Error ? err.message : String(err);
      const flat = text.replace(/\s*\n\s*/g, ' ').trim();
      this.conclude(task, flat, `TASK ERROR: ${flat}`);
    } finally {
      spec.end?.();
    }
  }

  private conclude(task: Task, exitstatus: string, lastLine: string): void {
    task.status = 'stopped';
    task.exitstatus = exitstatus;
    task.endtime = Math.floor(Date.now() / 1000);
    task.log.push(lastLine);
    this.onChange();
  }

  private remember(task: Task): void {
    this.tasks.set(task.upid, task);
    if (this.tasks.size > this.maxKept) {
      const oldest = this.tasks.keys().next().value;
      if (oldest !== undefined) this.tasks.delete(oldest);
    }
  }
}
