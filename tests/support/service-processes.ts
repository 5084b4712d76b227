import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from '../../src/config/paths.js';
import { apiCaller, freePort, simulatorInventory, tempDir, type ApiCall } from '../helpers.js';

/**
 * The API (src/server.ts) and workers (src/worker.ts) as real child processes
 * (`node --import tsx <script>`), for tests/scale/multi-process.test.ts and bench/scale.ts: the
 * test kills, restarts and follows them, the bench meters their CPU. Each child gets a DATA_DIR
 * of its own (tempDir: removed with the caller's other temporary directories).
 */

export interface Child {
  name: string;
  proc: ChildProcess;
  /** stdout and stderr as they came: what a failed start-up prints, what a worker logged. */
  out: string[];
  exited: Promise<void>;
}

export interface Api extends Child {
  base: string;
  call: ApiCall;
}

export interface WorkerProc extends Child {
  /** The worker's id, as it names itself in jobs' owner. */
  id: string;
}

export interface LaunchOptions {
  /** Every child's environment; what a call adds goes over it. */
  env: Record<string, string>;
  /** Every child launched is pushed here, for the caller to stop them all. */
  children: Child[];
  /** Keep only the last this many output chunks (a long bench would hold all its children ever logged); all by default. */
  keepChunks?: number;
  /** How long an API or a worker may take to come up (a loaded machine needs more). */
  startupMs?: number;
  /** Prefix of the children's temporary DATA_DIRs (`r42-`: r42-api-…, r42-worker-…), so that a run's leftovers can be told apart. */
  tempPrefix?: string;
}

/**
 * What every child of both callers runs with: Proxmox is the simulator in the caller's process, jobs
 * in PostgreSQL, short grace periods (a cancel or a stop takes seconds, not the production defaults),
 * warnings only. The caller adds its database, its run queue and its heartbeat figures.
 */
export function serviceEnv(sim: Parameters<typeof simulatorInventory>[0]): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    PROJECT_ROOT_DIR: REPO_ROOT,
    API_BACKEND_INVENTORY_DIR: simulatorInventory(sim),
    HOST: '127.0.0.1',
    JOBS_STORE: 'postgres',
    PROXMOX_SIMULATOR: 'off',
    RUNNER_CANCEL_GRACE: '1',
    SHUTDOWN_GRACE: '2',
    JOBS_HEARTBEAT_INTERVAL: '0.5',
    LOG_LEVEL: 'warn',
    ...(process.env.RUNNER_ENGINE ? { RUNNER_ENGINE: process.env.RUNNER_ENGINE } : {}),
  };
}

export const alive = (c: Child): boolean => c.proc.exitCode === null && c.proc.signalCode === null;

/**
 * Polls `probe` until it gives something truthy (a throw counts as not yet). `lastSeen`, if the
 * probe records what it read, goes into the timeout's message: what the wait was stuck on.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 30_000,
  stepMs = 50,
  lastSeen?: () => unknown,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve(probe()).catch(() => null);
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`${what}: not in ${timeoutMs} ms${lastSeen ? ` (last seen: ${JSON.stringify(lastSeen())})` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export function launch(opts: LaunchOptions, name: string, script: string, extra: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, env: { ...opts.env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const keep = (d: Buffer) => {
    out.push(d.toString());
    if (opts.keepChunks !== undefined && out.length > opts.keepChunks) out.splice(0, out.length - opts.keepChunks);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const child = { name, proc, out, exited };
  opts.children.push(child);
  return child;
}

/** A start-up that timed out says what the child printed. */
function withOutput(child: Child): (err: Error) => never {
  return (err) => {
    throw new Error(`${err.message}\n${child.out.join('')}`);
  };
}

/** An API instance on a free port, once /healthz answers. */
export async function startApi(opts: LaunchOptions, name = 'API', extra: Record<string, string> = {}): Promise<Api> {
  const port = await freePort();
  const child = launch(opts, name, 'src/server.ts', { PORT: String(port), DATA_DIR: tempDir(`${opts.tempPrefix ?? 'r42-'}api-`), ...extra });
  const base = `http://127.0.0.1:${port}`;
  const call = apiCaller(base);
  await until(`${name} up`, async () => alive(child) && (await fetch(`${base}/healthz`)).ok, opts.startupMs ?? 60_000, 200).catch(withOutput(child));
  return { ...child, base, call };
}

/** A worker, once it logs "worker ready" (the line names its id). */
export async function startWorker(opts: LaunchOptions, name = 'worker', extra: Record<string, string> = {}): Promise<WorkerProc> {
  const child = launch(opts, name, 'src/worker.ts', { DATA_DIR: tempDir(`${opts.tempPrefix ?? 'r42-'}worker-`), ...extra });
  const ready = () => child.out.join('').split('\n').find((l) => l.includes('"worker ready"'));
  const line = await until(`${name} ready`, ready, opts.startupMs ?? 60_000, 100).catch(withOutput(child));
  return { ...child, id: JSON.parse(line).worker as string };
}

/** SIGTERM (a graceful shutdown), SIGKILL if it is still there after `timeoutMs`. */
export async function stop(c: Child, timeoutMs = 15_000): Promise<void> {
  if (!alive(c)) return;
  c.proc.kill('SIGTERM');
  const timer = setTimeout(() => alive(c) && c.proc.kill('SIGKILL'), timeoutMs);
  await c.exited;
  clearTimeout(timer);
}
