import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { simulatorInventory, testConfig } from '../helpers.js';

/** /metrics, /healthz, /readyz and the optional bearer token. */

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
});
afterAll(async () => sim.close());

describe('observability', () => {
  it('counts requests by route and status, and runs by outcome, in Prometheus format', async () => {
    const app = await createApp(testConfig(), { logger: false });
    await app.inject({ method: 'POST', url: '/v0/admin/debug/ping', payload: { proxmox_node: 'px-testing', hosts: 'testhost' } });
    await app.inject({ method: 'POST', url: '/v0/admin/debug/ping', payload: { hosts: 'bad host' } });
    const r = await app.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    expect(r.body).toMatch(/r42_http_requests_total\{method="POST",route="\/v0\/admin\/debug\/ping",status="200"\} 1/);
    expect(r.body).toMatch(/r42_http_requests_total\{method="POST",route="\/v0\/admin\/debug\/ping",status="422"\} 1/);
    expect(r.body).toMatch(/r42_runs_total\{status="successful"\} 1/);
    expect(r.body).toMatch(/r42_run_duration_seconds_count 1/);
    expect(r.body).toContain('r42_runs_queued 0');
    expect(r.body).toContain('r42_ws_status_clients 0');
    const doc = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json();
    expect(Object.keys(doc.paths).filter((p: string) => /metrics|healthz|readyz/.test(p))).toEqual([]);
    await app.close();
  });

  it('is ready with a reachable Proxmox, and says what is missing otherwise', async () => {
    const ok = await createApp(testConfig({ API_BACKEND_INVENTORY_DIR: simulatorInventory(sim) }), { logger: false });
    expect((await ok.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await ok.inject({ method: 'GET', url: '/readyz' });
    expect([ready.statusCode, ready.json().ready]).toEqual([200, true]);
    await ok.close();

    const bad = await createApp(testConfig({ ANSIBLE_RUNNER_BIN: '/nonexistent/ansible-runner' }), { logger: false });
    const r = await bad.inject({ method: 'GET', url: '/readyz' });
    expect(r.statusCode).toBe(503);
    expect(r.json().checks).toMatchObject({
      ansible_runner: { ok: false, detail: '/nonexistent/ansible-runner is not executable' },
      inventory: { ok: false },
      proxmox: { ok: false, detail: 'no credentials' },
    });
    await bad.close();

    sim.setNodeOnline('px-testing', true);
    sim.setFaults({ errorRate: 1 });
    const down = await createApp(testConfig({ API_BACKEND_INVENTORY_DIR: simulatorInventory(sim) }), { logger: false });
    const d = await down.inject({ method: 'GET', url: '/readyz' });
    expect(d.statusCode).toBe(503);
    expect(d.json().checks.proxmox.ok).toBe(false);
    sim.setFaults({});
    await down.close();
  });
});

describe('optional bearer token', () => {
  it('is off by default, and when set refuses missing or wrong tokens with 401 JSON', async () => {
    const token = 'tok-' + 'x'.repeat(40);
    const app = await createApp(testConfig({ API_AUTH_TOKEN: token }), { logger: false });
    const call = (authorization?: string) => app.inject({ method: 'POST', url: '/v0/admin/debug/ping', payload: { hosts: 'bad host' }, headers: authorization ? { authorization } : {} });
    const none = await call();
    expect([none.statusCode, none.json()]).toEqual([401, { detail: 'Not authenticated' }]);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect((await call(`Bearer ${token}x`)).statusCode).toBe(401);
    expect((await call(`Basic ${token}`)).statusCode).toBe(401);
    expect((await call(`Bearer ${token}`)).statusCode).toBe(422); // authenticated: reaches validation
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close();

    const open = await createApp(testConfig(), { logger: false });
    expect((await open.inject({ method: 'POST', url: '/v0/admin/debug/ping', payload: { hosts: 'bad host' } })).statusCode).toBe(422);
    await open.close();
  });
});
