import type { Server } from 'node:http';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { WebSocketServer } from 'ws';
import type { Config } from './config/env.js';

/**
 * The service's shutdown, in order — the one place that says it.
 *
 * `app.close()` (tests call it; the process on SIGINT/SIGTERM, below):
 *   1. refuse new requests with the API's 503 (http/closing.ts)
 *   2. the engine: running playbooks get SHUTDOWN_GRACE, then are canceled (only an engine the
 *      app made; an injected one is its owner's)
 *   3. WebSocket: the clients are closed, the server stops
 *   4. /ws/vm-status: pollers stopped, viewers told 1001
 *   5. jobs: what still runs is canceled, every end recorded (jobs/maintenance.ts closeJobs)
 *   6. job event streams (SSE, WebSocket) still open end
 *   7. connections: idle ones closed now, the rest after a short drain
 *   — Fastify closes the HTTP server —
 *   8. the run queue's Redis connections (RUN_QUEUE=redis), the job store (only a store the app
 *      opened), 9. the Proxmox name and credential caches
 * then the process: 10. the embedded simulator, 11. the vault password file; exit 0.
 * Past shutdownBoundMs: every connection cut, the vault file removed, exit 1. A second signal
 * exits at once (exit 1; the vault file is removed by its exit handler).
 */
export interface AppParts {
  refuseRequests(): void;
  /** The engine, when the app owns it. */
  engine: { close(): Promise<void> } | null;
  websocketServer: WebSocketServer;
  vmStatus: { close(): unknown };
  jobs: { close(): Promise<void> };
  jobStreams: { closeStreams(): void };
  drainConnections(): void;
  /** The job store, when the app opened it. */
  store: { close(): unknown } | null;
  /** The run queue's Redis connections (RUN_QUEUE=redis). */
  runQueue: { close(): unknown } | null;
  vmNames: { close(): unknown };
}

interface Step {
  name: string;
  run(): unknown;
}

/** Steps 1–7, before Fastify closes the server; 8–9, after. A part not made yet (startup failed) is skipped. */
function appSteps(p: Partial<AppParts>): { beforeServerClose: Step[]; afterServerClose: Step[] } {
  const step = (name: string, run: (() => unknown) | undefined | null | false): Step[] => (run ? [{ name, run }] : []);
  return {
    beforeServerClose: [
      ...step('refuse new requests', p.refuseRequests),
      ...step('engine', p.engine && (() => p.engine!.close())),
      ...step('websocket server', p.websocketServer && (() => closeWebSockets(p.websocketServer!))),
      ...step('vm-status', p.vmStatus && (() => p.vmStatus!.close())),
      ...step('jobs', p.jobs && (() => p.jobs!.close())),
      ...step('job streams', p.jobStreams && (() => p.jobStreams!.closeStreams())),
      ...step('connections', p.drainConnections),
    ],
    afterServerClose: [...step('run queue', p.runQueue && (() => p.runQueue!.close())), ...step('job store', p.store && (() => p.store!.close())), ...step('vm names', p.vmNames && (() => p.vmNames!.close()))],
  };
}

/** What @fastify/websocket's own preClose does (registered with it turned off, so that it runs here, in order). */
function closeWebSockets(wss: WebSocketServer): void {
  for (const client of wss.clients) client.close();
  wss.close();
}

/**
 * Registers the app's shutdown as one preClose and one onClose hook — call it before anything
 * else adds a hook — and returns `provide`, which hands it the parts as they are made.
 */
export function registerShutdown(app: FastifyInstance): (parts: Partial<AppParts>) => void {
  const parts: Partial<AppParts> = {};
  const run = async (steps: Step[]) => {
    for (const s of steps) {
      app.log.debug({ step: s.name }, 'shutdown');
      await s.run();
    }
  };
  app.addHook('preClose', async () => run(appSteps(parts).beforeServerClose));
  app.addHook('onClose', async () => run(appSteps(parts).afterServerClose));
  return (more) => void Object.assign(parts, more);
}

/** Time for what follows the runs' end: recording the jobs, closing the store and the simulator. */
const MARGIN_MS = 5000;

/** The longest an orderly shutdown may take: runs get SHUTDOWN_GRACE, then RUNNER_CANCEL_GRACE to stop. */
function shutdownBoundMs(config: Readonly<Config>): number {
  return config.runner.shutdownGraceMs + config.runner.cancelGraceMs + MARGIN_MS;
}

/** Every event close-with-grace listens to, except the two the service shuts down on. */
const NOT_SHUTDOWN_EVENTS: closeWithGrace.AllEvents[] = [
  'SIGHUP', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGSEGV', 'SIGUSR2', 'uncaughtException', 'unhandledRejection', 'beforeExit',
];

export interface ProcessParts {
  app: FastifyInstance & { server: Server };
  simulator: { close(): Promise<void> } | null;
  vault: { dispose(): void };
}

/**
 * The process's shutdown on SIGINT or SIGTERM (close-with-grace): app.close(), the simulator, the
 * vault file, exit 0. The last resort past the bound: whatever still holds it up (a connection, a
 * hook that never returns), every connection is cut and the vault file removed, exit 1 — instead
 * of the process lingering with the secret on disk.
 */
export function exitOnSignals(config: Readonly<Config>, log: Logger, p: ProcessParts): void {
  const bound = shutdownBoundMs(config);
  closeWithGrace(
    {
      delay: bound,
      logger: { error: (msg: unknown) => log.error({ err: msg }, 'shutdown failed') },
      skip: NOT_SHUTDOWN_EVENTS,
      onTimeout: () => {
        log.error({ bound_ms: bound }, 'shutdown did not finish in time: closing every connection and exiting');
        p.app.server.closeAllConnections();
        p.vault.dispose();
      },
      onSecondSignal: (signal) => log.warn({ signal }, 'second signal while shutting down: exiting now'),
    },
    async ({ signal }) => {
      log.info({ signal }, 'shutting down: no new requests, waiting for running playbooks');
      try {
        await p.app.close();
        await p.simulator?.close();
      } finally {
        p.vault.dispose();
      }
    },
  );
}
