import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { advisoriesOf, checkAllowlist, evaluate, type AllowEntry } from '../../scripts/audit.js';

/**
 * npm audit with a reviewed allowlist (scripts/audit.ts, audit-allowlist.json): the rules on a
 * recorded-format report, the allowlist file itself, and the live audit of this lockfile.
 */

// The shape `npm audit --json` prints (lockfile v2/v3): advisories sit in `via` of the package
// they affect; packages that only depend on it name it in `via`.
const report = {
  auditReportVersion: 2,
  vulnerabilities: {
    'form-data': { name: 'form-data', severity: 'critical', via: [{ source: 1, name: 'form-data', title: 'unsafe random boundary', url: 'https://github.com/advisories/GHSA-fjxv-7rqg-78g4', severity: 'critical' }] },
    autocannon: { name: 'autocannon', severity: 'critical', via: ['form-data'] },
    esbuild: { name: 'esbuild', severity: 'moderate', via: [{ source: 2, name: 'esbuild', title: 'dev server answers any origin', url: 'https://github.com/advisories/GHSA-67mh-4wv8-2f99', severity: 'moderate' }] },
    brace: { name: 'brace', severity: 'low', via: [{ source: 3, name: 'brace', title: 'slow pattern', url: 'https://github.com/advisories/GHSA-v6h2-p8h4-qcjw', severity: 'low' }] },
  },
};

describe('npm audit with an allowlist', () => {
  it('fails on unlisted advisories of severity moderate or above, ignores low ones, reports stale entries', () => {
    const advisories = advisoriesOf(report);
    expect(advisories.map((a) => `${a.package} ${a.id} ${a.severity}`).sort()).toEqual([
      'brace GHSA-v6h2-p8h4-qcjw low', 'esbuild GHSA-67mh-4wv8-2f99 moderate', 'form-data GHSA-fjxv-7rqg-78g4 critical',
    ]);
    const allow: AllowEntry[] = [
      { id: 'GHSA-67mh-4wv8-2f99', package: 'esbuild', reason: 'dev server never started: esbuild only transforms in tests', reviewed: '2026-11-29' },
      { id: 'GHSA-93q8-gq69-wqmw', package: 'ansi-regex', reason: 'fixed since; kept to show stale entries', reviewed: '2026-01-01' },
    ];
    const { unlisted, stale } = evaluate(advisories, allow);
    expect(unlisted.map((a) => a.package)).toEqual(['form-data']);
    expect(stale.map((e) => e.package)).toEqual(['ansi-regex']);
    // An entry for another package does not cover the same advisory elsewhere.
    expect(evaluate(advisories, [{ ...allow[0]!, package: 'vite' }]).unlisted.map((a) => a.package).sort()).toEqual(['esbuild', 'form-data']);
    expect(evaluate([], []).unlisted).toEqual([]);
  });

  it('the committed allowlist is well-formed: GHSA id, package, reason and review date for every entry', () => {
    const file = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'audit-allowlist.json'), 'utf8'));
    expect(checkAllowlist(file.advisories)).toEqual([]);
    expect(checkAllowlist([{ id: 'CVE-1', package: '', reason: 'x', reviewed: 'yesterday' }])).toHaveLength(4);
  });

  it('this lockfile: no unlisted advisory of severity moderate or above', (ctx) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts/audit.ts')], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 150_000 });
    const out = `${r.stdout}${r.stderr}`.trim();
    if (r.status === 2 && process.env.AUDIT_REQUIRED !== '1') {
      // The registry in use cannot answer audits (seen: a mirror answering 405 to the advisory
      // endpoint). Not a pass: the test shows as skipped with the cause; AUDIT_REQUIRED=1 fails it.
      console.warn(`npm audit could not be made, test skipped: ${out}`);
      ctx.skip();
    }
    expect(r.status, out).toBe(0);
  }, 160_000);
});
