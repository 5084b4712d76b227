import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/**
 * Optional bearer-token authentication for deployments without an API gateway (off by default:
 * the original relies on Kong in front). Health probes stay open so orchestrators can use them.
 */
const OPEN = new Set(['/healthz', '/readyz']);

export function registerBearerAuth(app: FastifyInstance, token: string | null): void {
  if (!token) return;
  // Compare digests: equal length whatever the input, and constant time.
  const expected = createHash('sha256').update(token).digest();
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'OPTIONS' || OPEN.has(req.url.split('?', 1)[0]!)) return;
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    const ok = timingSafeEqual(createHash('sha256').update(given).digest(), expected) && given.length > 0;
    if (!ok) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ detail: 'Not authenticated' });
    }
  });
}
