import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { REPO_ROOT } from './paths.js';

/**
 * Everything the service reads from its environment, validated once at startup and frozen.
 * The variable names and meanings are those of the original Python service; the ones after
 * `DEBUG` are this implementation's own additions (engine limits, logging).
 */
export interface Config {
  projectRootDir: string;
  /** Where playbooks/generic.yml and playbooks/ping.yml live (always $PROJECT_ROOT_DIR/playbooks). */
  localPlaybooksDir: string;
  publicPlaybooksDir: string;
  wwwappPlaybooksDir: string;
  inventoryDir: string;
  /** Extra-vars file passed to every run as `-e @file` (usually vault-encrypted Proxmox credentials). */
  vaultFile: string | null;
  /** A password file given by the user: used as is, never deleted. */
  vaultPasswordFile: string | null;
  /** A password given inline: written to a private temp file for the service's lifetime. */
  vaultPassword: string | null;
  corsOriginRegex: RegExp;
  host: string;
  port: number;
  debug: boolean;
  logLevel: string;
  runner: RunnerConfig;
  status: StatusConfig;
  simulator: SimulatorConfig;
  /** API_AUTH_TOKEN: when set, every request needs `Authorization: Bearer <token>` (for use without a gateway). */
  apiAuthToken: string | null;
  jobs: JobsConfig;
  http: HttpConfig;
}

/** Limits of the HTTP server against clients that send slowly or never finish a request. */
export interface HttpConfig {
  /** HTTP_HEADERS_TIMEOUT: a request whose headers are not complete by then gets 408 and is closed. */
  headersTimeoutMs: number;
  /** HTTP_REQUEST_TIMEOUT: the same for the whole request (headers and body); the answer may take longer. */
  requestTimeoutMs: number;
}

/** Jobs (src/jobs): history, event streams, per-VM locks. */
export interface JobsConfig {
  /** `sqlite`: DATA_DIR/jobs.db (default); `memory`: nothing survives a restart. */
  store: 'sqlite' | 'memory';
  /** DATA_DIR: where the job database lives (created when missing). */
  dataDir: string;
  /** Finished jobs older than this are deleted (JOBS_RETENTION_DAYS). */
  retentionMs: number;
  /** At most this many finished jobs are kept, the newest (JOBS_RETENTION_COUNT). */
  retentionCount: number;
  /** How long a request waits for a VM another job holds before a 409 (JOBS_LOCK_WAIT). */
  lockWaitMs: number;
  /** Heartbeat period of the event streams (JOBS_HEARTBEAT_INTERVAL). */
  heartbeatMs: number;
}

/** The embedded Proxmox VE simulator (src/simulator), the default target when no real Proxmox is set up. */
export interface SimulatorConfig {
  /** `auto`: start it when the Proxmox credentials point at the default local simulator; `on`; `off`. */
  mode: 'auto' | 'on' | 'off';
  /** Keeps the simulated cluster across restarts when set. */
  stateFile: string | null;
  taskDurationMs: number;
}

/** The /ws/vm-status stream. */
export interface StatusConfig {
  pollIntervalMs: number;
  maxBufferedBytes: number;
  heartbeatMs: number;
}

export interface RunnerConfig {
  /** Absolute path of ansible-runner (a pyenv python may shadow the system one, so never a bare name). */
  bin: string;
  /** Parent of the per-run private data directories. */
  tmpDir: string;
  maxConcurrent: number;
  maxQueued: number;
  timeoutMs: number;
  /** Time a canceled run gets to stop on SIGTERM before its process tree is killed. */
  cancelGraceMs: number;
  /** On shutdown, time running runs get to finish before they are canceled. */
  shutdownGraceMs: number;
}

export const DEFAULT_CORS_ORIGIN_REGEX = '^https?://(localhost|127\\.0\\.0\\.1|\\[::1\\])(:\\d+)?$';

type Env = Record<string, string | undefined>;

function nonEmpty(env: Env, name: string): string | null {
  const v = env[name];
  return v === undefined || v.trim() === '' ? null : v;
}

function directory(env: Env, name: string, fallback: string, base: string): string {
  const raw = nonEmpty(env, name);
  const dir = path.resolve(base, raw ?? fallback);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new ConfigError(name, `directory does not exist: ${dir}`);
  }
  if (!st.isDirectory()) throw new ConfigError(name, `not a directory: ${dir}`);
  return dir;
}

function readableFile(name: string, file: string): string {
  const abs = path.resolve(file);
  try {
    if (!fs.statSync(abs).isFile()) throw new Error('not a file');
    fs.accessSync(abs, fs.constants.R_OK);
  } catch {
    throw new ConfigError(name, `file not found or not readable: ${abs}`);
  }
  return abs;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `not a whole number: ${JSON.stringify(raw)}`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function seconds(env: Env, name: string, fallbackSeconds: number, min = 0, max = 86_400): number {
  const raw = nonEmpty(env, name);
  if (raw === null) return fallbackSeconds * 1000;
  const n = Number(raw.trim());
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(name, `must be a number of seconds between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  return Math.round(n * 1000);
}

function days(env: Env, name: string, fallbackDays: number, min = 0.001, max = 36_500): number {
  const raw = nonEmpty(env, name);
  if (raw === null) return fallbackDays * 86_400_000;
  const n = Number(raw.trim());
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(name, `must be a number of days between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  return Math.round(n * 86_400_000);
}

/** The original's rule: true iff the lower-cased value is 1, true or yes. */
function flag(env: Env, name: string): boolean {
  return ['1', 'true', 'yes'].includes((env[name] ?? '').trim().toLowerCase());
}

function dataDirectory(env: Env): string {
  const dir = path.resolve(process.cwd(), nonEmpty(env, 'DATA_DIR') ?? 'data');
  // It is created at startup when missing; something else by that name is an error.
  let probe = dir;
  while (!fs.existsSync(probe)) probe = path.dirname(probe);
  if (!fs.statSync(probe).isDirectory()) throw new ConfigError('DATA_DIR', `not a directory: ${probe}`);
  return dir;
}

function jobStore(env: Env): JobsConfig['store'] {
  const v = (nonEmpty(env, 'JOBS_STORE') ?? 'sqlite').toLowerCase();
  if (v !== 'sqlite' && v !== 'memory') throw new ConfigError('JOBS_STORE', `must be sqlite or memory, got ${JSON.stringify(v)}`);
  return v;
}

function simulatorMode(env: Env): SimulatorConfig['mode'] {
  const v = (nonEmpty(env, 'PROXMOX_SIMULATOR') ?? 'auto').toLowerCase();
  if (v !== 'auto' && v !== 'on' && v !== 'off') throw new ConfigError('PROXMOX_SIMULATOR', `must be auto, on or off, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Reads `.env` from the working directory when present. Variables already set in the
 * environment win over the file (Node's own loader keeps existing values).
 */
export function loadDotEnv(file = path.resolve('.env')): boolean {
  if (!fs.existsSync(file)) return false;
  process.loadEnvFile(file);
  return true;
}

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const projectRootDir = directory(env, 'PROJECT_ROOT_DIR', REPO_ROOT, process.cwd());
  const localPlaybooksDir = path.join(projectRootDir, 'playbooks');
  const publicPlaybooksDir = directory(env, 'API_BACKEND_PUBLIC_PLAYBOOKS_DIR', 'catalog', projectRootDir);
  const wwwappPlaybooksDir = directory(env, 'API_BACKEND_WWWAPP_PLAYBOOKS_DIR', 'playbooks', projectRootDir);
  const inventoryDir = directory(env, 'API_BACKEND_INVENTORY_DIR', 'inventory', projectRootDir);

  const vaultFileRaw = nonEmpty(env, 'API_BACKEND_VAULT_FILE');
  const vaultFile = vaultFileRaw === null ? null : readableFile('API_BACKEND_VAULT_FILE', vaultFileRaw);
  const vaultPasswordFileRaw = nonEmpty(env, 'VAULT_PASSWORD_FILE');
  const vaultPasswordFile =
    vaultPasswordFileRaw === null ? null : readableFile('VAULT_PASSWORD_FILE', vaultPasswordFileRaw);
  const vaultPassword = vaultPasswordFile === null ? nonEmpty(env, 'VAULT_PASSWORD') : null;

  const regexSource = nonEmpty(env, 'CORS_ORIGIN_REGEX') ?? DEFAULT_CORS_ORIGIN_REGEX;
  let corsOriginRegex: RegExp;
  try {
    corsOriginRegex = new RegExp(regexSource);
  } catch (err) {
    throw new ConfigError('CORS_ORIGIN_REGEX', `invalid regular expression: ${(err as Error).message}`);
  }

  const logLevel = (nonEmpty(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `unknown level ${JSON.stringify(logLevel)}`);
  }

  const runnerBin = nonEmpty(env, 'ANSIBLE_RUNNER_BIN') ?? '/usr/bin/ansible-runner';
  if (!path.isAbsolute(runnerBin)) throw new ConfigError('ANSIBLE_RUNNER_BIN', 'must be an absolute path');
  const cpus = Math.max(1, os.availableParallelism());

  const config: Config = {
    projectRootDir,
    localPlaybooksDir,
    publicPlaybooksDir,
    wwwappPlaybooksDir,
    inventoryDir,
    vaultFile,
    vaultPasswordFile,
    vaultPassword,
    corsOriginRegex,
    host: nonEmpty(env, 'HOST') ?? '0.0.0.0',
    port: integer(env, 'PORT', 8000, 0, 65535),
    debug: flag(env, 'DEBUG'),
    logLevel,
    runner: Object.freeze({
      bin: runnerBin,
      tmpDir: directory(env, 'RUNNER_TMP_DIR', os.tmpdir(), process.cwd()),
      // Each run is CPU-bound at about one core-second: more parallel runs than cores only queue in the kernel.
      maxConcurrent: integer(env, 'RUNNER_MAX_CONCURRENT', cpus, 1, 256),
      maxQueued: integer(env, 'RUNNER_MAX_QUEUED', 32, 0, 100_000),
      timeoutMs: seconds(env, 'RUNNER_TIMEOUT', 900, 1),
      cancelGraceMs: seconds(env, 'RUNNER_CANCEL_GRACE', 5),
      shutdownGraceMs: seconds(env, 'SHUTDOWN_GRACE', 30),
    }),
    status: Object.freeze({
      pollIntervalMs: seconds(env, 'STATUS_POLL_INTERVAL', 5, 0.05, 3600),
      maxBufferedBytes: integer(env, 'STATUS_MAX_BUFFERED_BYTES', 1024 * 1024, 1024, 1 << 30),
      heartbeatMs: seconds(env, 'STATUS_HEARTBEAT_INTERVAL', 30, 0.05, 3600),
    }),
    apiAuthToken: nonEmpty(env, 'API_AUTH_TOKEN'),
    jobs: Object.freeze({
      store: jobStore(env),
      dataDir: dataDirectory(env),
      retentionMs: days(env, 'JOBS_RETENTION_DAYS', 30),
      retentionCount: integer(env, 'JOBS_RETENTION_COUNT', 10_000, 1, 10_000_000),
      lockWaitMs: seconds(env, 'JOBS_LOCK_WAIT', 30, 0, 3600),
      heartbeatMs: seconds(env, 'JOBS_HEARTBEAT_INTERVAL', 15, 0.05, 3600),
    }),
    http: Object.freeze({
      headersTimeoutMs: seconds(env, 'HTTP_HEADERS_TIMEOUT', 30, 0.1, 3600),
      requestTimeoutMs: seconds(env, 'HTTP_REQUEST_TIMEOUT', 60, 0.1, 3600),
    }),
    simulator: Object.freeze({
      mode: simulatorMode(env),
      stateFile: nonEmpty(env, 'PROXMOX_SIMULATOR_STATE'),
      taskDurationMs: seconds(env, 'PROXMOX_SIMULATOR_TASK_DURATION', 0.5, 0, 600),
    }),
  };
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs) {
    // Node refuses this combination when it creates the server: say so at startup instead.
    throw new ConfigError('HTTP_HEADERS_TIMEOUT', `must not exceed HTTP_REQUEST_TIMEOUT (${config.http.requestTimeoutMs / 1000} s)`);
  }
  return Object.freeze(config);
}
