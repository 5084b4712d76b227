import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { tempDir } from '../helpers.js';
import { call, client, data } from './client.js';

/** The HTTP layer: envelope, headers, routing, parameter decoding, authentication, faults. */

let sim: Simulator;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  api = client(sim);
});
afterAll(async () => sim.close());
beforeEach(() => sim.reset());

describe('envelope and routing', () => {
  it('answers {"data": ...} with the exact PVE headers', async () => {
    const r = await api.get('/version');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(r.headers.server).toBe('pve-api-daemon/3.0');
    expect(r.headers['cache-control']).toBe('max-age=0');
    expect(r.body).toEqual({ data: { version: '8.4.1', release: '8.4', repoid: expect.stringMatching(/^[0-9a-f]{16}$/) } });
  });

  it('answers 501 for unknown paths and unsupported methods, with the method in the message', async () => {
    const r = await api.get('/nodes/px-testing/bogus');
    expect([r.status, r.reason]).toEqual([501, "Method 'GET /nodes/px-testing/bogus' not implemented"]);
    expect(r.body).toEqual({ data: null, message: "Method 'GET /nodes/px-testing/bogus' not implemented\n" });
    expect((await api.del('/version')).status).toBe(501);
  });

  it('fails an unknown node like a hostname lookup', async () => {
    const r = await api.get('/nodes/nowhere/qemu');
    expect(r.status).toBe(500);
    expect(r.reason).toBe("hostname lookup 'nowhere' failed - failed to get address info for: nowhere: Name or service not known");
  });

  it('ignores trailing and doubled slashes and accepts percent-encoded and raw UPIDs', async () => {
    expect((await api.get('//nodes//px-testing/qemu/')).status).toBe(200);
    const upid = await data<string>(api.post('/nodes/px-testing/qemu/4001/status/start'));
    expect((await api.get(`/nodes/px-testing/tasks/${upid}/status`)).status).toBe(200);
    expect((await api.get(`/nodes/px-testing/tasks/${encodeURIComponent(upid)}/status`)).status).toBe(200);
    const junk = await api.get('/nodes/px-testing/tasks/UPID:nope/status');
    expect(junk.body!.errors).toEqual({ upid: 'unable to parse worker upid' });
  });

  it('compresses large replies for clients that accept gzip', async () => {
    const r = await api.get('/cluster/resources', {}, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(r.headers['content-encoding']).toBe('gzip');
  });
});

describe('parameters', () => {
  it('decodes form bodies (also split on ;), JSON bodies, and lets the query override the body', async () => {
    await data(api.put('/nodes/px-testing/qemu/3001/config', {}, { rawBody: 'cores=3;sockets=2', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }));
    let cfg = await data<Record<string, unknown>>(api.get('/nodes/px-testing/qemu/3001/config'));
    expect([cfg.cores, cfg.sockets]).toEqual([3, 2]);
    await data(api.put('/nodes/px-testing/qemu/3001/config', { cores: 5, onboot: true }, { encoding: 'json' }));
    cfg = await data<Record<string, unknown>>(api.get('/nodes/px-testing/qemu/3001/config'));
    expect([cfg.cores, cfg.onboot]).toEqual([5, 1]);
    await data(api.put('/nodes/px-testing/qemu/3001/config?cores=6', { cores: 7 }));
    cfg = await data<Record<string, unknown>>(api.get('/nodes/px-testing/qemu/3001/config'));
    expect(cfg.cores).toBe(6);
  });

  it('rejects undeclared and malformed parameters with 400 and per-parameter messages', async () => {
    const r = await api.post('/nodes/px-testing/qemu/9221/clone', { newid: 'abc', full: 'True', colour: 'red' });
    expect([r.status, r.reason]).toEqual([400, 'Parameter verification failed.']);
    expect(r.body).toEqual({
      data: null,
      message: 'Parameter verification failed.\n',
      errors: {
        newid: "type check ('integer') failed - got 'abc'",
        full: "type check ('boolean') failed - got 'True'",
        colour: 'property is not defined in schema and the schema does not allow additional properties',
      },
    });
    const missing = await api.post('/nodes/px-testing/qemu/9221/clone', {});
    expect(missing.body!.errors).toEqual({ newid: 'property is missing and it is not optional' });
  });

  it('refuses a body parameter that contradicts the URI', async () => {
    const r = await api.put('/nodes/px-testing/qemu/3001/config', { vmid: 3002, cores: 1 });
    expect(r.body!.errors).toEqual({ vmid: 'duplicate parameter (already defined in URI) with conflicting values!' });
  });

  it('refuses other content types (506) and bodies on GET (501)', async () => {
    const xml = await api.post('/nodes/px-testing/qemu/3001/status/start', {}, { rawBody: '<a/>', headers: { 'Content-Type': 'text/xml' } });
    expect(xml.status).toBe(506);
    const getBody = await call(sim, 'GET', '/version', {}, { rawBody: 'x=1' });
    expect(getBody.status).toBe(501);
  });
});

describe('authentication', () => {
  it('answers 401 "No ticket" with an empty body without credentials', async () => {
    const r = await api.get('/nodes', {}, { auth: 'none' });
    expect([r.status, r.reason, r.raw]).toEqual([401, 'No ticket', '']);
    expect(r.headers['content-type']).toBeUndefined();
  });

  it('refuses a wrong token secret and an unknown token', async () => {
    const wrong = await api.get('/nodes', {}, { auth: { authorization: `PVEAPIToken=${sim.token.user}!${sim.token.tokenId}=00000000-0000-0000-0000-000000000000` } });
    expect([wrong.status, wrong.reason]).toEqual([401, 'Authentication failed!']);
    const unknown = await api.get('/nodes', {}, { auth: { authorization: `PVEAPIToken=${sim.token.user}!other=${sim.token.secret}` } });
    expect(unknown.status).toBe(401);
    const spaced = await api.get('/nodes', {}, { auth: { authorization: `PVEAPIToken ${sim.token.user}!${sim.token.tokenId}=${sim.token.secret}` } });
    expect(spaced.status).toBe(200);
  });

  it('logs in with a password, needs the CSRF token on writes, and renews with the ticket', async () => {
    const bad = await api.post('/access/ticket', { username: 'root@pam', password: 'nope' }, { auth: 'none' });
    expect([bad.status, bad.reason]).toEqual([401, 'authentication failure']);
    expect(bad.body).toEqual({ data: null, message: 'authentication failure\n' });

    const login = await data<{ ticket: string; CSRFPreventionToken: string; username: string }>(
      api.post('/access/ticket', { username: 'root', realm: 'pam', password: 'range42-sim' }, { auth: 'none' }));
    expect(login.username).toBe('root@pam');
    expect(login.ticket).toMatch(/^PVE:root@pam:[0-9A-F]{8}::.+$/);
    expect(login.CSRFPreventionToken).toMatch(/^[0-9A-F]{8}:.+$/);

    expect((await api.get('/nodes', {}, { auth: { cookie: login.ticket } })).status).toBe(200);
    expect((await api.get('/nodes', {}, { auth: { cookie: encodeURIComponent(login.ticket) } })).status).toBe(200);
    const noCsrf = await api.post('/nodes/px-testing/qemu/4001/status/start', {}, { auth: { cookie: login.ticket } });
    expect([noCsrf.status, noCsrf.reason]).toEqual([401, 'Permission denied - invalid csrf token']);
    const withCsrf = await api.post('/nodes/px-testing/qemu/4001/status/start', {}, { auth: { cookie: login.ticket, csrf: login.CSRFPreventionToken } });
    expect(withCsrf.status).toBe(200);
    expect(String(withCsrf.body!.data)).toMatch(/:root@pam:$/);

    const renewed = await api.post('/access/ticket', { username: 'root@pam', password: login.ticket }, { auth: 'none' });
    expect(renewed.status).toBe(200);
    const forged = await api.get('/nodes', {}, { auth: { cookie: login.ticket.replace(/::.*/, '::AAAA') } });
    expect([forged.status, forged.reason]).toEqual([401, 'Authentication failed!']);
  });

  it('delays 401 replies by the configured time, as Proxmox does (3 s there)', async () => {
    const slow = await startSimulator({ port: 0, unauthorizedDelayMs: 300 });
    try {
      const t0 = Date.now();
      const r = await call(slow, 'GET', '/nodes', {}, { auth: 'none' });
      expect(r.status).toBe(401);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    } finally {
      await slow.close();
    }
  });

  it('splits token tasks into user and tokenid', async () => {
    const upid = await data<string>(api.post('/nodes/px-testing/qemu/4001/status/start'));
    expect(await data(api.get(`/nodes/px-testing/tasks/${upid}/status`))).toMatchObject({ user: 'range42_api@pam', tokenid: 'r42', status: 'stopped', exitstatus: 'OK' });
  });
});

describe('faults and operations', () => {
  it('fails the requested share of requests with 500 and takes nodes offline', async () => {
    sim.setFaults({ errorRate: 1 });
    expect((await api.get('/version')).status).toBe(500);
    sim.setFaults({});
    sim.setNodeOnline('px-lab-02', false);
    const nodes = await data<{ node: string; status: string }[]>(api.get('/nodes'));
    expect(nodes.find((n) => n.node === 'px-lab-02')!.status).toBe('offline');
    expect((await api.get('/nodes/px-lab-02/qemu')).status).toBe(595);
    expect((await api.get('/nodes/px-testing/qemu')).status).toBe(200);
  });

  it('leaves a request unanswered under timeoutRate 1', async () => {
    sim.setFaults({ timeoutRate: 1 });
    const outcome = await Promise.race([api.get('/version').then(() => 'answered'), new Promise((r) => setTimeout(() => r('hung'), 300))]);
    expect(outcome).toBe('hung');
    sim.setFaults({});
  });

  it('resets the connection under resetRate 1, and answers again once it is 0', async () => {
    sim.setFaults({ resetRate: 1 });
    const err = await api.get('/version').then(() => null, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).toBe('ECONNRESET');
    sim.setFaults({});
    expect((await api.get('/version')).status).toBe(200);
  });

  it('fails exactly the next N requests with errorNext / resetNext (also through POST /_sim/faults)', async () => {
    sim.setFaults({ errorNext: 2 });
    expect((await api.get('/version')).status).toBe(500);
    expect((await api.get('/version')).status).toBe(500);
    expect((await api.get('/version')).status).toBe(200);
    const { Agent, request } = await import('undici');
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    const set = await request(`https://${sim.apiHost}/_sim/faults`, { method: 'POST', body: JSON.stringify({ resetNext: 1 }), dispatcher });
    await set.body.text();
    await dispatcher.close();
    expect(set.statusCode).toBe(200);
    const err = await api.get('/version').then(() => null, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).toBe('ECONNRESET');
    expect((await api.get('/version')).status).toBe(200);
    sim.setFaults({});
  });

  it('serves the control API apart from /api2', async () => {
    const r = await fetchJson(`https://${sim.apiHost}/_sim/state`);
    expect(r.data.nodes.map((n: { name: string }) => n.name)).toContain('px-testing');
  });

  it('keeps state across restarts with a state file', async () => {
    const dir = tempDir();
    const stateFile = path.join(dir, 'state.json');
    const first = await startSimulator({ port: 0, stateFile });
    await data(call(first, 'PUT', '/nodes/px-testing/qemu/3001/config', { description: 'kept' }));
    await first.close();
    expect(fs.existsSync(stateFile)).toBe(true);
    const second = await startSimulator({ port: 0, stateFile });
    try {
      const cfg = await data<Record<string, unknown>>(call(second, 'GET', '/nodes/px-testing/qemu/3001/config'));
      expect(cfg.description).toBe('kept');
    } finally {
      await second.close();
    }
  });

  it('logs requests with their principal and status', async () => {
    await api.get('/nodes');
    expect(sim.requestLog.at(-1)).toMatchObject({ method: 'GET', path: '/nodes', status: 200, principal: 'range42_api@pam!r42' });
  });
});

async function fetchJson(url: string): Promise<any> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    https.get(url, { rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(JSON.parse(text)));
    }).on('error', reject);
  });
}


describe('the TLS certificate', () => {
  it('is made once in the cert dir, names localhost, 127.0.0.1 and ::1, verifies by name and address, and is reused', async () => {
    const { default: https } = await import('node:https');
    const { X509Certificate } = await import('node:crypto');
    const certDir = path.join(tempDir(), 'cert');
    const first = await startSimulator({ port: 0, certDir });
    try {
      const pem = fs.readFileSync(first.certFile, 'utf8');
      const x509 = new X509Certificate(pem);
      expect(x509.subject).toBe('OU=PVE Cluster Node\nO=Proxmox Virtual Environment\nCN=range42-sim');
      expect(x509.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
      expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
      expect(Date.parse(x509.validTo) - Date.now()).toBeGreaterThan(3600 * 86_400_000);
      expect(fs.statSync(path.join(certDir, 'pve-ssl.key')).mode & 0o077).toBe(0);
      // Verified against itself as the only CA, by name and by address.
      const port = new URL(first.url).port;
      for (const host of ['localhost', '127.0.0.1']) {
        const status = await new Promise<number>((resolve, reject) => {
          https.get({ host, port, path: '/api2/json/version', ca: pem, servername: host === 'localhost' ? host : undefined }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          }).on('error', reject);
        });
        expect(status, host).toBe(401);
      }
    } finally {
      await first.close();
    }
    const again = await startSimulator({ port: 0, certDir });
    try {
      expect(fs.readFileSync(again.certFile, 'utf8')).toBe(fs.readFileSync(first.certFile, 'utf8'));
    } finally {
      await again.close();
    }
  });
});
