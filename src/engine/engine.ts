import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import { isSecretEnv } from '../config/secret-names.js';
import { EngineClosedError, QueueFullError } from '../errors.js';
import { Run, type RunEnvironment } from './run.js';
import { WarmServer, runnerPython } from './warm/client.js';
import type { RunResult, RunSpec } from './types.js';

export interface EngineOptions {
  config: Pick<Config, 'runner' | 'projectRootDir' | 'vaultFile'>;
  vaultPasswordFile: string | null;
  log: Logger;
  /** The environment to derive the children's from; defaults to process.env. */
  baseEnv?: NodeJS.ProcessEnv;
}

// Variables that may hold secrets (by name, or a URL with a password such as DATABASE_URL):
// ansible-runner writes the whole environment of the run into artifacts/<id>/command, so they are
// not passed down. Runs get secrets through files.

export function childEnvironment(base: NodeJS.ProcessEnv, projectRootDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !isSecretEnv(k, v)) env[k] = v;
  const inheritedRoles = base.ANSIBLE_ROLES_PATH || '~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles';
  return {
    ...env,
    // Debian's ansible must win over any other python on PATH (a pyenv shim cannot import it).
    PATH: `/usr/bin:/bin:${base.PATH ?? ''}`,
    ANSIBLE_ROLES_PATH: `${projectRootDir}/roles:${inheritedRoles}`,
    ANSIBLE_HOST_KEY_CHECKING: base.ANSIBLE_HOST_KEY_CHECKING ?? 'True',
    ANSIBLE_DEPRECATION_WARNINGS: 'False',
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
    ANSIBLE_INVENTORY_ENABLED: base.ANSIBLE_INVENTORY_ENABLED ?? 'yaml,ini',
    // An inventory Ansible cannot read or parse is an error, not a warning before a run on no
    // hosts that "succeeds" (rc 0) having done nothing.
    ANSIBLE_INVENTORY_UNPARSED_FAILED: base.ANSIBLE_INVENTORY_UNPARSED_FAILED ?? 'True',
    PYTHONWARNINGS: 'ignore::DeprecationWarning',
  };
}

/**
 * Runs playbooks with a bounded number in parallel and a bounded queue behind them.
 * A full queue is refused at once (503 + Retry-After) rather than letting requests pile up.
 */
export class Engine {
  private readonly running = new Set<Run>();
  private readonly queue: Run[] = [];
  private readonly runEnv: RunEnvironment;
  /** RUNNER_ENGINE=warm: the pre-imported Python the runs are forked from. */
  readonly warm: WarmServer | null;
  private closed = false;
  /** Runs accepted since creation (for metrics, and for tests proving that nothing ran). */
  private startedCount = 0;
  /** Moving average of run durations, for Retry-After. */
  private avgDurationMs = 2000;

  constructor(private readonly opts: EngineOptions) {
    const r = opts.config.runner;
    const env = childEnvironment(opts.baseEnv ?? process.env, opts.config.projectRootDir);
    const engine = r.engine ?? 'warm';
    this.warm = engine === 'warm' ? WarmServer.acquire({ python: runnerPython(r.bin), env, tmpDir: r.tmpDir, log: opts.log, pingTimeoutMs: r.warmPingTimeoutMs }) : null;
    this.runEnv = {
      bin: r.bin,
      tmpDir: r.tmpDir,
      cancelGraceMs: r.cancelGraceMs,
      defaultTimeoutMs: r.timeoutMs,
      vaultPasswordFile: opts.vaultPasswordFile,
      vaultFile: opts.config.vaultFile,
      env,
      log: opts.log,
      engine,
      warm: this.warm,
    };
  }

  private readonly finishedListeners: ((result: RunResult, label: string | undefined) => void)[] = [];

  /** Called after every run with its result (metrics, job bookkeeping). */
  onRunFinished(listener: (result: RunResult, label: string | undefined) => void): void {
    this.finishedListeners.push(listener);
  }

  get stats(): { running: number; queued: number; started: number; maxConcurrent: number; maxQueued: number } {
    const r = this.opts.config.runner;
    return { running: this.running.size, queued: this.queue.length, started: this.startedCount, maxConcurrent: r.maxConcurrent, maxQueued: r.maxQueued };
  }

  /** Queues a run and returns it at once; throws QueueFullError or EngineClosedError. */
  start(spec: RunSpec): Run {
    if (this.closed) throw new EngineClosedError();
    const { maxConcurrent, maxQueued } = this.opts.config.runner;
    if (this.running.size >= maxConcurrent && this.queue.length >= maxQueued) {
      const waves = Math.ceil((this.queue.length + 1) / maxConcurrent);
      throw new QueueFullError(Math.max(1, Math.ceil((waves * this.avgDurationMs) / 1000)));
    }
    const run = new Run(spec, this.runEnv);
    this.startedCount++;
    run.once('finished', () => {
      const i = this.queue.indexOf(run);
      if (i >= 0) this.queue.splice(i, 1);
    });
    this.queue.push(run);
    this.pump();
    return run;
  }

  /** start() and wait for the result. */
  run(spec: RunSpec): Promise<RunResult> {
    return this.start(spec).done;
  }

  private pump(): void {
    while (this.running.size < this.opts.config.runner.maxConcurrent && this.queue.length > 0) {
      const run = this.queue.shift()!;
      if (run.state !== 'queued') continue;
      this.running.add(run);
      void run.execute().then((result) => {
        this.running.delete(run);
        if (result.durationMs > 0) this.avgDurationMs = 0.8 * this.avgDurationMs + 0.2 * result.durationMs;
        this.opts.log.info(
          { run: run.id, label: run.spec.label, rc: result.rc, status: result.status, ms: result.durationMs, queuedMs: result.queuedMs },
          'run finished',
        );
        for (const listener of this.finishedListeners) listener(result, run.spec.label);
        this.pump();
      });
    }
  }

  /**
   * Stops accepting runs, cancels the queued ones, lets running ones finish within the grace
   * period, then cancels them. Resolves when no run process is left.
   */
  async close(graceMs = this.opts.config.runner.shutdownGraceMs): Promise<void> {
    this.closed = true;
    for (const run of [...this.queue]) run.cancel();
    const pending = [...this.running].map((r) => r.done);
    if (pending.length === 0) return this.warm?.release();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(pending), graceOver]);
    clearTimeout(timer);
    for (const run of this.running) run.cancel();
    await Promise.all(pending);
    await this.warm?.release();
  }

  /** Starts the warm server now rather than on the first run (no-op for the plain engine). */
  warmUp(): Promise<void> {
    return this.warm ? this.warm.start().catch((err: Error) => this.opts.log.error({ err }, 'the warm engine could not start')) : Promise.resolve();
  }
}

export type { RunSpec, RunResult, RunnerEvent, RunStatus } from './types.js';
export { Run } from './run.js';
