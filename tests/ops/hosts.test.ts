import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApp } from '../../src/app.js';
import { testConfig } from '../helpers.js';

/**
 * Issue 24, item 10: DNS rebinding. A page of evil.example whose name is made to resolve to the
 * service reaches it with `Host: evil.example` and `Origin: http://evil.example`: every request
 * (HTTP and WebSocket upgrades) naming a host the service is not known by is refused before
 * anything is served. Real listening services, raw TCP and real `ws` clients.
 */

type App = Awaited<ReturnType<typeof createApp>>;
const apps: App[] = [];

async function listening(env: Record<string, string> = {}) {
  const app = await createApp(testConfig({ JOBS_STORE: 'memory', CORS_ORIGIN_REGEX: '^https://ui\\.example$', ...env }), { logger: false });
  apps.push(app);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base, port: Number(new URL(base).port) };
}

afterAll(async () => {
  for (const a of apps.splice(0)) await a.close().catch(() => undefined);
});

/** A GET with the given Host (and other headers) over a fresh connection. */
function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A ws client's attempt with these headers: the status of a refused upgrade, or 101. */
function attempt(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      resolve(101);
      socket.close();
    });
    socket.once('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    socket.once('error', reject);
  });
}

/** A raw upgrade that would stay open: its status line, its body, and whether the server closed it. */
function rawUpgrade(port: number, pathName: string, host: string, origin: string): Promise<{ head: string; text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (c) => (data += c.toString()));
    sock.on('error', () => undefined);
    const done = (closedByServer: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ head: data.split('\r\n')[0] ?? '', text: data, closedByServer });
    };
    const timer = setTimeout(() => done(false), 3000);
    sock.on('end', () => done(true));
    sock.write([
      `GET ${pathName} HTTP/1.1`, `Host: ${host}`, `Origin: ${origin}`, 'Connection: Upgrade', 'Upgrade: websocket',
      'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${Buffer.from(randomUUID().slice(0, 16)).toString('base64')}`, '', '',
    ].join('\r\n'));
  });
}

describe('the Host rule (default ALLOWED_HOSTS)', () => {
  let s: Awaited<ReturnType<typeof listening>>;
  beforeAll(async () => {
    s = await listening();
  });

  it('refuses plain requests for evil.example with 400 and a detail, serving nothing', async () => {
    for (const path of ['/v0/jobs', '/docs/openapi.json', '/readyz', '/metrics']) {
      for (const host of ['evil.example', `evil.example:${s.port}`, 'EVIL.example.', 'localhost.evil.example']) {
        const r = await get(s.port, path, { host, origin: 'http://evil.example' });
        expect([path, host, r.status], r.body).toEqual([path, host, 400]);
        expect(JSON.parse(r.body).detail).toMatch(/^Host not allowed: .* \(add it to ALLOWED_HOSTS\)$/);
        expect(r.body).not.toMatch(/"total"|"paths"|r42_/);
      }
    }
  });

  it('refuses WebSocket upgrades for evil.example, Origin evil.example too (400, socket closed by the server)', async () => {
    for (const p of ['/ws/vm-status?node=px-testing', `/v0/jobs/${randomUUID()}/events`]) {
      const host = `evil.example:${s.port}`;
      expect(await attempt(`ws://127.0.0.1:${s.port}${p}`, { host, origin: `http://${host}` })).toBe(400);
      // an Origin the CORS rule allows does not make a foreign Host acceptable
      expect(await attempt(`ws://127.0.0.1:${s.port}${p}`, { host, origin: 'https://ui.example' })).toBe(400);
      const raw = await rawUpgrade(s.port, p, host, `http://${host}`);
      expect(raw.head).toBe('HTTP/1.1 400 Bad Request');
      expect(raw.text).toContain('ALLOWED_HOSTS');
      expect(raw.closedByServer).toBe(true);
    }
  });

  it('serves the loopback names, the machine\'s host name and its interface addresses, with and without the port', async () => {
    const ipv4 = Object.values(os.networkInterfaces()).flat().filter((i) => i && i.family === 'IPv4' && !i.internal).map((i) => i!.address);
    const names = ['localhost', '127.0.0.1', '[::1]', os.hostname(), ...ipv4];
    for (const name of names) {
      for (const host of [name, `${name}:${s.port}`]) {
        const r = await get(s.port, '/v0/jobs', { host });
        expect([host, r.status]).toEqual([host, 200]);
      }
    }
  });

  it('opens a WebSocket for an allowed origin on an allowed host, and for the service\'s own origin', async () => {
    const p = `/v0/jobs/${randomUUID()}/events`;
    for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`]) {
      expect(await attempt(`ws://127.0.0.1:${s.port}${p}`, { host, origin: 'https://ui.example' })).toBe(101);
      expect(await attempt(`ws://127.0.0.1:${s.port}${p}`, { host, origin: `http://${host}` })).toBe(101);
      expect(await attempt(`ws://127.0.0.1:${s.port}${p}`, { host })).toBe(101);
      // a page of another origin on the same allowed host is no longer "the service's own"
      expect(await attempt(`ws://127.0.0.1:${s.port}${p}`, { host, origin: 'http://evil.example' })).toBe(403);
    }
  });
});

describe('ALLOWED_HOSTS', () => {
  it('adds names and .suffix entries to the defaults', async () => {
    const s = await listening({ ALLOWED_HOSTS: 'api.range42.internal, .lab.example' });
    for (const host of ['api.range42.internal:8000', 'lab.example', 'ui.lab.example:443', `127.0.0.1:${s.port}`]) {
      expect([host, (await get(s.port, '/healthz', { host })).status]).toEqual([host, 200]);
    }
    for (const host of ['evil.example', 'evil-lab.example', 'range42.internal']) {
      expect([host, (await get(s.port, '/healthz', { host })).status]).toEqual([host, 400]);
    }
    expect(await attempt(`ws://127.0.0.1:${s.port}/ws/vm-status?node=px-testing`, { host: 'api.range42.internal:8000', origin: 'http://api.range42.internal:8000' })).not.toBe(400);
  });

  it('`*` turns the Host check off; the WebSocket origin rule then allows only the CORS origins', async () => {
    const s = await listening({ ALLOWED_HOSTS: '*' });
    const host = `evil.example:${s.port}`;
    expect((await get(s.port, '/v0/jobs', { host })).status).toBe(200);
    const p = `/v0/jobs/${randomUUID()}/events`;
    expect(await attempt(`ws://127.0.0.1:${s.port}${p}`, { host, origin: `http://${host}` })).toBe(403);
    expect(await attempt(`ws://127.0.0.1:${s.port}${p}`, { host, origin: 'https://ui.example' })).toBe(101);
  });

  it('refuses an entry that is not a host name at startup', () => {
    expect(() => testConfig({ ALLOWED_HOSTS: 'http://ui.example/' })).toThrow(/ALLOWED_HOSTS/);
  });
});
