import type { FastifyInstance } from 'fastify';
import { hostName, type AllowedHosts } from '../config/hosts.js';

/** Whether a host name is one of the names (exact, or under a `.suffix` entry); `*` does not count here. */
export function knownHost(allowed: AllowedHosts, host: string): boolean {
  const name = hostName(host);
  return allowed.names.some((n) => (n.startsWith('.') ? name === n.slice(1) || name.endsWith(n) : name === n));
}

/**
 * The check on every request, HTTP and upgrades: a Host that is not known gets 400 with a `detail`
 * saying what to configure. A request without Host (HTTP/1.0, not a browser) passes.
 */
export function registerHostCheck(app: FastifyInstance, allowed: AllowedHosts): void {
  if (allowed.any) return;
  app.addHook('onRequest', async (req, reply) => {
    const host = req.headers.host;
    if (host === undefined || host === '' || knownHost(allowed, host)) return;
    req.log.warn({ host }, 'request for a host name the service is not known by refused (ALLOWED_HOSTS)');
    return reply.code(400).type('application/json; charset=utf-8')
      .send({ detail: `Host not allowed: ${JSON.stringify(host)} is not a name of this service (add it to ALLOWED_HOSTS)` });
  });
}
