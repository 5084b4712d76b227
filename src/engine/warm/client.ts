import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { makeInstanceDir } from '../../config/instance-dirs.js';
import { signal } from '../process-tree.js';

const WARM_SERVER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server.py');
const START_TIMEOUT_MS = 60_000;
const DEFAULT_PING_TIMEOUT_MS = 5000;

export interface WarmServerOptions {
  python: string;
  env: NodeJS.ProcessEnv;
  tmpDir: string;
  log: Logger;
  script?: string;
  /** RUNNER_WARM_PING_TIMEOUT: a server that leaves a liveness ping unanswered this long is hung. */
  pingTimeoutMs?: number;
}

/** What /readyz says of the warm engine. */
export interface WarmHealth {
  ok: boolean;
  detail?: string;
}

export interface WarmRequest {
  /** Exactly the arguments the plain engine gives ansible-runner. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The interpreter of ansible-runner's script (its `#!` line): the Python that can import it. */
export function runnerPython(runnerBin: string): string {
  try {
    const first = fs.readFileSync(runnerBin, 'latin1').split('\n', 1)[0] ?? '';
    const m = /^#!\s*(\/\S+)/.exec(first);
    if (m && !m[1]!.endsWith('/env')) return m[1]!;
  } catch {
    // not readable: the default below
  }
  return '/usr/bin/python3';
}

/**
 * The warm engine's server (server.py): one Python with ansible-runner and Ansible imported,
 * forking a process per run. Started on first use, restarted on the next use after it ends.
 * Emits `exit` ({generation, reason}) when a server ends; runs of that server learn why from it.
 *
 * Liveness: a running server is pinged on its stdin every second (every half of the ping timeout
 * when that is shorter) and answers on its stdout. One that has left a ping unanswered for
 * RUNNER_WARM_PING_TIMEOUT (stopped with SIGSTOP, stuck) is killed — SIGKILL, so a later SIGCONT
 * brings nothing back — its runs end `failed` with the reason, `health` says so (/readyz: 503)
 * and a new server is started at once; `health` is good again once that one is ready.
 */
export class WarmServer extends EventEmitter {
  private proc: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private sockPath: string | null = null;
  closed = false;
  /** Increases with every server started. */
  generation = 0;
  /** CPU seconds the last server spent importing (reported by it). */
  importCpuS: number | null = null;
  /** Why servers ended, by generation (a run reads its server's when its connection closes). */
  private readonly endReasons = new Map<number, string>();
  /** Set while a server found hung is replaced: what /readyz says. */
  private unhealthy: string | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private readonly pingTimeoutMs: number;

  constructor(private readonly opts: WarmServerOptions) {
    super();
    this.setMaxListeners(0);
    this.pingTimeoutMs = opts.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  }

  /** Good unless a hung server is being replaced (the server starts on the first run: none yet is fine). */
  get health(): WarmHealth {
    return this.unhealthy ? { ok: false, detail: this.unhealthy } : { ok: true };
  }

  /** Why the server of `generation` ended, once it has. */
  endReason(generation: number): string | null {
    return this.endReasons.get(generation) ?? null;
  }

  get pid(): number | null {
    return this.proc?.pid ?? null;
  }

  /** Starts the server if none is running; resolves when it accepts runs. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the warm engine is closed'));
    this.ready ??= this.launch();
    return this.ready;
  }

  private launch(): Promise<void> {
    const generation = ++this.generation;
    return new Promise<void>((resolve, reject) => {
      // The socket lives in a 0700 directory of the system temp dir (not RUNNER_TMP_DIR, which
      // holds only runs' private directories), and the server answers only its parent (this
      // process), checked by the peer's pid (SO_PEERCRED). Node cannot connect to abstract sockets.
      // The directory is named after this process: should it be killed (SIGKILL) with its server,
      // the next start removes it (config/instance-dirs.ts).
      let dir: string;
      try {
        dir = makeInstanceDir('r42-warm-');
      } catch (err) {
        this.ready = null;
        reject(err as Error);
        return;
      }
      const sock = path.join(dir, 's');
      this.sockPath = sock;
      // The last argument is room for the run processes' titles (their command lines name the run).
      const child = spawn(this.opts.python, [this.opts.script ?? WARM_SERVER_SCRIPT, sock, '-'.repeat(1024)], {
        cwd: this.opts.tmpDir,
        env: this.opts.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
      this.proc = child;
      let stderr = '';
      let settled = false;
      let hung: string | null = null;
      // The liveness ping: one outstanding at a time, its sending time here.
      let pingSentAt: number | null = null;
      const ping = () => {
        if (pingSentAt !== null) {
          if (Date.now() - pingSentAt < this.pingTimeoutMs || hung) return;
          hung = `the warm engine process ${child.pid} stopped answering (no answer to a liveness ping within ${this.pingTimeoutMs / 1000} s)`;
          this.unhealthy = `${hung}; it was killed and a new one is starting`;
          this.endReasons.set(generation, hung);
          this.opts.log.error({ pid: child.pid, pingTimeoutMs: this.pingTimeoutMs }, 'warm engine: no answer to the liveness ping; killing it and starting a new one');
          // SIGKILL works on a stopped process, and nothing of it comes back on SIGCONT. Its run
          // processes get SIGTERM from the kernel (parent-death signal); each run kills its tree.
          this.stopProcess(child);
          return;
        }
        pingSentAt = Date.now();
        child.stdin?.write('ping\n');
      };
      const pingEvery = Math.max(100, Math.min(1000, this.pingTimeoutMs / 2));
      const timer = setTimeout(() => fail(new Error(`the warm engine did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS).unref();
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.stopProcess(child);
        reject(err);
      };
      child.once('error', (err) => fail(err));
      child.stdin!.on('error', () => undefined); // a server gone: its exit says why
      child.stderr!.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (stderr.length < 16_384) stderr += text;
        if (settled) this.opts.log.warn({ stderr: text.slice(0, 2000) }, 'warm engine wrote to stderr');
      });
      createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
        if (settled) {
          if (line.startsWith('{"pong"')) pingSentAt = null;
          return;
        }
        try {
          const msg = JSON.parse(line) as { ready?: boolean; import_cpu_s?: number };
          if (msg.ready) {
            settled = true;
            clearTimeout(timer);
            this.importCpuS = msg.import_cpu_s ?? null;
            this.opts.log.info({ pid: child.pid, importCpuS: this.importCpuS }, 'warm engine started');
            if (this.unhealthy) this.opts.log.warn({ pid: child.pid }, 'warm engine: the new server answers');
            this.unhealthy = null;
            if (this.pingTimer) clearInterval(this.pingTimer);
            this.pingTimer = setInterval(ping, pingEvery).unref();
            resolve();
          }
        } catch {
          // not the ready line
        }
      });
      child.once('exit', (code, sig) => {
        const reason = hung ?? `the warm engine process ${child.pid} ended (${sig ? `signal ${sig}` : `exit code ${code}`})${stderr.trim() ? `: ${stderr.trim().slice(-500)}` : ''}`;
        this.endReasons.set(generation, reason);
        if (this.proc === child) {
          this.proc = null;
          this.ready = null;
          if (this.pingTimer) clearInterval(this.pingTimer);
          this.pingTimer = null;
        }
        fs.rmSync(dir, { recursive: true, force: true });
        fail(new Error(reason));
        if (!this.closed && !hung) this.opts.log.warn({ code, signal: sig }, 'warm engine ended; the next run starts a new one');
        this.emit('exit', { generation, reason });
        // A hung server is replaced at once (/readyz is 503 until the new one answers).
        if (hung && !this.closed) {
          this.start().catch((err: Error) => {
            this.unhealthy = `${hung}; the new one could not start: ${err.message}`;
            this.opts.log.error({ err }, 'warm engine: the replacement of a hung server could not start');
          });
        }
      });
    });
  }

  /** One run: a connection on which the request was sent, and the server generation it went to. */
  async connect(request: WarmRequest): Promise<{ socket: net.Socket; generation: number }> {
    for (let attempt = 0; ; attempt++) {
      await this.start();
      const generation = this.generation;
      const sockPath = this.sockPath!;
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(sockPath);
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        socket.write(JSON.stringify(request) + '\n');
        return { socket, generation };
      } catch (err) {
        // The server ended between start() and the connection: once more with a new one.
        if (attempt >= 1) throw err;
        if (this.proc) this.stopProcess(this.proc);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private stopProcess(child: ChildProcess): void {
    if (child.pid && child.exitCode === null && child.signalCode === null) signal(child.pid, 'SIGKILL');
  }

  private static readonly shared = new Map<string, { server: WarmServer; users: number }>();

  /**
   * The server for these options, shared by the engines of this process that have the same
   * interpreter, environment and temp directory (one warm Python per configuration, not per
   * Engine object). Give it back with release().
   */
  static acquire(opts: WarmServerOptions): WarmServer {
    const key = JSON.stringify([opts.python, opts.tmpDir, opts.pingTimeoutMs ?? null, opts.script ?? null, Object.entries(opts.env).sort()]);
    let entry = WarmServer.shared.get(key);
    if (!entry || entry.server.closed) {
      entry = { server: new WarmServer(opts), users: 0 };
      entry.server.key = key;
      WarmServer.shared.set(key, entry);
    }
    entry.users++;
    return entry.server;
  }

  private key: string | null = null;

  /** One user less; the last one stops the server. */
  async release(): Promise<void> {
    const entry = this.key ? WarmServer.shared.get(this.key) : undefined;
    if (entry && entry.server === this && --entry.users > 0) return;
    if (entry && entry.server === this) WarmServer.shared.delete(this.key!);
    await this.close();
  }

  /** Stops the server (its runs' processes get SIGTERM from the kernel: parent-death signal). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    const child = this.proc;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin?.end(); // the server exits on end of input
    const timer = setTimeout(() => this.stopProcess(child), 2000).unref();
    await exited;
    clearTimeout(timer);
  }
}
