import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { AllowedHosts } from '../config/hosts.js';
import { knownHost } from './hosts.js';

/**
 * WebSocket upgrades (@fastify/websocket) run through Fastify's hooks before the route takes the
 * socket over. Two things that path does not do by itself:
 *
 * - A hook that refuses the upgrade (401 without the token, 403, 503 while closing) answers on a
 *   socket Node's HTTP server has already handed over: nothing ends it afterwards, so every refusal
 *   left one socket open (CLOSE-WAIT once the client gave up). Ended here once the answer is out.
 * - Browsers apply no CORS to WebSockets but do send `Origin`: without a check any page an operator
 *   opens could read /ws/vm-status and job streams. The CORS rule applies; no Origin (a non-browser
 *   client) passes, as does the service's own origin (a page it served itself): the Origin names
 *   the request's Host, and that host is one the service is known by (ALLOWED_HOSTS and its
 *   defaults; `*` does not count, so a rebinding page's `evil.example` never qualifies).
 */
export function guardUpgrades(app: FastifyInstance, originAllowed: (origin: string) => boolean, hosts: AllowedHosts): void {
  const upgrades = new WeakSet<IncomingMessage>();
  // Added before @fastify/websocket registers its own listener, so the mark is there when it routes.
  app.server.on('upgrade', (req: IncomingMessage) => upgrades.add(req));

  app.addHook('onRequest', async (req, reply) => {
    if (!upgrades.has(req.raw)) return;
    const origin = req.headers.origin;
    if (origin === undefined || originAllowed(origin) || ownOrigin(origin, req.headers.host, hosts)) return;
    req.log.warn({ origin }, 'websocket upgrade from a disallowed origin refused');
    return reply.code(403).type('application/json; charset=utf-8').send({ detail: 'Disallowed WebSocket origin' });
  });

  // Only answers that did not upgrade reach onResponse (an upgraded route hijacks its reply).
  app.addHook('onResponse', async (req) => {
    if (upgrades.has(req.raw)) req.raw.socket.destroySoon();
  });
}

/** The service's own origin: the page's host is the one the request names, and a name the service is known by. */
function ownOrigin(origin: string, host: string | undefined, hosts: AllowedHosts): boolean {
  if (!host) return false;
  try {
    return new URL(origin).host === host.toLowerCase() && knownHost(hosts, host);
  } catch {
    return false;
  }
}
