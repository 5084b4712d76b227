import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApp } from '../../src/app.js';
import { FIXTURES, tempDir, testConfig, waitFor } from '../helpers.js';

/**
 * Defects of issue 15 (items 3, 6, 7) checked through the listening service with real clients:
 * refused WebSocket upgrades must not leak sockets, a browser Origin the CORS rule refuses cannot
 * open a WebSocket, compressed bodies get 415, the shutdown 503 is the API's own, /readyz shows its
 * details only with the token. The apps use the fixture tree (no Proxmox), JOBS_STORE=memory.
 */

type App = Awaited<ReturnType<typeof createApp>>;
const TOKEN = 'hardening-token-' + randomUUID();
const apps: App[] = [];

async function listening(env: Record<string, string> = {}) {
  const app = await createApp(testConfig({ JOBS_STORE: 'memory', ...env }), { logger: false });
  apps.push(app);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base, ws: base.replace(/^http/, 'ws') };
}

afterAll(async () => {
  for (const a of apps.splice(0)) await a.close().catch(() => undefined);
});

const connections = (app: App) => new Promise<number>((resolve, reject) => app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

/** A ws client's attempt: the HTTP status of a refused upgrade, or 101 when it opened. */
function attempt(url: string, headers: Record<string, string> = {}): Promise<{ status: number; socket: WebSocket }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve({ status: 101, socket }));
    // Without a listener here ws aborts the request itself, as every client does on a refusal.
    socket.once('unexpected-response', (req, res) => {
      resolve({ status: res.statusCode ?? 0, socket });
      req.destroy();
    });
    socket.once('error', reject);
  });
}

/** A raw upgrade request on a TCP socket that never closes on its own: did the server end it? */
function rawUpgrade(port: number, pathName: string, extra: string[] = []): Promise<{ head: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (c) => (data += c.toString()));
    sock.on('error', () => undefined);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ head: data.split('\r\n')[0] ?? '', closedByServer: false });
    }, 3000);
    sock.on('end', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ head: data.split('\r\n')[0] ?? '', closedByServer: true });
    });
    sock.write([
      `GET ${pathName} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: Upgrade', 'Upgrade: websocket',
      'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${Buffer.from(randomUUID().slice(0, 16)).toString('base64')}`, ...extra, '', '',
    ].join('\r\n'));
  });
}

describe('refused WebSocket upgrades (API_AUTH_TOKEN set)', () => {
  let s: Awaited<ReturnType<typeof listening>>;
  beforeAll(async () => {
    s = await listening({ API_AUTH_TOKEN: TOKEN });
  });

  it('100 upgrades without the token get 401 and leave no socket open', async () => {
    const before = await connections(s.app);
    const urls = Array.from({ length: 100 }, (_, i) => (i % 2 ? `${s.ws}/ws/vm-status` : `${s.ws}/v0/jobs/${randomUUID()}/events`));
    const results = await Promise.all(urls.map((u) => attempt(u)));
    expect(results.map((r) => r.status)).toEqual(urls.map(() => 401));
    // Each client gave up on its side; the server must close its side too (no CLOSE-WAIT).
    const end = Date.now() + 5000;
    let open = await connections(s.app);
    while (open > before && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      open = await connections(s.app);
    }
    expect(open).toBe(before);
  });

  it('the server itself ends a refused upgrade, also when the client would keep it open', async () => {
    const port = Number(new URL(s.base).port);
    for (const p of ['/ws/vm-status', `/v0/jobs/${randomUUID()}/events`]) {
      const r = await rawUpgrade(port, p);
      expect(r.head).toBe('HTTP/1.1 401 Unauthorized');
      expect(r.closedByServer).toBe(true);
    }
  });

  it('with the token the upgrade still opens', async () => {
    const r = await attempt(`${s.ws}/v0/jobs/${randomUUID()}/events`, { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(101);
    const code = await new Promise<number>((resolve) => r.socket.once('close', (c) => resolve(c)));
    expect(code).toBe(4404); // unknown job: the route itself ran
  });

  it('/readyz without the token says only ready or not; with it, the details', async () => {
    const open = await fetch(`${s.base}/readyz`);
    const bare = await open.json();
    expect(Object.keys(bare)).toEqual(['ready']);
    const withToken = await (await fetch(`${s.base}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(withToken.ready).toBe(bare.ready);
    // (warm_engine: with the warm engine, the default; testConfig takes RUNNER_ENGINE from the test run's environment)
    const engineChecks = process.env.RUNNER_ENGINE === 'ansible-runner' ? [] : ['warm_engine'];
    expect(Object.keys(withToken.checks).sort()).toEqual(['ansible_runner', 'inventory', 'proxmox', ...engineChecks]);
    const wrong = await (await fetch(`${s.base}/readyz`, { headers: { authorization: 'Bearer nope' } })).json();
    expect(Object.keys(wrong)).toEqual(['ready']);
  });
});

describe('WebSocket origin rule (auth off, the default)', () => {
  let s: Awaited<ReturnType<typeof listening>>;
  beforeAll(async () => {
    s = await listening({ CORS_ORIGIN_REGEX: '^https://ui\\.example$' });
  });

  it('refuses a browser Origin the CORS rule does not allow (403, socket closed), on both WebSocket routes', async () => {
    for (const p of ['/ws/vm-status', `/v0/jobs/${randomUUID()}/events`]) {
      const r = await attempt(`${s.ws}${p}`, { origin: 'http://evil.example' });
      expect(r.status).toBe(403);
      const raw = await rawUpgrade(Number(new URL(s.base).port), p, ['Origin: http://evil.example']);
      expect(raw.head).toBe('HTTP/1.1 403 Forbidden');
      expect(raw.closedByServer).toBe(true);
    }
    expect(await connections(s.app)).toBe(0);
  });

  it('accepts an allowed Origin, the service\'s own origin, and no Origin at all (a non-browser client)', async () => {
    const url = `${s.ws}/v0/jobs/${randomUUID()}/events`;
    const cases: Record<string, string>[] = [{ origin: 'https://ui.example' }, { origin: s.base }, {}];
    for (const headers of cases) {
      const r = await attempt(url, headers);
      expect(r.status).toBe(101);
      r.socket.close();
    }
  });
});

describe('request bodies and shutdown answers', () => {
  it('a Content-Encoding other than identity is refused with 415, whatever the body', async () => {
    const s = await listening();
    const url = `${s.base}/v0/admin/debug/ping`;
    const json = JSON.stringify({ proxmox_node: 'px-testing', hosts: 'testhost' });
    for (const body of [json, gzipSync(json)]) {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
      expect(r.status).toBe(415);
      expect((await r.json()).detail).toMatch(/Content-Encoding: gzip/);
    }
    const br = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, body: json });
    expect(br.status).toBe(415);
    // identity is no encoding: the body is read (here refused by validation, so nothing runs).
    const plain = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, body: '{"hosts":1}' });
    expect(plain.status).toBe(422);
    expect((await (await fetch(`${s.base}/v0/jobs`)).json()).total).toBe(0);
  });

  it('while shutting down (a run still going) a request gets 503 {"detail"} with Retry-After', async () => {
    // A project tree whose ping playbook takes 3 s, so the shutdown has a run to wait for.
    const root = tempDir('r42-slow-root-');
    fs.mkdirSync(path.join(root, 'playbooks'));
    fs.writeFileSync(path.join(root, 'playbooks', 'ping.yml'), fs.readFileSync(path.join(FIXTURES, 'playbooks', 'sleep.yml'), 'utf8').replace('default(60)', 'default(3)'));
    fs.symlinkSync(path.join(FIXTURES, 'catalog'), path.join(root, 'catalog'));
    fs.symlinkSync(path.join(FIXTURES, 'inventory'), path.join(root, 'inventory'));
    const s = await listening({ PROJECT_ROOT_DIR: root, SHUTDOWN_GRACE: '20' });
    const run = fetch(`${s.base}/v0/admin/debug/ping`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ proxmox_node: 'px-testing', hosts: 'testhost' }),
    });
    await waitFor(() => s.app.engine.stats.running === 1, 20_000);
    const closed = s.app.close();
    await new Promise((r) => setTimeout(r, 200));
    const refused = await fetch(`${s.base}/v0/jobs`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toEqual({ detail: ':: err - SERVICE SHUTTING DOWN' });
    expect((await run).status).toBe(200); // the run under way finished within its grace
    await closed;
  });
});
