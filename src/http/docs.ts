import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { shareComponents } from './openapi-components.js';

const API_INFO = {
  title: 'CR42 - API',
  version: 'v0.1',
  description:
    'Range42 backend API: runs Ansible playbooks against Proxmox VE on behalf of the deployer UI. ' +
    'No authentication in this layer: an API gateway sits in front.',
  license: { name: 'GPLv3', url: 'https://www.gnu.org/licenses/gpl-3.0.html' },
  contact: { email: 'info@digisquad.com' },
};

const REDOC_PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${API_INFO.title} - ReDoc</title>
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="/docs/openapi.json"></redoc>
    <script src="/docs/redoc/redoc.standalone.js"></script>
  </body>
</html>
`;

/**
 * ReDoc's standalone bundle, the one file of the `redoc` package the page needs. `redoc` is a dev
 * dependency (its ~100 packages are only what that bundle was built from): `npm run build` copies
 * the bundle next to this module (dist/http/redoc/), and from src/ (npm start, tests) it is read
 * from the installed package.
 */
function redocBundleFile(): string {
  const shipped = fileURLToPath(new URL('./redoc/redoc.standalone.js', import.meta.url));
  if (fs.existsSync(shipped)) return shipped;
  return createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
}

/**
 * OpenAPI 3.1 built from the route schemas, Swagger UI at /docs/swagger and ReDoc at
 * /docs/redoc. Both pages load their scripts from this service's own dependencies, so the
 * docs render on a machine without internet access (the original's pages used a CDN).
 */
export interface DocsOptions {
  /** Component schemas the document refers to wherever a request body field is the same schema. */
  bodyBlocks?: readonly string[];
  /** The name of each operation's request body (by operationId), where it has one. */
  requestBodies?: Readonly<Record<string, string>>;
}

export async function registerDocs(app: FastifyInstance, opts: DocsOptions = {}): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: API_INFO,
    },
    // Shared schemas (app.addSchema) are named by their $id in components.schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (document) => ('openapiObject' in document ? shareComponents(document.openapiObject, { bodyBlocks: opts.bodyBlocks ?? [], requestBodies: opts.requestBodies }) : document.swaggerObject),
  });
  await app.register(swaggerUi, { routePrefix: '/docs/swagger', staticCSP: false });

  const redocBundle = redocBundleFile();
  let redocScript: Buffer | null = null;
  // The document is fixed once the app is ready: serialized once, not on every request.
  let documentText: string | null = null;
  app.get('/docs/openapi.json', { schema: { hide: true } }, async (_req, reply) => {
    documentText ??= JSON.stringify(app.swagger());
    return reply.type('application/json; charset=utf-8').send(documentText);
  });
  app.get('/docs/redoc', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(REDOC_PAGE));
  app.get('/docs/redoc/redoc.standalone.js', { schema: { hide: true } }, async (_req, reply) => {
    redocScript ??= await fs.promises.readFile(redocBundle);
    return reply.type('application/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(redocScript);
  });
}
