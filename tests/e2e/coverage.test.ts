import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { routeTable } from '../../src/routes/table.js';
import { operationsIn, servedRecord, startedMarker, type ServedRecord } from './served.js';

/**
 * Every operation of the route table was served by an end-to-end test in this run: answered with
 * a 2xx by a listening service, as that service's own request counter recorded it
 * (tests/e2e/served.ts). The files that serve operations are the end-to-end files and the
 * Ubuntu guest bundles' file (they need a Debian target only it builds). This file runs last
 * (vitest.config.ts) and waits for their records; a test removed, renamed, or now refused (4xx)
 * makes it fail, and so does running it without those files.
 */

const SERVING_FILES = [
  ...fs.readdirSync(path.join(REPO_ROOT, 'tests', 'e2e')).filter((f) => f.endsWith('.test.ts') && f !== 'coverage.test.ts').map((f) => `tests/e2e/${f}`),
  'tests/catalog/guest-bundles.test.ts',
];
/** How long a file may take to start once this one runs (they all start before it). */
const START_GRACE_MS = 120_000;
const WAIT_MS = 14 * 60_000;

async function records(dir: string): Promise<ServedRecord[]> {
  const t0 = Date.now();
  for (;;) {
    const missing = SERVING_FILES.filter((f) => !fs.existsSync(servedRecord(dir, f)));
    if (missing.length === 0) break;
    const notStarted = missing.filter((f) => !fs.existsSync(startedMarker(dir, f)));
    if (notStarted.length > 0 && Date.now() - t0 > START_GRACE_MS) {
      throw new Error(`not run in this vitest run (run the whole suite): ${notStarted.join(', ')}`);
    }
    if (Date.now() - t0 > WAIT_MS) throw new Error(`no record of what these served: ${missing.join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return SERVING_FILES.map((f) => JSON.parse(fs.readFileSync(servedRecord(dir, f), 'utf8')) as ServedRecord);
}

describe('end-to-end coverage of the operations', () => {
  it('every operation of the route table was served (2xx) by an end-to-end test of this run', { timeout: WAIT_MS + 60_000 }, async () => {
    const served = new Set((await records(inject('servedDir'))).flatMap((r) => r.operations));
    const ids = [...new Set(routeTable.map((d) => d.operationId))];
    expect(ids.length).toBeGreaterThanOrEqual(80);
    expect(routeTable.filter((d) => !served.has(d.operationId)).map((d) => `${d.method} ${d.url} (${d.operationId})`)).toEqual([]);
  });

  it('the record is not vacuous: only 2xx answers count, by method and route pattern', () => {
    const start = routeTable.find((d) => d.operationId === 'vm_start')!;
    const stop = routeTable.find((d) => d.operationId === 'vm_stop')!;
    const text = [
      '# TYPE r42_http_requests_total counter',
      `r42_http_requests_total{method="${start.method}",route="${start.url}",status="422"} 3`,
      `r42_http_requests_total{method="GET",route="${stop.url}",status="200"} 1`,
      `r42_http_requests_total{method="${stop.method}",route="${stop.url}",status="200"} 1`,
    ].join('\n');
    expect(operationsIn(text)).toEqual(['vm_stop']);
  });
});
