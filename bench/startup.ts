/**
 * Start-up and the OpenAPI document: the size of the document (the committed, indented
 * `openapi.json` and the compact one `/docs/openapi.json` serves), and the time `createApp` takes
 * (route table, schemas, validators, serializers, swagger, `ready()`), median of several:
 *
 * - cold: the first `createApp` of a fresh process (modules already imported), one child process each;
 * - warm: further creations in one process (the JIT and the module caches warm).
 *
 *   node --import tsx bench/startup.ts [creations]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { REPO_ROOT } from '../src/config/paths.js';

const creations = Number(process.argv[2] ?? 5);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** One createApp in an empty scratch tree (as `npm run openapi` builds it); its time in ms and the document. */
async function createOnce(): Promise<{ ms: number; doc: unknown }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'r42-startup-'));
  try {
    for (const d of ['catalog', 'inventory', 'playbooks']) fs.mkdirSync(path.join(root, d));
    const config = loadConfig({ PATH: process.env.PATH, HOME: process.env.HOME, PROJECT_ROOT_DIR: root, DATA_DIR: root, JOBS_STORE: 'memory' });
    const t0 = performance.now();
    const app = await createApp(config, { logger: false });
    const ms = performance.now() - t0;
    const doc = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json();
    await app.close();
    return { ms, doc };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const { ms } = await createOnce();
  process.stdout.write(`${JSON.stringify({ ms })}\n`);
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const cold: number[] = [];
for (let i = 0; i < creations; i++) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  cold.push((JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number }).ms);
}
const warm: number[] = [];
let doc: unknown = null;
for (let i = 0; i < creations + 1; i++) {
  const once = await createOnce();
  if (i > 0) warm.push(once.ms); // the first one of this process is a cold one
  doc = once.doc;
}

const committed = fs.statSync(path.join(REPO_ROOT, 'openapi.json')).size;
const served = Buffer.byteLength(JSON.stringify(doc));
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
console.log('startup and the OpenAPI document');
console.log(`  openapi.json (committed, indented): ${committed} bytes (${kb(committed)}); /docs/openapi.json (served): ${served} bytes (${kb(served)})`);
console.log(`  createApp cold (first in a fresh process), median of ${creations}: ${median(cold).toFixed(0)} ms  [${fmt(cold)}]`);
console.log(`  createApp warm (same process), median of ${creations}: ${median(warm).toFixed(0)} ms  [${fmt(warm)}]`);
