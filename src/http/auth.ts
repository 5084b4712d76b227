import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Optional bearer-token authentication for deployments without an API gateway (off by default:
 * the original relies on Kong in front). Health probes stay open so orchestrators can use them
 * (`/readyz` then tells only ready or not: its details need the token).
 */
const OPEN = new Set(['/healthz', '/readyz']);

/** Whether a request carries the bearer token; always true when no token is configured. */
export function bearerChecker(token: string | null): (req: FastifyRequest) => boolean {
  if (!token) return () => true;
  // Compare digests: equal length whatever the input, and constant time.
  const expected = createHash('sha256').update(token).digest();
  return (req) => {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    return timingSafeEqual(createHash('sha256').update(given).digest(), expected) && given.length > 0;
  };
}

export function registerBearerAuth(app: FastifyInstance, token: string | null): void {
  if (!token) return;
  const authorized = bearerChecker(token);
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'OPTIONS' || OPEN.has(req.url.split('?', 1)[0]!)) return;
    if (!authorized(req)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ detail: 'Not authenticated' });
    }
  });
}
