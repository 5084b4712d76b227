import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import envSchemaLoader from 'env-schema';
import { ConfigError } from './errors.js';
import { defaultHostNames, parseAllowedHosts, type AllowedHosts } from './hosts.js';
import { REPO_ROOT } from './paths.js';
import { envSchema, variables, type EnvName, type EnvValues } from './schema.js';

/**
 * Everything the service reads from its environment (the variables of schema.ts), validated once
 * at startup and frozen.
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
  /** ALLOWED_HOSTS with its defaults: the names a request's Host may give (http/hosts.ts). */
  allowedHosts: AllowedHosts;
  host: string;
  port: number;
  debug: boolean;
  logLevel: string;
  runner: RunnerConfig;
  status: StatusConfig;
  simulator: SimulatorConfig;
  /** LXC_DEFAULT_TEMPLATE: the template of a container creation that names none, or null (the node's first). */
  lxcDefaultTemplate: string | null;
  /** API_AUTH_TOKEN: when set, every request needs `Authorization: Bearer <token>` (for use without a gateway). */
  apiAuthToken: string | null;
  jobs: JobsConfig;
  http: HttpConfig;
  /** REDIS_URL (a secret when it holds a password): the Redis the instances share, or null. */
  redisUrl: string | null;
  queue: QueueConfig;
}

/** Where runs execute: in the instance that accepted them, or on workers fed through Redis (BullMQ). */
export interface QueueConfig {
  /** RUN_QUEUE: `local` (default) or `redis`. */
  mode: 'local' | 'redis';
  /** REDIS_URL with RUN_QUEUE=redis (where it is required), else null. */
  redisUrl: string | null;
  /** WORKER_HEARTBEAT_INTERVAL. */
  heartbeatMs: number;
  /** WORKER_LOST_AFTER. */
  lostAfterMs: number;
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
  /** `sqlite`: DATA_DIR/jobs.db (default); `memory`: nothing survives a restart; `postgres`: DATABASE_URL, shared by instances. */
  store: 'sqlite' | 'memory' | 'postgres';
  /** DATABASE_URL (a secret when it holds a password): the PostgreSQL database of JOBS_STORE=postgres, else null. */
  databaseUrl: string | null;
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
  /** STATUS_SHARING resolved: `redis` shares one poll per node among the instances through REDIS_URL; `local` polls for this process's viewers. */
  sharing: 'local' | 'redis';
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
  /** `warm` (default): runs forked from a pre-imported Python (src/engine/warm/); `ansible-runner`: a process per run. */
  engine: 'ansible-runner' | 'warm';
  /** RUNNER_WARM_PING_TIMEOUT: a warm server that does not answer a liveness ping within this is killed and replaced. */
  warmPingTimeoutMs: number;
}

export { DEFAULT_CORS_ORIGIN_REGEX } from './schema.js';

type Env = Record<string, string | undefined>;

/**
 * The schema's validator: env-schema's own Ajv options (coercion, defaults, unknown variables
 * dropped), made once, with this project's annotations declared so strict mode accepts them.
 */
const ajv = new Ajv({
  allErrors: true,
  removeAdditional: true,
  useDefaults: true,
  coerceTypes: true,
  allowUnionTypes: true,
  addUsedSchema: false,
});
ajv.addVocabulary(['x-unit', 'x-default']);

const byName = new Map(variables());

/** The schema's verdict as one line naming the variable, in the words the service has always used. */
function explain(err: ErrorObject, env: Env): ConfigError {
  const name = err.instancePath.split('/')[1] ?? '';
  const s = byName.get(name as EnvName);
  const raw = env[name];
  if (!s) return new ConfigError(name || 'environment', err.message ?? 'invalid');
  if (s.enum) {
    const list = s.enum.length > 1 ? `${s.enum.slice(0, -1).join(', ')} or ${s.enum.at(-1)}` : s.enum.join('');
    return new ConfigError(name, `must be ${list}, got ${JSON.stringify(raw?.toLowerCase())}`);
  }
  if (s.type === 'integer') return new ConfigError(name, `must be between ${s.minimum} and ${s.maximum}, got ${Number(raw?.trim())}`);
  const unit = s['x-unit'] === 'days' ? 'days' : 'seconds';
  return new ConfigError(name, `must be a number of ${unit} between ${s.minimum} and ${s.maximum}, got ${JSON.stringify(raw)}`);
}

/**
 * The environment checked against the schema (env-schema): blank values dropped (they mean
 * "unset"), enumerations compared case-insensitively, whole numbers given as digits only (Ajv's
 * coercion would also take `1e3` or `-0`), durations finite; the first violation becomes a ConfigError.
 */
function validated(env: Env): EnvValues {
  const data: Record<string, string> = {};
  for (const [name, s] of byName) {
    const v = env[name];
    if (v === undefined || v.trim() === '') continue;
    if (s.type === 'integer' && !/^\d+$/.test(v.trim())) throw new ConfigError(name, `not a whole number: ${JSON.stringify(v)}`);
    // Ajv's coercion turns "Infinity" into a number that passes `maximum`.
    if (s.type === 'number' && !Number.isFinite(Number(v.trim()))) throw explain({ instancePath: `/${name}` } as ErrorObject, env);
    data[name] = s.enum ? v.toLowerCase() : v;
  }
  try {
    return envSchemaLoader({ schema: envSchema, data, env: false, dotenv: false, ajv }) as EnvValues;
  } catch (err) {
    const first = (err as { errors?: ErrorObject[] }).errors?.[0];
    if (first) throw explain(first, env);
    throw err;
  }
}

function directory(name: string, raw: string, base: string): string {
  const dir = path.resolve(base, raw);
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

const ms = (s: number) => Math.round(s * 1000);

function dataDirectory(raw: string): string {
  const dir = path.resolve(process.cwd(), raw);
  // It is created at startup when missing; something else by that name is an error.
  let probe = dir;
  while (!fs.existsSync(probe)) probe = path.dirname(probe);
  if (!fs.statSync(probe).isDirectory()) throw new ConfigError('DATA_DIR', `not a directory: ${probe}`);
  return dir;
}

/** DATABASE_URL: required with JOBS_STORE=postgres, a postgres:// or postgresql:// URL (never echoed: it may hold a password). */
function databaseUrl(store: string, raw: string | undefined): string | null {
  if (store !== 'postgres') return null;
  if (raw === undefined) throw new ConfigError('DATABASE_URL', 'required when JOBS_STORE=postgres');
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError('DATABASE_URL', 'not a URL (postgresql://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ConfigError('DATABASE_URL', `must be a postgresql:// URL, got ${url.protocol}//…`);
  return raw.trim();
}

/** REDIS_URL: a redis:// or rediss:// URL (never echoed: it may hold a password). */
function redisUrl(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError('REDIS_URL', 'not a URL (redis://[user:password@]host:port[/db])');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError('REDIS_URL', `must be a redis:// or rediss:// URL, got ${url.protocol}//…`);
  return raw.trim();
}

/** STATUS_SHARING: `auto` is `redis` with a REDIS_URL; `redis` needs one. */
function statusSharing(mode: 'auto' | 'local' | 'redis', url: string | null): 'local' | 'redis' {
  if (mode === 'redis' && url === null) throw new ConfigError('STATUS_SHARING', 'redis needs REDIS_URL');
  return mode === 'auto' ? (url === null ? 'local' : 'redis') : mode;
}

/** The run queue's Redis: REDIS_URL, required with RUN_QUEUE=redis. */
function queueRedisUrl(mode: 'local' | 'redis', url: string | null): string | null {
  if (mode !== 'redis') return null;
  if (url === null) throw new ConfigError('REDIS_URL', 'required when RUN_QUEUE=redis');
  return url;
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
  const e = validated(env);
  const projectRootDir = directory('PROJECT_ROOT_DIR', e.PROJECT_ROOT_DIR ?? REPO_ROOT, process.cwd());
  const localPlaybooksDir = path.join(projectRootDir, 'playbooks');
  const publicPlaybooksDir = directory('API_BACKEND_PUBLIC_PLAYBOOKS_DIR', e.API_BACKEND_PUBLIC_PLAYBOOKS_DIR, projectRootDir);
  const wwwappPlaybooksDir = directory('API_BACKEND_WWWAPP_PLAYBOOKS_DIR', e.API_BACKEND_WWWAPP_PLAYBOOKS_DIR, projectRootDir);
  const inventoryDir = directory('API_BACKEND_INVENTORY_DIR', e.API_BACKEND_INVENTORY_DIR, projectRootDir);

  const vaultFile = e.API_BACKEND_VAULT_FILE === undefined ? null : readableFile('API_BACKEND_VAULT_FILE', e.API_BACKEND_VAULT_FILE);
  const vaultPasswordFile = e.VAULT_PASSWORD_FILE === undefined ? null : readableFile('VAULT_PASSWORD_FILE', e.VAULT_PASSWORD_FILE);
  const vaultPassword = vaultPasswordFile === null ? e.VAULT_PASSWORD ?? null : null;

  let corsOriginRegex: RegExp;
  try {
    corsOriginRegex = new RegExp(e.CORS_ORIGIN_REGEX);
  } catch (err) {
    throw new ConfigError('CORS_ORIGIN_REGEX', `invalid regular expression: ${(err as Error).message}`);
  }

  const allowedHosts = parseAllowedHosts(e.ALLOWED_HOSTS, defaultHostNames());
  if (typeof allowedHosts === 'string') throw new ConfigError('ALLOWED_HOSTS', allowedHosts);

  if (!path.isAbsolute(e.ANSIBLE_RUNNER_BIN)) throw new ConfigError('ANSIBLE_RUNNER_BIN', 'must be an absolute path');
  const cpus = Math.max(1, os.availableParallelism());
  const redis = redisUrl(e.REDIS_URL);

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
    allowedHosts: Object.freeze({ any: allowedHosts.any, names: Object.freeze([...allowedHosts.names]) }),
    host: e.HOST,
    port: e.PORT,
    // The original's rule: true iff the lower-cased value is 1, true or yes.
    debug: ['1', 'true', 'yes'].includes(e.DEBUG.trim().toLowerCase()),
    logLevel: e.LOG_LEVEL,
    runner: Object.freeze({
      bin: e.ANSIBLE_RUNNER_BIN,
      tmpDir: directory('RUNNER_TMP_DIR', e.RUNNER_TMP_DIR ?? os.tmpdir(), process.cwd()),
      // Each run is CPU-bound at about one core-second: more parallel runs than cores only queue in the kernel.
      maxConcurrent: e.RUNNER_MAX_CONCURRENT ?? cpus,
      maxQueued: e.RUNNER_MAX_QUEUED,
      timeoutMs: ms(e.RUNNER_TIMEOUT),
      cancelGraceMs: ms(e.RUNNER_CANCEL_GRACE),
      shutdownGraceMs: ms(e.SHUTDOWN_GRACE),
      engine: e.RUNNER_ENGINE,
      warmPingTimeoutMs: ms(e.RUNNER_WARM_PING_TIMEOUT),
    }),
    status: Object.freeze({
      pollIntervalMs: ms(e.STATUS_POLL_INTERVAL),
      sharing: statusSharing(e.STATUS_SHARING, redis),
      maxBufferedBytes: e.STATUS_MAX_BUFFERED_BYTES,
      heartbeatMs: ms(e.STATUS_HEARTBEAT_INTERVAL),
    }),
    apiAuthToken: e.API_AUTH_TOKEN ?? null,
    lxcDefaultTemplate: e.LXC_DEFAULT_TEMPLATE ?? null,
    redisUrl: redis,
    jobs: Object.freeze({
      store: e.JOBS_STORE,
      databaseUrl: databaseUrl(e.JOBS_STORE, e.DATABASE_URL),
      dataDir: dataDirectory(e.DATA_DIR),
      retentionMs: Math.round(e.JOBS_RETENTION_DAYS * 86_400_000),
      retentionCount: e.JOBS_RETENTION_COUNT,
      lockWaitMs: ms(e.JOBS_LOCK_WAIT),
      heartbeatMs: ms(e.JOBS_HEARTBEAT_INTERVAL),
    }),
    http: Object.freeze({
      headersTimeoutMs: ms(e.HTTP_HEADERS_TIMEOUT),
      requestTimeoutMs: ms(e.HTTP_REQUEST_TIMEOUT),
    }),
    queue: Object.freeze({
      mode: e.RUN_QUEUE,
      redisUrl: queueRedisUrl(e.RUN_QUEUE, redis),
      heartbeatMs: ms(e.WORKER_HEARTBEAT_INTERVAL),
      lostAfterMs: ms(e.WORKER_LOST_AFTER),
    }),
    simulator: Object.freeze({
      mode: e.PROXMOX_SIMULATOR,
      stateFile: e.PROXMOX_SIMULATOR_STATE ?? null,
      taskDurationMs: ms(e.PROXMOX_SIMULATOR_TASK_DURATION),
    }),
  };
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs) {
    // Node refuses this combination when it creates the server: say so at startup instead.
    throw new ConfigError('HTTP_HEADERS_TIMEOUT', `must not exceed HTTP_REQUEST_TIMEOUT (${config.http.requestTimeoutMs / 1000} s)`);
  }
  if (config.queue.mode === 'redis' && config.jobs.store !== 'postgres') {
    // Workers on other hosts read and write the jobs: the store must be the shared one.
    throw new ConfigError('RUN_QUEUE', 'redis requires JOBS_STORE=postgres');
  }
  // A worker fences itself once 3/4 of WORKER_LOST_AFTER passed without a heartbeat stored
  // (jobs/fence.ts): that lease must outlast the heartbeat interval.
  if (config.queue.mode === 'redis' && (config.queue.lostAfterMs * 3) / 4 <= config.queue.heartbeatMs) {
    throw new ConfigError('WORKER_LOST_AFTER', `must exceed 4/3 of WORKER_HEARTBEAT_INTERVAL (${config.queue.heartbeatMs / 1000} s): a worker fences itself after 3/4 of it without a heartbeat`);
  }
  return Object.freeze(config);
}
