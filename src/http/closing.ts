import type { FastifyInstance } from 'fastify';
import { EngineClosedError } from '../errors.js';
import { toHttpRefusal } from './errors.js';

/**
 * Requests arriving while the service shuts down (it keeps listening while running jobs get their
 * SHUTDOWN_GRACE) get the API's own 503: `{"detail"}` with Retry-After, as the queue-full 503 —
 * Fastify's built-in one (return503OnClosing) has another body and no Retry-After.
 * Register before any other onRequest hook. Returns the shutdown step that starts refusing.
 */
export function refuseWhileClosing(app: FastifyInstance): () => void {
  let closing = false;
  app.addHook('onRequest', async (req, reply) => {
    if (!closing) return;
    const refusal = toHttpRefusal(new EngineClosedError());
    // A keep-alive client should reconnect elsewhere, not reuse this connection.
    return reply.code(refusal.status).headers({ ...refusal.headers, connection: 'close' }).type('application/json; charset=utf-8').send({ detail: refusal.detail });
  });
  return () => {
    closing = true;
  };
}

/** What answers still being written get once the jobs are over, before their connections are cut. */
const DRAIN_MS = 1000;

/**
 * The shutdown step once jobs are over and streams ended: server.close() waits for every
 * connection — one client that never finishes its request headers kept the process alive for as
 * long as it liked. Idle connections are closed at once, the rest after DRAIN_MS.
 */
export function drainConnections(app: FastifyInstance): void {
  app.server.closeIdleConnections();
  setTimeout(() => app.server.closeAllConnections(), DRAIN_MS).unref();
}
