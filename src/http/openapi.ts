import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '../app.js';
import { loadConfig } from '../config/env.js';

/**
 * The OpenAPI document exactly as the service serves it at /docs/openapi.json. It depends only
 * on the route table and schemas, so it is built from an app rooted in an empty scratch tree.
 */
export async function buildOpenApiDocument(): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'r42-openapi-'));
  try {
    for (const d of ['catalog', 'inventory', 'playbooks']) fs.mkdirSync(path.join(root, d));
    const app = await createApp(loadConfig({ PROJECT_ROOT_DIR: root, JOBS_STORE: 'memory' }), { logger: false });
    const doc = app.swagger();
    await app.close();
    return `${JSON.stringify(doc, null, 2)}\n`;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
