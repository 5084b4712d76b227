import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/** The CORS origin rule (CORS_ORIGIN_REGEX); WebSocket upgrades use it too (http/upgrades.ts). */
export function corsOriginRule(originRegex: RegExp): (origin: string | undefined) => boolean {
  return (origin) => origin !== undefined && originRegex.test(origin);
}

/**
 * CORS as the original configured it: origins matching CORS_ORIGIN_REGEX (localhost only by
 * default), credentials allowed, GET/POST/DELETE/OPTIONS. A preflight from any other origin is
 * refused with 400, as Starlette does, but with a JSON body.
 */
export async function registerCors(app: FastifyInstance, originRegex: RegExp): Promise<void> {
  const allowed = corsOriginRule(originRegex);
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] && !allowed(origin)) {
      return reply.code(400).type('application/json; charset=utf-8').send({ detail: 'Disallowed CORS origin' });
    }
  });
  await app.register(cors, {
    origin: (origin, cb) => cb(null, allowed(origin)),
    credentials: true,
    methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Content-Type', 'Accept', 'Authorization', 'Accept-Language', 'Content-Language'],
    maxAge: 600,
  });
}
