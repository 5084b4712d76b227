import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { routeTable } from '../../src/routes/table.js';

/**
 * Every documented operation is called by an end-to-end test through the HTTP API: by its
 * operationId in tests/e2e (literally, or by a template such as `bundle_${verb}_vms_${role}`), by
 * its path (the deployer-UI test sends the UI's requests by path), or,
 * for the Ubuntu guest bundles, by its route path in tests/catalog/guest-bundles.test.ts (they need
 * a Debian target that only that file builds). A test removed or renamed without a replacement
 * makes this fail.
 */

const E2E = path.join(REPO_ROOT, 'tests', 'e2e');
const GUEST_BUNDLES = path.join(REPO_ROOT, 'tests', 'catalog', 'guest-bundles.test.ts');
const UBUNTU_URL = '/v0/admin/run/bundles/core/linux/ubuntu/';

const read = (file: string) => fs.readFileSync(file, 'utf8');
const quoted = (src: string) => new Set([...src.matchAll(/'([^'\n]*)'/g)].map((m) => m[1]!));
/** A template literal as a pattern: each `${...}` stands for a word. */
const templates = (src: string) =>
  [...src.matchAll(/`([^`\n]*)`/g)]
    // a template with no literal word of its own (`${base}${path}`) names no operation
    .filter((m) => /[A-Za-z]/.test(m[1]!.replace(/\$\{[^}]*\}/g, '')))
    .map((m) => new RegExp(`^${m[1]!.split(/\$\{[^}]*\}/).map((p) => p.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('\\w+')}$`));

describe('end-to-end coverage of the operations', () => {
  const testFiles = fs.readdirSync(E2E).filter((f) => f.endsWith('.test.ts') && f !== 'coverage.test.ts');
  const src = testFiles.map((f) => read(path.join(E2E, f))).join('\n');
  const names = quoted(src);
  const patterns = templates(src);
  const guestNames = quoted(read(GUEST_BUNDLES));

  // or by a quoted path of two segments or more that ends the route's URL ('/lxc/create')
  const paths = [...names].filter((n) => /^(\/[\w-]+){2,}$/.test(n));
  const covered = (def: (typeof routeTable)[number]) =>
    names.has(def.operationId) ||
    paths.some((p) => def.url.endsWith(p)) ||
    patterns.some((re) => re.test(def.operationId)) ||
    (def.url.startsWith(UBUNTU_URL) && guestNames.has(def.url.slice(UBUNTU_URL.length)));

  it('every operation of the route table is called by an end-to-end test', () => {
    const ids = [...new Set(routeTable.map((d) => d.operationId))];
    expect(ids.length).toBeGreaterThanOrEqual(80);
    expect(routeTable.filter((d) => !covered(d)).map((d) => `${d.method} ${d.url} (${d.operationId})`)).toEqual([]);
  });

  it('the check is not vacuous: an unknown operation is not found', () => {
    expect(covered({ ...routeTable[0]!, operationId: 'no_such_operation', url: '/v0/admin/nowhere' })).toBe(false);
  });
});
