import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApp } from '../../src/app.js';
import { testConfig } from '../helpers.js';

/**
 * Issue 24, item 11: a credential sent in the query string (what a browser's WebSocket or
 * EventSource can send instead of a header) must not reach the access log. The service listens
 * with a pino logger at its default level (info), as server.ts makes it; the requests are real.
 */

const TOKEN = `query-token-${randomUUID()}`;
let lines: string[] = [];
const out = new Writable({
  write(chunk: Buffer, _enc, cb) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    cb();
  },
});

let app: Awaited<ReturnType<typeof createApp>>;
let base: string;
beforeAll(async () => {
  const config = testConfig({ JOBS_STORE: 'memory', API_AUTH_TOKEN: TOKEN });
  app = await createApp(config, { logger: pino({ level: config.logLevel }, out) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => app.close());

const logged = () => lines.map((l) => JSON.parse(l) as { msg: string; level: number; req?: { url: string } });

describe('access log', () => {
  it('logs each request at info with its path, the query-string credentials replaced', async () => {
    lines = [];
    const id = randomUUID();
    await fetch(`${base}/v0/jobs?token=${TOKEN}&limit=5`);
    await fetch(`${base}/v0/jobs/${id}/events?access_token=${encodeURIComponent(TOKEN)}`, { headers: { accept: 'text/event-stream' } });
    await fetch(`${base}/v0/jobs?api_key=${TOKEN}-k&password=${TOKEN}-p&Token=${TOKEN}-c&offset=0`);
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/vm-status?node=px-testing&token=${TOKEN}`);
      ws.once('unexpected-response', (req) => {
        req.destroy();
        resolve();
      });
      ws.once('open', () => {
        ws.close();
        resolve();
      });
      ws.once('error', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 100));

    const text = lines.join('\n');
    expect(text).not.toContain(TOKEN);
    const urls = logged().filter((l) => l.msg === 'incoming request').map((l) => l.req!.url);
    expect(urls).toEqual([
      '/v0/jobs?token=[redacted]&limit=5',
      `/v0/jobs/${id}/events?access_token=[redacted]`,
      '/v0/jobs?api_key=[redacted]&password=[redacted]&Token=[redacted]&offset=0',
      '/ws/vm-status?node=px-testing&token=[redacted]',
    ]);
    expect(logged().filter((l) => l.msg === 'incoming request').every((l) => l.level === 30)).toBe(true);
  });

  it('keeps query strings without credentials as sent', async () => {
    lines = [];
    await fetch(`${base}/v0/jobs?limit=5&status=running&token_id=r42`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const urls = logged().filter((l) => l.msg === 'incoming request').map((l) => l.req!.url);
    expect(urls).toEqual(['/v0/jobs?limit=5&status=running&token_id=r42']);
  });
});
