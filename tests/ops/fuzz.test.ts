import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { startDocumentTarget } from './document-target.js';

/**
 * Bad input generated from the served OpenAPI document: for every operation and every body field,
 * wrong types, null where null is not allowed, pattern breakers (traversal, shell, Jinja, newlines,
 * NUL, very long, look-alike unicode); plus malformed JSON, wrong content types, an oversized body
 * and deep nesting. Every case must get a 4xx with a JSON body, nothing may run (no playbook
 * started, no request reaching Proxmox), and the server must keep answering.
 */

type Schema = { type?: string | string[]; pattern?: string; properties?: Record<string, Schema>; required?: string[]; examples?: unknown[]; anyOf?: Schema[] };
let target: Awaited<ReturnType<typeof startDocumentTarget<Schema>>>;
let sim: Simulator;
let app: typeof target.app;
let ops: { method: string; url: string; operationId: string; schema: Schema }[] = [];

beforeAll(async () => {
  target = await startDocumentTarget<Schema>();
  ({ sim, app, ops } = target);
});
afterAll(() => target.close());

const BREAKERS = ['../../etc/passwd', 'a;reboot', '$(id)', '`id`', '{{ lookup("pipe","id") }}', '{% raw %}x', 'a\nb', 'a\u0000b', 'x'.repeat(10_000), 'ｐｘ－ｔｅｓｔｉｎｇ', 'a b', '-', '--limit=all'];
const nullable = (s: Schema) => (Array.isArray(s.type) && s.type.includes('null')) || (s.anyOf ?? []).some((x) => x.type === 'null');
const typesOf = (s: Schema) => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : (s.anyOf ?? []).flatMap((x) => (Array.isArray(x.type) ? x.type : [x.type])));

function cases(schema: Schema): [string, unknown][] {
  const example = (schema.examples?.[0] ?? {}) as Record<string, unknown>;
  const out: [string, unknown][] = [];
  for (const [field, s] of Object.entries(schema.properties ?? {})) {
    const types = typesOf(s);
    const wrong = types.includes('object') ? 'not-an-object' : { nested: { deep: true } };
    out.push([`${field}: wrong type`, { ...example, [field]: wrong }]);
    if (!types.includes('array') && !types.includes('object')) out.push([`${field}: an array`, { ...example, [field]: ['x'] }]);
    if (!nullable(s) && s.type !== undefined) out.push([`${field}: null`, { ...example, [field]: null }]);
    if (s.pattern) {
      const re = new RegExp(s.pattern, 'u');
      for (const b of BREAKERS) if (!re.test(b)) out.push([`${field}: ${JSON.stringify(b).slice(0, 30)}`, { ...example, [field]: b }]);
    }
  }
  for (const field of schema.required ?? []) {
    out.push([`${field}: missing`, Object.fromEntries(Object.entries(example).filter(([k]) => k !== field))]);
  }
  return out;
}

describe('bad input derived from the OpenAPI document', () => {
  it('every field of every operation: 4xx JSON, nothing runs', async () => {
    expect(ops.length).toBeGreaterThan(80);
    const started = app.engine.stats.started;
    const seen = sim.requestLog.length;
    const wrong: string[] = [];
    let tried = 0;
    for (const op of ops) {
      for (const [what, body] of cases(op.schema)) {
        tried++;
        const r = await app.inject({ method: op.method, url: op.url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        const json = r.headers['content-type']?.toString().includes('application/json');
        if (r.statusCode < 400 || r.statusCode >= 500 || !json) wrong.push(`${op.operationId} ${what}: ${r.statusCode} ${r.body.slice(0, 160)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(tried).toBeGreaterThan(1000);
    expect(app.engine.stats.started).toBe(started);
    expect(sim.requestLog.length).toBe(seen);
    console.log(`fuzz: ${tried} bad bodies over ${ops.length} operations, all refused with 4xx JSON`);
  });

  it('malformed JSON, wrong content types, an oversized body, deep nesting, prototype keys', async () => {
    const started = app.engine.stats.started;
    const url = '/v0/admin/proxmox/vms/vm_id/start';
    const send = (payload: string, type = 'application/json') => app.inject({ method: 'POST', url, payload, headers: { 'content-type': type } });
    const results = [
      await send('{"proxmox_node": "px-testing", "vm_id": '),
      await send('{"proxmox_node":"px-testing","vm_id":"4001"}', 'text/plain'),
      await send('proxmox_node=px-testing&vm_id=4001', 'application/x-www-form-urlencoded'),
      await send(JSON.stringify({ proxmox_node: 'px-testing', vm_id: '4001', pad: 'x'.repeat(2 * 1024 * 1024) })),
      await send(`${'['.repeat(50_000)}${']'.repeat(50_000)}`),
      await send('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'),
    ];
    for (const [i, r] of results.entries()) {
      expect(r.statusCode, `case ${i}: ${r.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, `case ${i}: ${r.body.slice(0, 200)}`).toBeLessThan(500);
      expect(() => JSON.parse(r.body)).not.toThrow();
    }
    expect(results[3]!.statusCode).toBe(413);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(app.engine.stats.started).toBe(started);
  });

  it('names that reach the filesystem or Ansible are checked against traversal and injection', async () => {
    const started = app.engine.stats.started;
    const names = ['..%2F..%2Fetc', '%2E%2E%2Fplaybooks%2Fgeneric', 'ping%00', 'a%20b', '%7B%7Bx%7D%7D', 'ping;id', '-e@x'];
    for (const n of names) {
      for (const kind of ['bundles', 'scenarios']) {
        const r = await app.inject({ method: 'POST', url: `/v0/admin/run/${kind}/${n}/run`, payload: { proxmox_node: 'px-testing', hosts: 'px-testing' } });
        expect(r.statusCode, `${kind}/${n}: ${r.body}`).toBeGreaterThanOrEqual(400);
        expect(r.statusCode).toBeLessThan(500);
      }
    }
    for (const hosts of ['all,!x', 'px-testing;id', '@/etc/passwd', '--limit all', '{{7*7}}']) {
      const r = await app.inject({ method: 'POST', url: '/v0/admin/run/bundles/ping/run', payload: { proxmox_node: 'px-testing', hosts } });
      expect(r.statusCode, hosts).toBe(422);
    }
    expect(app.engine.stats.started).toBe(started);
  });

  it('keeps answering afterwards', async () => {
    const r = await app.inject({ method: 'POST', url: '/v0/admin/debug/ping', payload: { proxmox_node: 'px-testing', hosts: 'px-testing' } });
    expect(r.statusCode).toBe(200);
  });
});
