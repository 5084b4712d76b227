import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { startDocumentTarget } from './document-target.js';

/**
 * Absurd input never runs anything: every field of every operation, read from the served OpenAPI
 * document, has a bound (strings a maxLength, numbers both ends, arrays maxItems and items with a
 * pattern or a range), and a value past it — one character too many, one past either end, 1e300,
 * 1e400 (JavaScript's Infinity), an array one item too long, items such as "abc" or a path — is a
 * 422 in the validation format. Nothing starts and no request reaches Proxmox.
 */

type Schema = {
  type?: string | string[]; pattern?: string; maxLength?: number; minimum?: number; maximum?: number; maxItems?: number; maxProperties?: number;
  properties?: Record<string, Schema>; additionalProperties?: Schema | boolean; items?: Schema; examples?: unknown[]; description?: string;
};
interface Op { method: string; url: string; operationId: string; schema: Schema }

let target: Awaited<ReturnType<typeof startDocumentTarget<Schema>>>;
let sim: Simulator;
let app: typeof target.app;
let ops: Op[] = [];

beforeAll(async () => {
  target = await startDocumentTarget<Schema>();
  ({ sim, app, ops } = target);
});
afterAll(() => target.close());

const typesOf = (s: Schema) => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

/** What is missing for `s` to be bounded; '' when it is. Free-form maps (extra_vars) are bounded by their size. */
function unbounded(s: Schema, where: string): string[] {
  const t = typesOf(s);
  const out: string[] = [];
  if (t.includes('string') && s.maxLength === undefined) out.push(`${where}: string without maxLength`);
  if ((t.includes('integer') || t.includes('number')) && (s.minimum === undefined || s.maximum === undefined)) out.push(`${where}: number without both ends`);
  if (t.includes('array')) {
    if (s.maxItems === undefined) out.push(`${where}: array without maxItems`);
    if (s.items) out.push(...unbounded(s.items, `${where}[]`));
  }
  if (t.includes('object')) {
    for (const [k, sub] of Object.entries(s.properties ?? {})) out.push(...unbounded(sub, `${where}.${k}`));
    if (typeof s.additionalProperties === 'object' && s.maxProperties === undefined) out.push(`${where}: map without maxProperties`);
  }
  return out;
}

/** Values past the bounds of `s`, as JSON text (1e400 cannot be written from JavaScript). */
function beyond(s: Schema): Array<[string, string]> {
  const t = typesOf(s);
  const out: Array<[string, string]> = [];
  if (t.includes('string') && s.maxLength !== undefined) {
    out.push(['one character too many', JSON.stringify('1'.repeat(s.maxLength + 1))]);
    out.push(['100 KB', JSON.stringify('a'.repeat(100_000))]);
  }
  if (t.includes('integer') || t.includes('number')) {
    if (s.maximum !== undefined) out.push(['past the maximum', String(s.maximum + 1)]);
    if (s.minimum !== undefined) out.push(['below the minimum', String(s.minimum - 1)]);
    out.push(['1e300', '1e300'], ['1e400', '1e400'], ['10,000 digits', '9'.repeat(10_000)]);
    if (t.includes('string')) out.push(['10,000 digits as a string', JSON.stringify('9'.repeat(10_000))]);
  }
  if (t.includes('array') && s.maxItems !== undefined && s.items) {
    const ok = JSON.stringify((s.items.examples?.[0] as unknown) ?? '4001');
    out.push(['one item too many', `[${Array(s.maxItems + 1).fill(ok).join(',')}]`]);
    if (s.items.pattern || typesOf(s.items).includes('integer')) {
      for (const bad of ['abc', '4001/../../version', ' 4001', '4001 ', '']) out.push([`an item ${JSON.stringify(bad)}`, `[${JSON.stringify(bad)}]`]);
    }
  }
  return out;
}

describe('bounds on every field', () => {
  it('every body field of every operation has a bound that fits it', () => {
    expect(ops.length).toBeGreaterThan(90);
    const missing = ops.flatMap((op) => Object.entries(op.schema.properties ?? {}).flatMap(([k, s]) => unbounded(s, `${op.operationId}.${k}`)));
    expect(missing).toEqual([]);
  });

  it('a value past the bound is a 422 in the validation format, and nothing runs', async () => {
    const started = app.engine.stats.started;
    const lastRequest = sim.requestLog.at(-1);
    const wrong: string[] = [];
    let tried = 0;
    for (const op of ops) {
      const example = (op.schema.examples?.[0] ?? {}) as Record<string, unknown>;
      for (const [field, s] of Object.entries(op.schema.properties ?? {})) {
        for (const [what, value] of beyond(s)) {
          tried++;
          const rest = JSON.stringify({ ...example, [field]: undefined }).slice(1, -1);
          const payload = `{${rest}${rest ? ',' : ''}${JSON.stringify(field)}:${value}}`;
          const r = await app.inject({ method: op.method, url: op.url, payload, headers: { 'content-type': 'application/json' } });
          const detail = r.statusCode === 422 ? (r.json().detail as Array<{ field: string }>) : null;
          if (!detail || !detail.some((d) => d.field === `body.${field}` || d.field.startsWith(`body.${field}.`))) {
            wrong.push(`${op.operationId}.${field} ${what}: ${r.statusCode} ${r.body.slice(0, 200)}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(tried).toBeGreaterThan(1000);
    expect(app.engine.stats.started).toBe(started);
    expect(sim.requestLog.at(-1)).toBe(lastRequest);
    console.log(`bounds: ${tried} out-of-bound values over ${ops.length} operations, all 422`);
  });

  it('a non-finite number anywhere (a free-form map included) is refused: no job that fails later', async () => {
    const r = await app.inject({
      method: 'POST', url: '/v0/admin/run/bundles/ping/run', headers: { 'content-type': 'application/json' },
      payload: '{"proxmox_node":"px-testing","hosts":"px-testing","extra_vars":{"depth":{"x":1e400}}}',
    });
    expect(r.statusCode).toBe(422);
    expect(r.json().detail).toEqual([expect.objectContaining({ field: 'body.extra_vars.depth.x', type: 'finite_number' })]);
    const jobs = (await app.inject({ method: 'GET', url: '/v0/jobs' })).json();
    expect(jobs.total).toBe(0);
  });
});
