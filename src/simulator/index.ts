import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Authenticator } from './auth.js';
import { ensureCertificate } from './cert.js';
import { registerAll } from './handlers/index.js';
import { Cluster } from './model/cluster.js';
import { DEFAULT_SEED_FILE, normalizeState, readSeed, type Seed } from './model/seed.js';
import { TaskManager, type SlowTaskKind, type TaskDurations } from './model/tasks.js';
import type { SimState } from './model/types.js';
import { Router } from './router.js';
import { createRequestListener, type Faults, type RequestRecord } from './server.js';
import { controlApi } from './control.js';

/**
 * A Proxmox VE 8.4 API simulator over HTTPS: `startSimulator()` returns a running instance with its
 * address, a ready API token and handles for tests (state, request log, faults, reset).
 */

export interface SimulatorOptions {
  host?: string;
  /** 0 picks a free port. Default 8006 as Proxmox. */
  port?: number;
  /** The demo cluster to start from (JSON, see seed.json). */
  seedFile?: string;
  /** When set, state is loaded from and saved to this file across restarts. */
  stateFile?: string;
  /** Where the self-signed certificate is made once and kept. */
  certDir?: string;
  /** How long a task runs before it finishes (0 = finished when the UPID is returned). */
  taskDurationMs?: number;
  /**
   * Durations of the tasks that copy data (`clone`, `import`, `download`); a kind left out takes
   * `SLOW_TASK_FACTOR` (6) times `taskDurationMs`, so 0 keeps every task instant.
   */
  taskDurationsMs?: TaskDurations;
  /** Added to every API request. */
  latencyMs?: number;
  /** Delay of 401 replies (Proxmox waits 3 s). */
  unauthorizedDelayMs?: number;
  faults?: Faults;
  /** Serve the `/_sim/...` control API (not part of Proxmox). Default true. */
  control?: boolean;
  /** How many requests the request log keeps. */
  requestLogSize?: number;
  /** How long a GET reply may be reused while nothing changes (default 50 ms; 0 = never). */
  replyCacheMs?: number;
}

export interface SimToken {
  user: string;
  tokenId: string;
  secret: string;
  /** The full `Authorization` header value. */
  header: string;
}

export interface Simulator {
  /** `https://host:port/api2/json` */
  url: string;
  /** `host:port`, as the Ansible role's `proxmox_api_host` wants it. */
  apiHost: string;
  port: number;
  token: SimToken;
  certFile: string;
  cluster: Cluster;
  readonly state: SimState;
  tasks: TaskManager;
  requestLog: RequestRecord[];
  setFaults(faults: Faults): void;
  setNodeOnline(node: string, online: boolean): void;
  setTaskDuration(ms: number): void;
  /** Per-kind durations of the slow tasks; `null` lets a kind follow the base duration again. */
  setTaskDurations(durations: Partial<Record<SlowTaskKind, number | null>>): void;
  setLatency(ms: number): void;
  /** Tells the simulator that its state was changed directly (not through the API). */
  touch(): void;
  /** Pins a running guest's CPU usage (0..1), or lets it wander again with `undefined`. */
  setCpuLoad(vmid: number, load: number | undefined): void;
  /** Back to the seed (or to the persisted state file's content at start). */
  reset(): void;
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seedFile = options.seedFile ?? DEFAULT_SEED_FILE;
  const initial = () => readSeed(seedFile);
  const stateFile = options.stateFile;
  const cluster = new Cluster(stateFile && existsSync(stateFile)
    ? normalizeState(JSON.parse(readFileSync(stateFile, 'utf8')) as Seed)
    : initial());
  let generation = 0;
  const changed = () => {
    generation++;
  };
  const tasks = new TaskManager(options.taskDurationMs ?? 0, changed, options.taskDurationsMs);
  const auth = new Authenticator(() => cluster.state.users);
  const router = new Router();
  registerAll(router);

  let faults: Faults = { ...(options.faults ?? {}) };
  let latency = options.latencyMs ?? 0;
  const requestLog: RequestRecord[] = [];
  const logSize = options.requestLogSize ?? 1000;
  let saveTimer: NodeJS.Timeout | null = null;
  const save = () => {
    saveTimer = null;
    if (!stateFile) return;
    mkdirSync(path.dirname(stateFile), { recursive: true });
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(cluster.state));
    renameSync(`${stateFile}.tmp`, stateFile);
  };

  const sim = {} as Simulator;
  const tls = await ensureCertificate(options.certDir ?? path.join(os.tmpdir(), `range42-sim-cert-${os.userInfo().uid}`));
  const listener = createRequestListener({
    cluster, tasks, auth, router,
    faults: () => faults,
    latencyMs: () => latency,
    unauthorizedDelayMs: options.unauthorizedDelayMs ?? 0,
    onRequest: (r) => {
      requestLog.push(r);
      if (requestLog.length > logSize) requestLog.splice(0, requestLog.length - logSize);
    },
    onMutation: () => {
      changed();
      if (stateFile && !saveTimer) saveTimer = setTimeout(save, 100);
    },
    cacheMs: options.replyCacheMs ?? 50,
    generation: () => generation,
    control: options.control === false ? () => false : controlApi(() => sim),
  });
  const server = https.createServer({ key: tls.key, cert: tls.cert, keepAliveTimeout: 30_000 }, listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8006, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  const apiUser = cluster.state.users.find((u) => u.tokens?.length) ?? { userid: 'root@pam', tokens: [{ id: 'none', secret: '' }] };
  const token = apiUser.tokens![0]!;

  Object.assign(sim, {
    url: `https://${host}:${address.port}/api2/json`,
    apiHost: `${host}:${address.port}`,
    port: address.port,
    token: { user: apiUser.userid, tokenId: token.id, secret: token.secret, header: `PVEAPIToken=${apiUser.userid}!${token.id}=${token.secret}` },
    certFile: tls.certFile,
    cluster,
    tasks,
    requestLog,
    setFaults: (f: Faults) => { faults = { ...f }; },
    setNodeOnline: (node: string, online: boolean) => {
      const n = cluster.findNode(node);
      if (!n) throw new Error(`unknown node ${node}`);
      n.online = online;
      changed();
    },
    touch: changed,
    setCpuLoad: (vmid: number, load: number | undefined) => {
      const g = cluster.guest(vmid);
      if (!g) throw new Error(`unknown guest ${vmid}`);
      if (load === undefined) delete g.cpuLoad;
      else g.cpuLoad = Math.min(1, Math.max(0, load));
      changed();
    },
    setTaskDuration: (ms: number) => { tasks.durationMs = ms; },
    setTaskDurations: (durations: Partial<Record<SlowTaskKind, number | null>>) => tasks.setKindDurations(durations),
    setLatency: (ms: number) => { latency = ms; },
    reset: () => {
      changed();
      tasks.clear();
      cluster.state = initial();
      requestLog.length = 0;
      faults = {};
      if (stateFile) save();
    },
    close: async () => {
      tasks.close();
      if (saveTimer) {
        clearTimeout(saveTimer);
        save();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  Object.defineProperty(sim, 'state', { get: () => cluster.state });
  return sim;
}

export type { Faults, RequestRecord, SlowTaskKind, TaskDurations };
