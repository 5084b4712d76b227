import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { routeTable } from '../../src/routes/table.js';
import { FIXTURES, testConfig } from '../helpers.js';

type Golden = Array<{ method: string; path: string; operationId: string }>;
const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'routes_golden.json'), 'utf8')) as Golden;
// The original's 80 HTTP operations (from the wire contract's routes.json, WebSocket left out).
const original = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'original_routes.json'), 'utf8')) as Array<{ method: string; path: string }>;

describe('the route table', () => {
  let doc: { paths: Record<string, Record<string, { operationId: string; tags: string[]; summary: string }>> };
  let app: Awaited<ReturnType<typeof createApp>>;
  beforeAll(async () => {
    app = await createApp(testConfig(), { logger: false });
    doc = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json();
  });
  afterAll(() => app.close());

  const served = () => new Set(Object.entries(doc.paths).flatMap(([p, ms]) => Object.keys(ms).map((m) => `${m.toUpperCase()} ${p}`)));

  it('serves every route of the golden list (a disappearing route fails here)', () => {
    const s = served();
    expect(golden.filter((g) => !s.has(`${g.method} ${g.path}`))).toEqual([]);
  });

  it("serves all 80 operations of the original's contract", () => {
    expect(original).toHaveLength(80);
    const s = served();
    expect(original.filter((r) => !s.has(`${r.method} ${r.path}`))).toEqual([]);
  });

  it('has clean, unique operation ids, tags and summaries', () => {
    const ops = Object.values(doc.paths).flatMap((ms) => Object.values(ms));
    const ids = ops.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const o of ops) {
      expect(o.operationId).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(o.summary.trim()).toBe(o.summary);
      expect(o.summary.length).toBeGreaterThan(3);
      for (const t of o.tags) expect(t.trim()).toBe(t);
    }
  });

  it('every route of the table has a body schema or answers without one, and a plan', () => {
    for (const def of routeTable) {
      expect(typeof def.plan).toBe('function');
      if (def.operationId !== 'debug_func_test') expect(def.body, def.operationId).toBeDefined();
    }
  });

  it('keeps the double-slash network path and serves the single-slash one too', () => {
    const s = served();
    expect(s.has('POST /v0/admin/proxmox/network//node/list')).toBe(true);
    expect(s.has('POST /v0/admin/proxmox/network/node/list')).toBe(true);
  });
});
