/**
 * Engine overhead against bare ansible-runner on the same playbook, measured side by side
 * (interleaved, so machine noise hits both), then throughput at concurrency 1, 2 and 4, and the
 * cost of the per-run playbook-tree copy the original made (this engine makes none).
 *
 *   node --import tsx bench/engine.ts [iterations]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/env.js';
import { REPO_ROOT } from '../src/config/paths.js';
import { Engine } from '../src/engine/engine.js';
import { extractResult } from '../src/engine/extract.js';
import { bareAnsibleRunner } from './lib/bare-runner.js';

const fixtures = path.join(REPO_ROOT, 'tests', 'fixtures');
const playbook = path.join(fixtures, 'playbooks', 'publish.yml');
const inventory = path.join(fixtures, 'inventory', 'hosts.yml');
const iterations = Number(process.argv[2] ?? 10);
const log = pino({ level: 'silent' });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (n: number) => `${n.toFixed(0)} ms`;

function engineWith(env: Record<string, string> = {}): Engine {
  const config = loadConfig({ PATH: process.env.PATH, HOME: process.env.HOME, PROJECT_ROOT_DIR: fixtures, ...env });
  return new Engine({ config, vaultPasswordFile: null, log });
}

const bareRun = () => bareAnsibleRunner({ playbook, inventory, limit: 'testhost', extravars: { value: 'bench' } });

async function engineRun(engine: Engine): Promise<number> {
  const t0 = performance.now();
  const r = await engine.run({ playbook, inventory, limit: 'testhost', extravars: { value: 'bench' } });
  const t = performance.now() - t0;
  if (r.rc !== 0 || extractResult(r.events, 'echo_back').length !== 1) throw new Error(`engine run failed: rc ${r.rc}`);
  return t;
}

async function overhead(): Promise<void> {
  const engine = engineWith();
  await bareRun(); // warm caches
  await engineRun(engine);
  const bare: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < iterations; i++) {
    bare.push(await bareRun());
    ours.push(await engineRun(engine));
  }
  const b = median(bare);
  const o = median(ours);
  console.log(`\n## Engine overhead per run (${iterations} runs each, interleaved, median)`);
  console.log(`bare ansible-runner      ${ms(b)}`);
  console.log(`engine (spawn, parse, artifacts, cleanup)  ${ms(o)}`);
  console.log(`overhead                 ${ms(o - b)} = ${(((o - b) / b) * 100).toFixed(1)} % (target < 5 %)`);
}

async function throughput(): Promise<void> {
  console.log('\n## Throughput (engine, publish.yml on one local host)');
  const runs = 8;
  for (const c of [1, 2, 4]) {
    const engine = engineWith({ RUNNER_MAX_CONCURRENT: String(c), RUNNER_MAX_QUEUED: '100' });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: runs }, () => engine.run({ playbook, inventory, limit: 'testhost', extravars: { value: 'x' } })));
    const s = (performance.now() - t0) / 1000;
    console.log(`concurrency ${c}: ${runs} runs in ${s.toFixed(1)} s = ${(runs / s).toFixed(2)} runs/s`);
  }
}

async function copyCost(): Promise<void> {
  // What the original did before every run: copy the playbook's whole directory into the private dir.
  const trees = ['playbooks', 'roles', 'catalog'].map((d) => path.join(REPO_ROOT, d)).filter((d) => fs.existsSync(d));
  const times: number[] = [];
  let files = 0;
  for (let i = 0; i < 20; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r42-copy-'));
    const t0 = performance.now();
    for (const t of trees) fs.cpSync(t, path.join(dir, path.basename(t)), { recursive: true });
    times.push(performance.now() - t0);
    if (i === 0) files = fs.readdirSync(dir, { recursive: true }).length;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\n## Per-run copy of the playbook tree (avoided)`);
  console.log(`copying ${trees.map((t) => path.basename(t)).join(' + ') || '(nothing yet)'} (${files} entries): median ${median(times).toFixed(1)} ms per run`);
}

console.log(`# Engine benchmark — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}, node ${process.version}`);
await overhead();
await throughput();
await copyCost();
