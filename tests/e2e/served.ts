import fs from 'node:fs';
import path from 'node:path';
import { expect, inject } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { routeTable } from '../../src/routes/table.js';

/**
 * What the end-to-end files really served, for tests/e2e/coverage.test.ts: each file marks that it
 * started, and before its service closes records the operations that service answered with a
 * 2xx, read from the service's own request counter (`r42_http_requests_total` on /metrics, by
 * method and route pattern). Records go to the run's directory (tests/global-setup.ts).
 */

export interface ServedRecord {
  file: string;
  operations: string[];
}

/** The calling test file, relative to the repository (`tests/e2e/vms.test.ts`). */
const currentFile = () => path.relative(REPO_ROOT, expect.getState().testPath ?? 'unknown');
const recordName = (file: string) => file.replace(/[/\\]/g, '__');

export const startedMarker = (dir: string, file: string) => path.join(dir, `${recordName(file)}.started`);
export const servedRecord = (dir: string, file: string) => path.join(dir, `${recordName(file)}.json`);

/** Marks the calling file as started (coverage.test.ts then waits for its record). */
export function markStarted(): void {
  const dir = inject('servedDir');
  fs.writeFileSync(startedMarker(dir, currentFile()), '');
}

/** The operations a /metrics text counts 2xx answers for. */
export function operationsIn(text: string): string[] {
  const answered = new Set<string>();
  for (const m of text.matchAll(/^r42_http_requests_total\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (/^2\d\d$/.test(labels.status ?? '') && Number(m[2]) > 0) answered.add(`${labels.method} ${labels.route}`);
  }
  return routeTable.filter((d) => answered.has(`${d.method} ${d.url}`)).map((d) => d.operationId);
}

/** The operations a service answered with a 2xx so far, from its /metrics. */
export async function servedOperations(base: string): Promise<string[]> {
  return operationsIn(await (await fetch(`${base}/metrics`)).text());
}

/** Records what the service at `base` served, for the calling file (call before closing it). */
export async function recordServed(base: string): Promise<void> {
  const file = currentFile();
  const record: ServedRecord = { file, operations: await servedOperations(base) };
  const target = servedRecord(inject('servedDir'), file);
  // a file may run several services (one per VM set): merge
  if (fs.existsSync(target)) {
    const before = JSON.parse(fs.readFileSync(target, 'utf8')) as ServedRecord;
    record.operations = [...new Set([...before.operations, ...record.operations])];
  }
  fs.writeFileSync(target, JSON.stringify(record));
}
