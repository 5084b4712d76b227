import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { tempDir, testConfig } from '../helpers.js';

const run = promisify(execFile);

/** Headless Debian Chromium with no network beyond loopback: a page that needs a CDN stays blank. */
async function renderedDom(url: string): Promise<string> {
  const { stdout } = await run('/usr/bin/chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${tempDir('r42-chromium-')}`, '--virtual-time-budget=10000', '--dump-dom', url,
  ], { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

describe('documentation pages render in a real browser, offline', () => {
  let app: Awaited<ReturnType<typeof createApp>>;
  let base: string;
  beforeAll(async () => {
    app = await createApp(testConfig(), { logger: false });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app.close());

  it('ReDoc shows the API title and the operations', async () => {
    const dom = await renderedDom(`${base}/docs/redoc`);
    expect(dom).toMatch(/<h1[^>]*>CR42 - API/);
    expect(dom).toContain('/v0/admin/debug/ping');
  });

  it('Swagger UI shows the operations', async () => {
    const dom = await renderedDom(`${base}/docs/swagger`);
    expect(dom).toContain('data-path="/v0/admin/debug/ping"');
  });
});
