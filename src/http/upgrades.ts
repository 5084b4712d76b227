import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * WebSocket upgrades (@fastify/websocket) run through Fastify's hooks before the route takes the
 * socket over. Two things that path does not do by itself:
 *
 * - A hook that refuses the upgrade (401 without the token, 403, 503 while closing) answers on a
 *   socket Node's HTTP server has already handed over: nothing ends it afterwards, so every refusal
 *   left one socket open (CLOSE-WAIT once the client gave up). Ended here once the answer is out.
 * - Browsers apply no CORS to WebSockets but do send `Origin`: without a check any page an operator
 *   opens could read /ws/vm-status and job streams. The CORS rule applies; no Origin (a non-browser
 *   client) passes, as does the service's own origin (a page it served itself).
 */
export function guardUpgrades(app: FastifyInstance, originAllowed: (origin: string) => boolean): void {
  const upgrades = new WeakSet<IncomingMessage>();
  // Added before @fastify/websocket registers its own listener, so the mark is there when it routes.
  app.server.on('upgrade', (req: IncomingMessage) => upgrades.add(req));

  app.addHook('onRequest', async (req, reply) => {
    if (!upgrades.has(req.raw)) return;
    const origin = req.headers.origin;
    if (origin === undefined || originAllowed(origin) || sameOrigin(origin, req.headers.host)) return;
    req.log.warn({ origin }, 'websocket upgrade from a disallowed origin refused');
    return reply.code(403).type('application/json; charset=utf-8').send({ detail: 'Disallowed WebSocket origin' });
  });

  // Only answers that did not upgrade reach onResponse (an upgraded route hijacks its reply).
  app.addHook('onResponse', async (req) => {
    if (upgrades.has(req.raw)) req.raw.socket.destroySoon();
  });
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
