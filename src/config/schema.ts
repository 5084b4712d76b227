import { Type, type Static, type TSchema } from 'typebox';

/**
 * Every environment variable the service reads, as one TypeBox (JSON) schema: type, bounds,
 * default and meaning. `loadConfig` (env.ts) validates the environment against it with
 * env-schema, and `npm run config-table` writes the README's Configuration table from it (a test
 * checks that the two agree). Properties are in the README's order.
 *
 * Two annotations of this project (declared to Ajv as a vocabulary in env.ts):
 * - `x-unit`: a number is a duration in seconds (`s`) or days (`days`); the Config holds milliseconds.
 * - `x-default`: what the README says the default is, when it is not a plain value (computed at
 *   start-up, or relative to another variable).
 * A blank value counts as unset (the original's rule), so it takes the default.
 */

export const DEFAULT_CORS_ORIGIN_REGEX = '^https?://(localhost|127\\.0\\.0\\.1|\\[::1\\])(:\\d+)?$';

const text = (description: string, extra: Record<string, unknown> = {}) => Type.String({ description, ...extra });
const optional = (description: string, extra: Record<string, unknown> = {}) => Type.Optional(text(description, extra));
const seconds = (fallback: number, minimum: number, maximum: number, description: string) =>
  Type.Number({ default: fallback, minimum, maximum, 'x-unit': 's', description });
const whole = (fallback: number, minimum: number, maximum: number, description: string) =>
  Type.Integer({ default: fallback, minimum, maximum, description });
const oneOf = <T extends string>(values: readonly T[], fallback: T, description: string) =>
  Type.Enum([...values], { default: fallback, description });

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const envSchema = Type.Object({
  PROJECT_ROOT_DIR: optional('holds `playbooks/generic.yml`, `playbooks/ping.yml`, `roles/`', { 'x-default': 'the repository' }),
  API_BACKEND_PUBLIC_PLAYBOOKS_DIR: text(
    'bundles (`bundles/<name>/main.yml`) and scenarios (`scenarios/<name>/main.yml`)',
    { default: 'catalog', 'x-default': '`$PROJECT_ROOT_DIR/catalog`' },
  ),
  API_BACKEND_WWWAPP_PLAYBOOKS_DIR: text(
    'accepted for compatibility; no route uses it (as in the original)',
    { default: 'playbooks', 'x-default': '`$PROJECT_ROOT_DIR/playbooks`' },
  ),
  API_BACKEND_INVENTORY_DIR: text(
    'inventories (`hosts.yml`), for runs and for the status WebSocket',
    { default: 'inventory', 'x-default': '`$PROJECT_ROOT_DIR/inventory`' },
  ),
  API_BACKEND_VAULT_FILE: optional('extra-vars file given to every run as `-e @file` (the Proxmox credentials, usually vault-encrypted); must be readable'),
  VAULT_PASSWORD_FILE: optional('vault password file, used as is (must exist; never deleted)'),
  VAULT_PASSWORD: optional('vault password; written to a private temp file (0600 in a 0700 directory) deleted on shutdown, SIGINT/SIGTERM included; the directory is named after the process (`r42-vault-<pid>-<start>-…`), and one a killed process (SIGKILL, out of memory) left is removed by the next start. Ignored when `VAULT_PASSWORD_FILE` is set'),
  CORS_ORIGIN_REGEX: text('allowed browser origins (credentials allowed, methods GET/POST/DELETE/OPTIONS)', { default: DEFAULT_CORS_ORIGIN_REGEX }),
  HOST: text('listen address', { default: '0.0.0.0' }),
  ALLOWED_HOSTS: optional(
    'host names and addresses (comma-separated, no port) the service answers under; added to the defaults. A request whose `Host` names another is refused with 400 (DNS rebinding), HTTP and WebSocket alike. `.example.com` allows that name and every name under it; `*` turns the check off (a gateway in front that rewrites or checks `Host`)',
    { 'x-default': '`localhost`, `127.0.0.1`, `[::1]`, the machine\'s host name and its interface addresses (any port)' },
  ),
  PORT: whole(8000, 0, 65535, 'listen port'),
  DEBUG: text(
    '`1`/`true`/`yes`: validation failures are logged at ERROR level with the body and every error (values of secret-named fields redacted)',
    { default: 'false' },
  ),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info', 'pino level (`debug`, `info`, `warn`, `error`, `silent`)'),
  RUNNER_MAX_CONCURRENT: Type.Optional(Type.Integer({
    minimum: 1, maximum: 256, 'x-default': 'number of cores',
    description: 'playbook runs executing at once (each is CPU-bound: about 0.2 CPU-second with the warm engine, 0.9 with the plain one)',
  })),
  RUNNER_MAX_QUEUED: whole(32, 0, 100_000, 'runs waiting for a slot; beyond that the API answers 503 with `Retry-After`'),
  RUNNER_TIMEOUT: seconds(900, 1, 86_400, 'a run still going after this is stopped and reported as timeout (rc 254, HTTP 500)'),
  RUNNER_CANCEL_GRACE: seconds(5, 0, 86_400, 'time a stopped run gets after SIGTERM before its whole process tree is killed'),
  SHUTDOWN_GRACE: seconds(30, 0, 86_400, 'on SIGTERM, time running playbooks get to finish before they are canceled; the whole shutdown then takes at most `SHUTDOWN_GRACE` + `RUNNER_CANCEL_GRACE` + 5 s'),
  HTTP_HEADERS_TIMEOUT: seconds(30, 0.1, 3600, 'a request whose headers are not complete by then is answered 408 and its connection closed'),
  HTTP_REQUEST_TIMEOUT: seconds(60, 0.1, 3600, 'the same for the whole request, body included (not the answer: a synchronous run may take longer); at least `HTTP_HEADERS_TIMEOUT`'),
  RUNNER_TMP_DIR: optional('parent of the per-run private directories', { 'x-default': 'system temp' }),
  ANSIBLE_RUNNER_BIN: text(
    'absolute path (a pyenv `python3` first on `PATH` cannot import Debian\'s ansible-runner)',
    { default: '/usr/bin/ansible-runner' },
  ),
  RUNNER_ENGINE: oneOf(
    ['ansible-runner', 'warm'] as const, 'warm',
    '`warm`: each run is forked from one pre-started Python with ansible-runner and Ansible already imported (same arguments, events, artifacts and rc; see "The engine"); `ansible-runner`: each run is an `ansible-runner run` process',
  ),
  RUNNER_WARM_PING_TIMEOUT: seconds(
    5, 0.2, 600,
    'with the warm engine: its server is pinged every second (or every half of this when shorter); one that has not answered within this (stopped, hung) is killed, the runs it held end `failed` saying so, `/readyz` answers 503 naming it until a new server answers, and a new one is started',
  ),
  STATUS_POLL_INTERVAL: seconds(5, 0.05, 3600, '`/ws/vm-status` poll period'),
  STATUS_HEARTBEAT_INTERVAL: seconds(30, 0.05, 3600, '`/ws/vm-status` ping period'),
  STATUS_MAX_BUFFERED_BYTES: whole(1024 * 1024, 1024, 1 << 30, 'unsent data after which a slow status viewer is dropped'),
  STATUS_SHARING: oneOf(
    ['auto', 'local', 'redis'] as const, 'auto',
    '`auto`: `redis` when `REDIS_URL` is set, else `local`; `local`: each instance polls Proxmox for its own viewers; `redis`: one instance polls each node for the viewers of every instance, through the Redis of `REDIS_URL`, each instance polling for itself while Redis is out of reach (see "Live status")',
  ),
  LXC_DEFAULT_TEMPLATE: optional(
    'container template (`<storage>:vztmpl/<file>`) of a container creation that names none (the deployer UI sends no `ostemplate` for a canvas container); unset: the first container template on the node\'s storage. The result says which was used (`lxc_os_template_source`)',
    { pattern: '^[A-Za-z0-9._-]+:vztmpl/[A-Za-z0-9._-]+$', maxLength: 255 },
  ),
  PROXMOX_SIMULATOR: oneOf(
    ['auto', 'on', 'off'] as const, 'auto',
    '`auto`: start the embedded Proxmox VE simulator when the credentials the playbooks use point at a local address with the simulator\'s token (the shipped inventory does); `on`; `off`',
  ),
  PROXMOX_SIMULATOR_STATE: optional('file that keeps the simulated cluster across restarts'),
  PROXMOX_SIMULATOR_TASK_DURATION: seconds(0.5, 0, 600, 'how long simulated Proxmox tasks run'),
  DATA_DIR: text('holds `jobs.db`, the job database (created, 0700, when missing)', { default: 'data', 'x-default': '`./data` (from the working directory)' }),
  JOBS_STORE: oneOf(
    ['sqlite', 'memory', 'postgres'] as const, 'sqlite',
    '`sqlite`: `$DATA_DIR/jobs.db`; `memory`: jobs are not kept across restarts; `postgres`: the PostgreSQL database of `DATABASE_URL`, which several instances may share (jobs, events, Idempotency-Keys and VM locks; see "Scaling out")',
  ),
  DATABASE_URL: optional(
    'PostgreSQL connection URL (`postgresql://user:password@host:5432/db`, libpq parameters such as `?sslmode=require` accepted), required with `JOBS_STORE=postgres`; its schema is created and migrated at startup. A secret: never logged, never passed to runs, redacted from jobs',
  ),
  RUN_QUEUE: oneOf(
    ['local', 'redis'] as const, 'local',
    '`local`: each instance runs the jobs it accepts; `redis`: runs are queued in the Redis of `REDIS_URL` (BullMQ) and executed by `npm run worker` processes on any host (requires `JOBS_STORE=postgres`; see "Scaling out")',
  ),
  REDIS_URL: optional(
    'Redis the instances share (`redis://[user:password@]host:6379[/db]`, `rediss://` for TLS): the run queue (`RUN_QUEUE=redis`, where it is required) and the shared status polls (`STATUS_SHARING`). A URL with a password is a secret: never logged, never passed to runs, redacted from jobs',
  ),
  WORKER_HEARTBEAT_INTERVAL: seconds(5, 0.05, 3600, 'with `RUN_QUEUE=redis`: how often a worker says it is alive (PostgreSQL `workers` table)'),
  WORKER_LOST_AFTER: seconds(30, 0.1, 86_400, 'with `RUN_QUEUE=redis`: a worker silent for this long is gone; its queued and running jobs end `lost` and their VM locks are released (never run again). A worker that has stored no heartbeat for 3/4 of it fences itself first (kills its runs, writes nothing more for them). More than 4/3 of `WORKER_HEARTBEAT_INTERVAL`'),
  JOBS_RETENTION_DAYS: Type.Number({
    default: 30, minimum: 0.001, maximum: 36_500, 'x-unit': 'days',
    description: 'finished jobs older than this are deleted (at startup, then hourly)',
  }),
  JOBS_RETENTION_COUNT: whole(10_000, 1, 10_000_000, 'at most this many finished jobs are kept, the newest'),
  JOBS_LOCK_WAIT: seconds(30, 0, 3600, 'how long a request waits for a VM another job is changing before it gets 409'),
  JOBS_HEARTBEAT_INTERVAL: seconds(15, 0.05, 3600, 'heartbeat period of the job event streams (SSE and WebSocket)'),
  API_AUTH_TOKEN: optional('when set, every request but `/healthz`, `/readyz` and CORS preflights needs `Authorization: Bearer <token>` (compared in constant time; 401 `{"detail":"Not authenticated"}` otherwise); `/readyz` without it answers only `{"ready":true|false}`'),
});

export type EnvValues = Static<typeof envSchema>;
export type EnvName = keyof EnvValues & string;

/** A property's schema with this project's annotations. */
export type VariableSchema = TSchema & {
  type?: string;
  enum?: string[];
  default?: string | number;
  minimum?: number;
  maximum?: number;
  description?: string;
  'x-unit'?: 's' | 'days';
  'x-default'?: string;
};

export function variables(): Array<[EnvName, VariableSchema]> {
  return Object.entries(envSchema.properties) as Array<[EnvName, VariableSchema]>;
}

/** The README's Configuration table (Markdown), one row per variable. */
export function configurationTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = variables().map(([name, s]) => {
    let fallback: string;
    if (s['x-default'] !== undefined) fallback = s['x-default'];
    else if (s.default === undefined) fallback = 'none';
    else fallback = '`' + String(s.default) + '`' + (s['x-unit'] === 's' ? ' (s)' : s['x-unit'] === 'days' ? ' (days)' : '');
    return `| \`${name}\` | ${cell(fallback)} | ${cell(s.description ?? '')} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n') + '\n';
}
