import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { toUnsafeYaml } from './extravars.js';
import { descendants, groupMembers, isAlive, processesWithEnvironment, signal, signalName, waitGone } from './process-tree.js';
import type { RunResult, RunSpec, RunStatus, RunnerEvent } from './types.js';
import type { WarmServer } from './warm/client.js';

export type EngineKind = 'ansible-runner' | 'warm';

export interface RunEnvironment {
  bin: string;
  tmpDir: string;
  cancelGraceMs: number;
  defaultTimeoutMs: number;
  vaultPasswordFile: string | null;
  vaultFile: string | null;
  /** The child's environment, already stripped of secrets. */
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** `warm`: the run goes to the warm server (src/engine/warm/), with the same arguments. */
  engine?: EngineKind;
  warm?: WarmServer | null;
}

/** The run's top process: ansible-runner spawned, or the warm server's forked run process. */
interface RunProcess {
  pid: number | undefined;
  alive(): boolean;
  kill(sig: NodeJS.Signals): void;
}

export type RunState = 'queued' | 'running' | 'finished';

/** Runs ansible-runner's script and records how its playbook process ended (see the file). */
const RUNNER_EXIT_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'runner_exit.py');
/** The plain engine's report of how the playbook ended, in the run's private directory. */
const PLAYBOOK_EXIT_FILE = 'r42-playbook-exit.json';
/** How long the end of a run waits for the processes it killed to be gone. */
const KILL_WAIT_MS = 5000;

/**
 * The Python interpreter of ansible-runner's script when its #! line names one by absolute path
 * (Debian's: /usr/bin/python3): the plain engine then runs the script through runner_exit.py in
 * that interpreter. Otherwise (a binary, `#!/usr/bin/env`) null: the script is spawned as is.
 */
export function runnerInterpreter(runnerBin: string): string | null {
  try {
    const first = fs.readFileSync(runnerBin, 'latin1').slice(0, 256).split('\n', 1)[0] ?? '';
    const m = /^#!\s*(\/\S*\/python[0-9.]*)\s*$/.exec(first);
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}
type StopReason = 'canceled' | 'timeout';

/** POSIX shell quoting: ansible-runner shell-splits its --cmdline value. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * One ansible-runner execution in its own private data directory.
 *
 * Emits `event` for every job event as ansible-runner prints it (`-j`), so callers can follow
 * progress live; `started` when it leaves the queue (possibly inside Engine.start), `spawn`
 * ({pid, privateDir}) once ansible-runner exists (what a cleanup needs should the service die
 * mid-run); `done` resolves with the final answer built from the artifacts directory, which
 * also holds the verbose events (an `ERROR!` before the play starts) that `-j` prints as raw text.
 * The private directory — including artifacts/<id>/command, which records the whole environment —
 * is deleted whatever happens.
 */
export class Run extends EventEmitter {
  readonly id = randomUUID();
  readonly spec: RunSpec;
  readonly createdAt = Date.now();
  readonly done: Promise<RunResult>;
  state: RunState = 'queued';
  private startedAt = 0;
  private child: RunProcess | null = null;
  /** warm: the playbook process ran in the warm interpreter (`warm`) or exec'ed ansible-playbook (`exec`). */
  playbookMode: string | null = null;
  /** warm, mode `exec`: why the warm interpreter was not used. */
  playbookWhy: string | null = null;
  /** warm: why the run ended without ansible-runner's exit status (its server died, ...). */
  private lostReason: string | null = null;
  private stopReason: StopReason | null = null;
  private playbookPid: number | null = null;
  /** The signal that ended the playbook process (pexpect's signalstatus), when one did. */
  private playbookSignal: number | null = null;
  private doomed: number[] = [];
  private timers: NodeJS.Timeout[] = [];
  private settle!: (r: RunResult) => void;

  constructor(spec: RunSpec, private readonly ctx: RunEnvironment) {
    super();
    this.spec = spec;
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  /** Stops the run: a queued run never starts; a running one gets SIGTERM, then SIGKILL on its tree. */
  cancel(reason: StopReason = 'canceled'): void {
    if (this.state === 'finished' || this.stopReason) return;
    this.stopReason = reason;
    if (this.state === 'queued') this.finish({ rc: 254, status: reason, events: [] });
    else this.terminate();
  }

  /**
   * Fencing (a worker whose lease ran out): the whole tree gets SIGKILL now, no grace — nothing of
   * the run may act any more. The run ends canceled.
   */
  kill(): void {
    if (this.state === 'finished') return;
    this.stopReason ??= 'canceled';
    if (this.state === 'queued') return this.finish({ rc: 254, status: this.stopReason, events: [] });
    const child = this.child;
    if (!child?.pid) {
      this.abortWarm?.();
      return;
    }
    this.doomed = descendants(child.pid);
    if (this.playbookPid) this.doomed.push(this.playbookPid);
    this.killTree();
  }

  /** Once the process exists (cancel may come while the private directory is being prepared). */
  private terminate(): void {
    const child = this.child;
    if (this.stopReason && !child?.pid) this.abortWarm?.();
    if (!child?.pid || !this.stopReason) return;
    // ansible-runner answers SIGTERM by killing ansible-playbook's process group and writing
    // status=canceled. Remember the tree now: once the runner is gone its children are orphans.
    this.doomed = descendants(child.pid);
    if (this.playbookPid) this.doomed.push(this.playbookPid);
    child.kill('SIGTERM');
    this.timers.push(setTimeout(() => this.killTree(), this.ctx.cancelGraceMs).unref());
  }

  /** Called by the engine when a slot is free. Resolves after the private directory is gone. */
  async execute(): Promise<RunResult> {
    if (this.state !== 'queued') return this.done;
    this.state = 'running';
    this.startedAt = Date.now();
    this.emit('started');
    let privateDir: string | null = null;
    let outcome: Omit<RunResult, 'id' | 'queuedMs' | 'durationMs'>;
    try {
      privateDir = await fs.promises.mkdtemp(path.join(this.ctx.tmpDir, 'r42-run-'));
      const args = await this.prepare(privateDir);
      const exit = this.ctx.engine === 'warm' && this.ctx.warm ? await this.warmAndWait(args, privateDir) : await this.spawnAndWait(args, privateDir);
      const fromDisk = await readArtifactEvents(path.join(privateDir, 'artifacts', this.id));
      outcome = { ...exit, events: fromDisk ?? exit.events };
      const killed = this.stopReason || this.lostReason ? null : await this.abnormalEnd(privateDir);
      // A stopped run's log ends wherever Ansible was: say why it ends there.
      if (this.stopReason) outcome.events = [...outcome.events, verboseEvent(this.stopText())];
      else if (this.lostReason) outcome = { ...outcome, reason: `the run was lost: ${this.lostReason}`, events: [...outcome.events, verboseEvent(`ERROR! the run was lost: ${this.lostReason}`)] };
      else if (killed) {
        // ansible-runner records a playbook killed by a signal as rc None and exits 0: a failure,
        // rc 128 + the signal's number as a shell reports it.
        this.ctx.log.warn({ run: this.id, reason: killed.reason }, 'the playbook process did not exit normally');
        outcome = { rc: killed.rc, status: 'failed', reason: killed.reason, events: [...outcome.events, verboseEvent(`ERROR! ${killed.reason}`)] };
      }
    } catch (err) {
      this.ctx.log.error({ err, run: this.id }, 'ansible-runner could not be started');
      const text = `ERROR! ansible-runner could not be started: ${(err as Error).message}`;
      outcome = { rc: -1, status: this.stopReason ?? 'failed', events: [verboseEvent(text)] };
    } finally {
      // Nothing of the run may outlive it (its caller releases the VM locks next): every process
      // killed is waited for.
      const left = await waitGone(this.killTree(), KILL_WAIT_MS);
      if (left.length > 0) this.ctx.log.error({ run: this.id, pids: left }, `processes of the run still there ${KILL_WAIT_MS / 1000} s after SIGKILL`);
      if (privateDir) await fs.promises.rm(privateDir, { recursive: true, force: true }).catch(() => undefined);
    }
    this.finish(outcome);
    return this.done;
  }

  private async prepare(privateDir: string): Promise<string[]> {
    const { ctx, spec } = this;
    const cmdline: string[] = [];
    if (ctx.vaultPasswordFile) cmdline.push('--vault-password-file', ctx.vaultPasswordFile);
    if (ctx.vaultFile) cmdline.push('-e', `@${ctx.vaultFile}`);
    if (spec.extravars && Object.keys(spec.extravars).length > 0) {
      // After the vault file on the command line, so request values win, as in the original.
      const file = path.join(privateDir, 'request-vars.yml');
      await fs.promises.writeFile(file, toUnsafeYaml(spec.extravars), { mode: 0o600 });
      cmdline.push('-e', `@${file}`);
    }
    if (spec.tags) cmdline.push('--tags', spec.tags);

    // The playbook is passed by absolute path: ansible-playbook finds roles and vars relative to
    // it, and nothing is copied (the original copied the whole playbook directory per run).
    const args = ['run', privateDir, '-p', spec.playbook, `--inventory=${spec.inventory}`, '-j', `--ident=${this.id}`];
    if (spec.limit) args.push(`--limit=${spec.limit}`);
    if (cmdline.length > 0) args.push(`--cmdline=${cmdline.map(shellQuote).join(' ')}`);
    return args;
  }

  private spawnAndWait(args: string[], cwd: string): Promise<{ rc: number; status: RunStatus; events: RunnerEvent[] }> {
    const { ctx, spec } = this;
    return new Promise((resolve, reject) => {
      const live: RunnerEvent[] = [];
      // Through runner_exit.py when the script is Python's (it is): the same script, arguments and
      // environment, plus a report of how the playbook process ended, which ansible-runner loses.
      const python = runnerInterpreter(ctx.bin);
      if (python) {
        try {
          fs.accessSync(ctx.bin, fs.constants.X_OK);
        } catch (err) {
          reject(new Error(`spawn ${ctx.bin} ${(err as NodeJS.ErrnoException).code ?? 'EACCES'}`));
          return;
        }
      }
      const [command, argv] = python ? [python, [RUNNER_EXIT_SCRIPT, path.join(cwd, PLAYBOOK_EXIT_FILE), ctx.bin, ...args]] : [ctx.bin, args];
      const child = spawn(command, argv, { cwd, env: ctx.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      this.child = {
        pid: child.pid,
        alive: () => child.exitCode === null && child.signalCode === null,
        kill: (sig) => child.kill(sig),
      };
      child.once('error', reject);
      if (child.pid) this.emit('spawn', { pid: child.pid, privateDir: cwd });
      this.terminate();

      const timeoutMs = spec.timeoutMs ?? ctx.defaultTimeoutMs;
      this.timers.push(setTimeout(() => this.cancel('timeout'), timeoutMs).unref());

      const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
      lines.on('line', (line) => {
        const ev = parseEventLine(line);
        if (ev.pid && ev.event !== 'verbose') this.playbookPid ??= ev.pid;
        live.push(ev);
        this.emit('event', ev);
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        if (stderr.length < 16_384) stderr += chunk.toString('utf8');
      });

      child.once('close', (code, sig) => {
        for (const t of this.timers) clearTimeout(t);
        const rc = code ?? 254;
        let status: RunStatus = rc === 0 ? 'successful' : 'failed';
        if (this.stopReason) status = this.stopReason;
        if (stderr.trim() !== '') {
          ctx.log.warn({ run: this.id, stderr: stderr.slice(0, 2000) }, 'ansible-runner wrote to stderr');
          if (rc !== 0 && live.length === 0) live.push(verboseEvent(stderr));
        }
        if (sig) ctx.log.warn({ run: this.id, signal: sig }, 'ansible-runner ended by a signal');
        this.exitRc = code;
        resolve({ rc: this.stopReason ? 254 : rc, status, events: live });
      });
    });
  }

  private exitRc: number | null = null;
  /** warm, before the server reported the run's process: drop the connection. */
  private abortWarm: (() => void) | null = null;

  /** The warm path: the same arguments, sent to the warm server; its connection is the runner's stdout. */
  private async warmAndWait(args: string[], cwd: string): Promise<{ rc: number; status: RunStatus; events: RunnerEvent[] }> {
    const { ctx, spec } = this;
    const warm = ctx.warm!;
    // As the plain engine would find out: the configured ansible-runner must exist.
    await fs.promises.access(ctx.bin, fs.constants.X_OK).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`spawn ${ctx.bin} ${err.code ?? 'EACCES'}`);
    });
    const { socket, generation } = await warm.connect({ argv: args, env: ctx.env, cwd });
    return new Promise((resolve) => {
      const live: RunnerEvent[] = [];
      let closed = false;
      let started = false;
      let exitRc: number | null = null;
      let stderr = '';
      this.child = {
        pid: undefined,
        alive: () => !closed,
        kill: (sig) => {
          if (this.child?.pid) signal(this.child.pid, sig);
        },
      };
      const onServerExit = (e: { generation: number; reason: string }) => {
        if (e.generation !== generation) return;
        if (!this.stopReason) this.lostReason ??= e.reason;
        // Its server gone (killed, crashed, or killed because it hung), the run is lost: nothing
        // of it waits for ansible-runner's own cancel (its parent-death SIGTERM) to go.
        this.killTree();
      };
      warm.on('exit', onServerExit);
      this.abortWarm = () => socket.destroy();
      if (this.stopReason) socket.destroy();

      const timeoutMs = spec.timeoutMs ?? ctx.defaultTimeoutMs;
      this.timers.push(setTimeout(() => this.cancel('timeout'), timeoutMs).unref());

      const lines = createInterface({ input: socket, crlfDelay: Infinity });
      lines.on('line', (line) => {
        if (line.startsWith('{"r42warm"')) {
          try {
            const msg = JSON.parse(line) as { r42warm: string; pid?: number; rc?: number; data?: string; mode?: string; why?: string; signal?: number | null };
            if (msg.r42warm === 'started' && msg.pid) {
              started = true;
              this.child!.pid = msg.pid;
              this.emit('spawn', { pid: msg.pid, privateDir: cwd });
              this.terminate();
            } else if (msg.r42warm === 'playbook' && msg.pid) {
              this.playbookPid = msg.pid;
              this.playbookMode = msg.mode ?? null;
              this.playbookWhy = msg.why ?? null;
              if (msg.mode !== 'warm') ctx.log.info({ run: this.id, mode: msg.mode, why: msg.why }, 'warm engine: playbook started cold');
            } else if (msg.r42warm === 'stderr') {
              if (stderr.length < 16_384) stderr += msg.data ?? '';
            } else if (msg.r42warm === 'exit') {
              exitRc = msg.rc ?? null;
              if (msg.signal) this.playbookSignal = msg.signal;
            }
            return;
          } catch {
            // an event line after all
          }
        }
        const ev = parseEventLine(line);
        live.push(ev);
        this.emit('event', ev);
      });
      socket.on('error', (err) => ctx.log.warn({ run: this.id, err }, 'warm engine connection error'));
      socket.once('close', () => {
        closed = true;
        warm.off('exit', onServerExit);
        for (const t of this.timers) clearTimeout(t);
        if (exitRc === null && !this.stopReason) {
          this.lostReason ??= warm.endReason(generation) ?? (started
            ? 'its process ended without an exit status (killed or crashed)'
            : 'the warm engine process ended before the run started');
        }
        let rc = exitRc ?? -1;
        // ansible-runner canceled by its server's end (parent-death signal) reports 254, canceled.
        if (this.lostReason && !this.stopReason && rc === 0) rc = -1;
        let status: RunStatus = rc === 0 && !this.lostReason ? 'successful' : 'failed';
        if (this.stopReason) status = this.stopReason;
        if (stderr.trim() !== '') {
          ctx.log.warn({ run: this.id, stderr: stderr.slice(0, 2000) }, 'ansible-runner wrote to stderr');
          if (rc !== 0 && live.length === 0) live.push(verboseEvent(stderr));
        }
        this.exitRc = rc;
        resolve({ rc: this.stopReason ? 254 : rc, status, events: live });
      });
    });
  }

  private stopText(): string {
    if (this.stopReason === 'timeout') {
      const seconds = Number(((this.spec.timeoutMs ?? this.ctx.defaultTimeoutMs) / 1000).toFixed(1));
      return `ERROR! the run was stopped after ${seconds} s: it timed out (${this.spec.timeoutMs === undefined ? 'RUNNER_TIMEOUT' : 'timeout of the run'})`;
    }
    return 'ERROR! the run was canceled';
  }

  /** Last resort after a cancel or on exit: nothing of this run may outlive it. Returns the pids killed. */
  private killTree(): number[] {
    const child = this.child;
    const pids = new Set(this.doomed);
    if (child?.pid && child.alive()) {
      for (const pid of descendants(child.pid)) pids.add(pid);
      // The warm run process leads a process group of its own (setsid): all of it goes.
      if (this.ctx.engine === 'warm') signal(-child.pid, 'SIGKILL');
      signal(child.pid, 'SIGKILL');
    }
    // The playbook process leads a session and process group of its own (the pty's); its forked
    // workers stay in them when it dies (killed, out of memory), orphaned to pid 1, where the
    // walk above no longer finds them: every member goes, whether the leader lives or not.
    const leaders = [this.playbookPid, this.ctx.engine === 'warm' ? child?.pid : undefined].filter((p): p is number => Boolean(p));
    for (const pid of groupMembers(leaders)) pids.add(pid);
    // A run stopped early (before ansible-playbook printed an event) may have left a playbook
    // process the runner no longer knows about: find it by the run id in its environment.
    // (A warm run's processes are forks: their environment block is the server's, and the
    // server reports the playbook process as soon as it exists.)
    if (this.ctx.engine !== 'warm' && (this.stopReason || this.exitRc !== 0 || this.playbookSignal)) for (const pid of processesWithEnvironment(this.id)) pids.add(pid);
    for (const pid of pids) if (isAlive(pid)) signal(pid, 'SIGKILL');
    return [...pids];
  }

  /**
   * A run whose playbook process did not exit (killed by a signal: the OOM killer, kill -9,
   * SIGTERM): ansible-runner writes rc `None` and status `failed` to its artifacts and exits 0.
   * The signal comes from runner_exit.py's report (plain engine) or the run process's `exit`
   * message (warm engine); `None` in the artifacts without either still means no exit status.
   */
  private async abnormalEnd(privateDir: string): Promise<{ rc: number; reason: string } | null> {
    if (this.ctx.engine !== 'warm' || !this.ctx.warm) {
      try {
        const report = JSON.parse(await fs.promises.readFile(path.join(privateDir, PLAYBOOK_EXIT_FILE), 'utf8')) as { pid?: number; signalstatus?: number | null };
        if (report.signalstatus) this.playbookSignal = report.signalstatus;
        if (report.pid) this.playbookPid ??= report.pid;
      } catch {
        // no report: ansible-runner spawned as is, or it never started the playbook
      }
    }
    const pid = this.playbookPid ? ` (process ${this.playbookPid})` : '';
    if (this.playbookSignal) return { rc: 128 + this.playbookSignal, reason: `the playbook was killed by ${signalName(this.playbookSignal)}${pid}` };
    const rc = await fs.promises.readFile(path.join(privateDir, 'artifacts', this.id, 'rc'), 'utf8').catch(() => null);
    if (rc?.trim() === 'None') return { rc: -1, reason: `the playbook process${pid} ended without an exit status (killed by a signal)` };
    return null;
  }

  private finish(r: Omit<RunResult, 'id' | 'queuedMs' | 'durationMs'>): void {
    if (this.state === 'finished') return;
    this.state = 'finished';
    const now = Date.now();
    const started = this.startedAt || now;
    const result: RunResult = {
      id: this.id,
      ...r,
      queuedMs: started - this.createdAt,
      durationMs: this.startedAt ? now - this.startedAt : 0,
    };
    this.emit('finished', result);
    this.settle(result);
  }
}

function verboseEvent(stdout: string): RunnerEvent {
  return { event: 'verbose', stdout };
}

/** `-j` prints JSON events, but verbose text (warnings, ERROR!) raw: keep both, in order. */
function parseEventLine(line: string): RunnerEvent {
  if (line.startsWith('{')) {
    try {
      const ev = JSON.parse(line) as RunnerEvent;
      if (typeof ev.event === 'string') return ev;
    } catch {
      // not an event after all
    }
  }
  return verboseEvent(line);
}

/** The job events in counter order, or null when the directory is missing. */
async function readArtifactEvents(artifactDir: string): Promise<RunnerEvent[] | null> {
  const dir = path.join(artifactDir, 'job_events');
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return null;
  }
  const numbered = names
    .filter((n) => /^\d+-.*\.json$/.test(n))
    .map((n) => ({ n, counter: Number.parseInt(n, 10) }))
    .sort((a, b) => a.counter - b.counter);
  const events = await Promise.all(
    numbered.map(async ({ n }) => {
      try {
        return JSON.parse(await fs.promises.readFile(path.join(dir, n), 'utf8')) as RunnerEvent;
      } catch {
        return null;
      }
    }),
  );
  return events.filter((e): e is RunnerEvent => e !== null);
}
