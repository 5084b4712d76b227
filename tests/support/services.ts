import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * Throwaway servers for the tests, from Debian's packages (scripts/ensure-deps.sh --test installs
 * them): a PostgreSQL cluster (initdb into a temporary directory, listening on 127.0.0.1 and a port
 * of its own, its unix socket in that directory) and a Redis (a port of its own, no persistence).
 * A test file starts what it needs in beforeAll and closes it in afterAll: nothing depends on a
 * system service (Debian's cluster on 5432, a Redis on 6379), nothing is left running, and two
 * files running in parallel never share a server. Stopped by the file's afterAll, or killed when
 * its worker process exits.
 *
 * PostgreSQL refuses to run as root: as root (CI), initdb and postgres run as the `postgres`
 * system user (setpriv, which execs: the child is postgres itself), the directory owned by it.
 */

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The newest PostgreSQL of /usr/lib/postgresql/<major>/bin (Debian's layout), or PG_BIN. */
export function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v) && fs.existsSync(path.join(root, v, 'bin', 'postgres'))) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('PostgreSQL is not installed (bash scripts/ensure-deps.sh --test installs Debian\'s postgresql)');
  return path.join(root, newest, 'bin');
}

/** uid and gid of a system user, from /etc/passwd. */
function userIds(name: string): { uid: number; gid: number } {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no ${name} user (Debian's postgresql package creates it)`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** argv running `bin` as the postgres user when we are root, as ourselves otherwise. */
function asPostgres(bin: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [bin, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--clear-groups', '--', bin, ...args]];
}

async function waitUntil(ready: () => Promise<boolean>, what: string, child: ChildProcess, log: () => string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    if (await ready()) return;
    if (Date.now() > end) throw new Error(`${what} not ready in ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopChild(child: ChildProcess | null, signal: NodeJS.Signals, timeoutMs = 15_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    if (child) live.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      live.delete(child);
      resolve();
    });
    child.kill(signal);
  });
}

export interface PostgresServer {
  readonly port: number;
  /** Superuser URL (with its password) of the `postgres` database. */
  readonly adminUrl: string;
  readonly password: string;
  readonly dir: string;
  /** A new empty database; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (fast shutdown: connections are cut), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again, same port and data. */
  start(): Promise<void>;
  readonly running: boolean;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

let databases = 0;

/** A fresh PostgreSQL cluster on 127.0.0.1 and a free port, password authentication over TCP. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r42-pg-'));
  dirs.add(dir);
  const data = path.join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  fs.writeFileSync(path.join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const { uid, gid } = userIds('postgres');
    fs.chownSync(dir, uid, gid);
    fs.chownSync(path.join(dir, 'pwfile'), uid, gid);
  }
  const [cmd, args] = asPostgres(path.join(bin, 'initdb'), [
    '-D', data, '-U', 'r42', `--pwfile=${path.join(dir, 'pwfile')}`, '--auth-local=trust', '--auth-host=scram-sha-256',
    '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions',
  ]);
  const init = spawnSync(cmd, args, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr}${init.stdout}`);
  fs.rmSync(path.join(dir, 'pwfile'));
  const port = await freePort();
  const adminUrl = `postgresql://r42:${password}@127.0.0.1:${port}/postgres`;
  const logFile = path.join(dir, 'postgres.log');
  let child: ChildProcess | null = null;

  const canConnect = async () => {
    const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  };

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const out = fs.openSync(logFile, 'a');
    const [c, a] = asPostgres(path.join(bin, 'postgres'), [
      '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir,
      // A test database: durability off, small.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'shared_buffers=16MB', '-c', 'max_connections=60', '-c', 'log_min_messages=warning', '-c', 'logging_collector=off',
    ]);
    child = spawn(c, a, { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    live.add(child);
    await waitUntil(canConnect, 'postgres', child, () => fs.readFileSync(logFile, 'utf8').slice(-2000));
  };
  await start();

  const server: PostgresServer = {
    port,
    adminUrl,
    password,
    dir,
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    async createDatabase(name = `r42_${process.pid}_${++databases}`) {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgresql://r42:${password}@127.0.0.1:${port}/${name}`;
    },
    stop: () => stopChild(child, 'SIGINT'),
    start,
    async close() {
      await stopChild(child, 'SIGINT');
      fs.rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };
  return server;
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (its data goes with it: no persistence). */
  stop(): Promise<void>;
  /** Starts it again, same port, empty. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A Redis answering PING in `ms`, via a raw RESP exchange (no client needed to start one). */
function redisPing(port: number, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(ms, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** A fresh redis-server on 127.0.0.1 and a free port: no persistence (no RDB, no AOF), its directory temporary. */
export async function startRedis(): Promise<RedisServer> {
  const bin = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
  if (!fs.existsSync(bin)) throw new Error('redis-server is not installed (bash scripts/ensure-deps.sh --test installs Debian\'s redis-server)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r42-redis-'));
  dirs.add(dir);
  const port = await freePort();
  const logFile = path.join(dir, 'redis.log');
  let child: ChildProcess | null = null;
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const out = fs.openSync(logFile, 'a');
    const c = spawn(bin, [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning',
    ], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    live.add(c);
    child = c;
    await waitUntil(() => redisPing(port), 'redis-server', c, () => fs.readFileSync(logFile, 'utf8').slice(-2000));
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => stopChild(child, 'SIGTERM'),
    start,
    async close() {
      await stopChild(child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };
}
