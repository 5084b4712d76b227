import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { buildOpenApiDocument } from '../../src/http/openapi.js';
import { derefOpenApi, fixturePlaybook, FIXTURE_INVENTORY, tempDir, testConfig } from '../helpers.js';

type App = Awaited<ReturnType<typeof createApp>>;
const PING = '/v0/admin/debug/ping';
const json = { 'content-type': 'application/json' };

describe('HTTP API on a real engine', () => {
  let app: App;
  beforeAll(async () => {
    app = await createApp(testConfig(), { logger: false });
  });
  afterAll(() => app.close());

  const started = () => app.engine.stats.started;

  it('ping runs ping.yml on the requested host and answers {rc, log_multiline}', async () => {
    const r = await app.inject({ method: 'POST', url: PING, payload: { proxmox_node: 'px-testing', hosts: 'testhost', as_json: true } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = r.json();
    expect(Object.keys(body)).toEqual(['rc', 'log_multiline']);
    expect(body.rc).toBe(0);
    expect(body.log_multiline).toContain('ok: [testhost]');
    expect(body.log_multiline.join('\n')).not.toContain('otherhost');
    expect(r.body).not.toMatch(/\x1b/);
  });

  it('ping with hosts null runs on every host', async () => {
    const r = await app.inject({ method: 'POST', url: PING, payload: { proxmox_node: '', hosts: null } });
    expect(r.statusCode).toBe(200);
    expect(r.json().log_multiline).toEqual(expect.arrayContaining(['ok: [testhost]', 'ok: [otherhost]']));
  });

  it('a failed run answers 500 with the same envelope and the non-zero rc', async () => {
    // a project whose ping playbook fails
    const root = tempDir();
    for (const d of ['catalog', 'inventory', 'playbooks']) fs.mkdirSync(path.join(root, d));
    fs.copyFileSync(fixturePlaybook('fail'), path.join(root, 'playbooks', 'ping.yml'));
    fs.copyFileSync(FIXTURE_INVENTORY, path.join(root, 'inventory', 'hosts.yml'));
    const failing = await createApp(testConfig({ PROJECT_ROOT_DIR: root }), { logger: false });
    try {
      const r = await failing.inject({ method: 'POST', url: PING, payload: { proxmox_node: 'px', hosts: 'testhost' } });
      expect(r.statusCode).toBe(500);
      const body = r.json();
      expect(body.rc).not.toBe(0);
      expect(body.log_multiline.join('\n')).toContain('this play fails on purpose');
    } finally {
      await failing.close();
    }
  });

  it('a limit naming no host or group of the inventory is a 422, and nothing runs (localhost would be this machine)', async () => {
    const before = started();
    for (const hosts of ['no-such-host', 'localhost', '127.0.0.1']) {
      const r = await app.inject({ method: 'POST', url: PING, payload: { proxmox_node: 'px', hosts } });
      expect(r.statusCode, hosts).toBe(422);
      expect(r.json().detail[0]).toMatchObject({ field: 'body.hosts', type: 'value_error', input: hosts });
    }
    expect(started()).toBe(before);
  });

  describe('validation: 422 in the original format, nothing runs', () => {
    const cases: Array<[string, unknown, string | undefined, Array<Partial<Record<'field' | 'type' | 'msg', string>> & { input?: unknown; ctx?: unknown }>]> = [
      ['missing body', undefined, undefined, [{ field: 'body', type: 'missing', msg: 'Field required', input: null, ctx: null }]],
      ['malformed JSON', '{"proxmox_node": ', 'application/json', [{ field: 'body', type: 'json_invalid', msg: 'JSON decode error' }]],
      ['empty JSON body', '', 'application/json', [{ field: 'body', type: 'missing' }]],
      ['body is a list', '[1,2]', 'application/json', [{ field: 'body', type: 'model_attributes_type', input: [1, 2] }]],
      ['pattern mismatch', { proxmox_node: 'px/../x', hosts: 'h' }, undefined, [{ field: 'body.proxmox_node', type: 'string_pattern_mismatch', msg: "String should match pattern '^[A-Za-z0-9-]*$'", input: 'px/../x', ctx: { pattern: '^[A-Za-z0-9-]*$' } }]],
      ['number where a string is required', { proxmox_node: 5, hosts: 'h' }, undefined, [{ field: 'body.proxmox_node', type: 'string_type', msg: 'Input should be a valid string', input: 5 }]],
      ['required field missing', { hosts: 'h' }, undefined, [{ field: 'body.proxmox_node', type: 'missing', input: { hosts: 'h' } }]],
      ['template in a name', { proxmox_node: 'px', hosts: '{{7*6}}' }, undefined, [{ field: 'body.hosts', type: 'string_pattern_mismatch' }]],
      ['newline at the end', { proxmox_node: 'px\n', hosts: 'h' }, undefined, [{ field: 'body.proxmox_node', type: 'string_pattern_mismatch' }]],
      ['not a boolean', { proxmox_node: 'px', hosts: 'h', as_json: 'maybe' }, undefined, [{ field: 'body.as_json', type: 'bool_parsing' }]],
      ['several errors, in field order', { proxmox_node: 'a b', as_json: [] }, undefined, [
        { field: 'body.proxmox_node', type: 'string_pattern_mismatch' }, { field: 'body.as_json', type: 'bool_type' },
      ]],
    ];
    it.each(cases)('%s', async (_name, payload, contentType, expected) => {
      const before = started();
      const r = await app.inject({
        method: 'POST',
        url: PING,
        ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
        headers: payload === undefined ? {} : { 'content-type': contentType ?? 'application/json' },
      });
      expect(r.statusCode).toBe(422);
      const detail = r.json().detail as Array<Record<string, unknown>>;
      expect(detail.map((d) => Object.keys(d))).toEqual(detail.map(() => ['field', 'msg', 'type', 'input', 'ctx']));
      expect(detail).toHaveLength(expected.length);
      expected.forEach((e, i) => expect(detail[i]).toMatchObject(e));
      expect(started()).toBe(before);
    });

    it('accepts what pydantic lax mode accepts ("yes" as a boolean) and ignores unknown keys', async () => {
      const r = await app.inject({ method: 'POST', url: PING, payload: { proxmox_node: 'px', hosts: 'testhost', as_json: 'yes', inventory: 'x', extra: { a: 1 } } });
      expect(r.statusCode).toBe(200);
    });
  });

  it('unknown paths are 404 and wrong methods 405, in JSON', async () => {
    const nf = await app.inject({ method: 'GET', url: '/v0/nope' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toEqual({ detail: 'Not Found' });
    const na = await app.inject({ method: 'GET', url: PING });
    expect(na.statusCode).toBe(405);
    expect(na.json()).toEqual({ detail: 'Method Not Allowed' });
    expect(na.headers.allow).toBe('POST');
  });

  it('refuses an oversized body and a wrong content type with JSON 4xx, and keeps serving', async () => {
    const before = started();
    const big = await app.inject({ method: 'POST', url: PING, payload: JSON.stringify({ proxmox_node: 'x'.repeat(2 * 1024 * 1024), hosts: null }), headers: json });
    expect(big.statusCode).toBe(413);
    expect(typeof big.json().detail).toBe('string');
    // text/plain is read as a string, which is not an object: 422, as FastAPI answers.
    const text = await app.inject({ method: 'POST', url: PING, payload: 'proxmox_node=px', headers: { 'content-type': 'text/plain' } });
    expect(text.statusCode).toBe(422);
    expect(text.json().detail[0]).toMatchObject({ field: 'body', type: 'model_attributes_type' });
    const xml = await app.inject({ method: 'POST', url: PING, payload: '<a/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.statusCode).toBe(415);
    expect(typeof xml.json().detail).toBe('string');
    expect(started()).toBe(before);
    expect((await app.inject({ method: 'GET', url: '/docs/openapi.json' })).statusCode).toBe(200);
  });

  it('every answer carries a request id, and a caller-supplied one is kept', async () => {
    const a = await app.inject({ method: 'GET', url: '/v0/nope' });
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const b = await app.inject({ method: 'GET', url: '/v0/nope', headers: { 'x-request-id': 'gw-123' } });
    expect(b.headers['x-request-id']).toBe('gw-123');
    const c = await app.inject({ method: 'GET', url: '/v0/nope', headers: { 'x-request-id': 'bad id\u0001' } });
    expect(c.headers['x-request-id']).not.toBe('bad id\u0001');
    expect(a.headers['x-content-type-options']).toBe('nosniff');
    expect(a.headers['x-powered-by']).toBeUndefined();
  });

  describe('CORS', () => {
    it('echoes an allowed localhost origin with credentials', async () => {
      for (const origin of ['http://localhost:3000', 'https://127.0.0.1', 'http://[::1]:5173']) {
        const r = await app.inject({ method: 'GET', url: '/docs/openapi.json', headers: { origin } });
        expect(r.headers['access-control-allow-origin']).toBe(origin);
        expect(r.headers['access-control-allow-credentials']).toBe('true');
      }
    });
    it('gives nothing to other origins and refuses their preflights with 400', async () => {
      const r = await app.inject({ method: 'GET', url: '/docs/openapi.json', headers: { origin: 'http://evil.example' } });
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
      const pre = await app.inject({ method: 'OPTIONS', url: PING, headers: { origin: 'http://localhost.evil.example', 'access-control-request-method': 'POST' } });
      expect(pre.statusCode).toBe(400);
      expect(pre.json()).toEqual({ detail: 'Disallowed CORS origin' });
    });
    it('answers an allowed preflight with the methods and max age', async () => {
      const pre = await app.inject({ method: 'OPTIONS', url: PING, headers: { origin: 'http://localhost:8080', 'access-control-request-method': 'DELETE' } });
      expect(pre.statusCode).toBe(204);
      expect(pre.headers['access-control-allow-methods']).toBe('GET, POST, DELETE, OPTIONS');
      expect(pre.headers['access-control-max-age']).toBe('600');
    });
  });

  describe('docs', () => {
    it('serves the OpenAPI document, Swagger UI and a ReDoc page with local scripts only', async () => {
      const doc = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json();
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.info.title).toBe('CR42 - API');
      // hosts is nullable: it may be left out (then null: every host)
      expect(derefOpenApi(doc).paths[PING].post.requestBody.content['application/json'].schema.required).toEqual(['proxmox_node']);
      const swagger = await app.inject({ method: 'GET', url: '/docs/swagger' });
      expect(swagger.statusCode).toBe(200);
      const redoc = await app.inject({ method: 'GET', url: '/docs/redoc' });
      expect(redoc.body).toContain('<script src="/docs/redoc/redoc.standalone.js">');
      expect(redoc.body).not.toMatch(/https?:\/\//);
      const script = await app.inject({ method: 'GET', url: '/docs/redoc/redoc.standalone.js' });
      expect(script.statusCode).toBe(200);
      expect(script.body.length).toBeGreaterThan(500_000);
    });

    it('the committed openapi.json matches the code (run `npm run openapi` after changing a route)', async () => {
      const committed = fs.readFileSync(path.join(REPO_ROOT, 'openapi.json'), 'utf8');
      expect(committed).toBe(await buildOpenApiDocument());
    });
  });
});

describe('HTTP API: refusals before any run', () => {
  it('a missing ping playbook or inventory is a 400 with a JSON detail', async () => {
    const root = tempDir();
    for (const d of ['catalog', 'inventory', 'playbooks']) fs.mkdirSync(path.join(root, d));
    const app = await createApp(testConfig({ PROJECT_ROOT_DIR: root }), { logger: false });
    const noPlaybook = await app.inject({ method: 'POST', url: PING, payload: { proxmox_node: 'px', hosts: null } });
    expect(noPlaybook.statusCode).toBe(400);
    expect(noPlaybook.json()).toEqual({ detail: `:: MISSING PLAYBOOK : ${path.join(root, 'playbooks', 'ping.yml')}` });
    fs.copyFileSync(fixturePlaybook('ping'), path.join(root, 'playbooks', 'ping.yml'));
    const noInventory = await app.inject({ method: 'POST', url: PING, payload: { proxmox_node: 'px', hosts: null } });
    expect(noInventory.json()).toEqual({ detail: `:: MISSING INVENTORY : ${path.join(root, 'inventory', 'hosts.yml')}` });
    expect(app.engine.stats.started).toBe(0);
    await app.close();
  });

  it('a full queue answers 503 with Retry-After, in JSON', async () => {
    const app = await createApp(testConfig({ RUNNER_MAX_CONCURRENT: '1', RUNNER_MAX_QUEUED: '0' }), { logger: false });
    const blocker = app.engine.start({ playbook: fixturePlaybook('sleep'), inventory: FIXTURE_INVENTORY, limit: 'testhost', extravars: { sleep_seconds: 30 } });
    const r = await app.inject({ method: 'POST', url: PING, payload: { proxmox_node: 'px', hosts: 'testhost' } });
    expect(r.statusCode).toBe(503);
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(r.json().detail).toMatch(/QUEUE FULL/);
    blocker.cancel();
    await blocker.done;
    await app.close();
  });

  it('with DEBUG=true a validation failure is logged at ERROR level with its details', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb(); } });
    const app = await createApp(testConfig({ DEBUG: 'true' }), { logger: pino({ level: 'info' }, sink) });
    await app.inject({ method: 'POST', url: PING, payload: { proxmox_node: 'a b', hosts: null } });
    const logged = lines.find((l) => l.msg === 'request validation failed');
    expect(logged?.level).toBe(50);
    expect(JSON.stringify(logged?.errors)).toContain('body.proxmox_node');
    expect(lines.every((l) => typeof l.reqId === 'string' || l.reqId === undefined)).toBe(true);
    expect(lines.filter((l) => l.req || l.res).every((l) => typeof l.reqId === 'string')).toBe(true);
    await app.close();
  });
});

describe('HTTP API over a real socket', () => {
  it('answers ping through a listening server', async () => {
    const app = await createApp(testConfig(), { logger: false });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const r = await fetch(`${address}${PING}`, { method: 'POST', headers: json, body: JSON.stringify({ proxmox_node: 'px', hosts: 'testhost' }) });
    expect(r.status).toBe(200);
    expect((await r.json()).rc).toBe(0);
    await app.close();
  });
});

