import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from './config/env.js';

/** Time for what follows the runs' end: recording the jobs, closing the store and the simulator. */
const MARGIN_MS = 5000;

/** The longest an orderly shutdown may take: runs get SHUTDOWN_GRACE, then RUNNER_CANCEL_GRACE to stop. */
export function shutdownBoundMs(config: Readonly<Config>): number {
  return config.runner.shutdownGraceMs + config.runner.cancelGraceMs + MARGIN_MS;
}

/**
 * The last resort of a shutdown: whatever still holds it up past the bound (a connection, a hook
 * that never returns), every connection is cut and `exit` runs — which removes the vault password
 * file — instead of the process lingering with the secret on disk.
 */
export function shutdownWatchdog(config: Readonly<Config>, server: Server, log: Logger, exit: () => void): NodeJS.Timeout {
  const bound = shutdownBoundMs(config);
  return setTimeout(() => {
    log.error({ bound_ms: bound }, 'shutdown did not finish in time: closing every connection and exiting');
    server.closeAllConnections();
    exit();
  }, bound).unref();
}
