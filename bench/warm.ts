/**
 * The warm engine against the plain one and a bare `ansible-runner run`, side by side in one
 * run (interleaved, so machine noise hits all three): wall time and CPU seconds per run of a
 * one-task playbook (medians), throughput at concurrency 4, and memory per concurrent run.
 * CPU is the whole machine's busy time during the run (/proc/stat), so it counts every process
 * a run involves, the warm server's forks included: run it on an idle machine.
 *
 *   node --import tsx bench/warm.ts [iterations]
 */
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/env.js';
import { REPO_ROOT } from '../src/config/paths.js';
import { Engine } from '../src/engine/engine.js';
import { pssKb } from './lib/memory.js';
import { bareAnsibleRunner } from './lib/bare-runner.js';
import { busyTicks } from './lib/cpu.js';

const fixtures = path.join(REPO_ROOT, 'tests', 'fixtures');
const playbook = path.join(fixtures, 'playbooks', 'one-task.yml');
const sleepPlaybook = path.join(fixtures, 'playbooks', 'sleep.yml');
const inventory = path.join(fixtures, 'inventory', 'hosts.yml');
const iterations = Number(process.argv[2] ?? 10);
const log = pino({ level: 'silent' });
const TICK = 100; // USER_HZ

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function measure(fn: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const c0 = busyTicks();
  const t0 = performance.now();
  await fn();
  return { wall: (performance.now() - t0) / 1000, cpu: (busyTicks() - c0) / TICK };
}

function engineWith(kind: string): Engine {
  const config = loadConfig({ PATH: process.env.PATH, HOME: process.env.HOME, PROJECT_ROOT_DIR: fixtures, RUNNER_ENGINE: kind, RUNNER_MAX_CONCURRENT: '4' });
  return new Engine({ config, vaultPasswordFile: null, log });
}

const bare = async (): Promise<void> => {
  await bareAnsibleRunner({ playbook, inventory, limit: 'testhost' });
};

async function viaEngine(engine: Engine): Promise<void> {
  const r = await engine.run({ playbook, inventory, limit: 'testhost' });
  if (r.rc !== 0) throw new Error(`engine run failed: rc ${r.rc}`);
}

async function memoryPerRun(engine: Engine, n: number): Promise<number> {
  await viaEngine(engine); // a warm engine's server is up
  const idle = pssKb();
  const runs = Array.from({ length: n }, (_, i) => engine.start({ playbook: sleepPlaybook, inventory, limit: 'testhost', extravars: { sleep_seconds: 4 + i / 1000 } }));
  let peak = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < 3500) {
    peak = Math.max(peak, pssKb());
    await new Promise((r) => setTimeout(r, 200));
  }
  await Promise.all(runs.map((r) => r.done));
  return (peak - idle) / n / 1024;
}

async function main(): Promise<void> {
  const warm = engineWith('warm');
  const plain = engineWith('ansible-runner');
  await warm.warmUp();
  await Promise.all([bare(), viaEngine(plain), viaEngine(warm)]); // caches
  const rows: Record<string, { wall: number[]; cpu: number[] }> = { warm: { wall: [], cpu: [] }, plain: { wall: [], cpu: [] }, bare: { wall: [], cpu: [] } };
  for (let i = 0; i < iterations; i++) {
    for (const [name, fn] of [['warm', () => viaEngine(warm)], ['plain', () => viaEngine(plain)], ['bare', bare]] as const) {
      const m = await measure(fn);
      rows[name]!.wall.push(m.wall);
      rows[name]!.cpu.push(m.cpu);
    }
  }
  const bareWall = median(rows.bare!.wall);
  console.log(`\nwarm engine: one-task playbook, ${iterations} interleaved runs each (medians)`);
  console.log('  engine                                 wall s   CPU s   wall vs bare');
  for (const [name, label] of [['warm', 'warm (RUNNER_ENGINE=warm)'], ['plain', 'plain (RUNNER_ENGINE=ansible-runner)'], ['bare', 'bare `ansible-runner run`']] as const) {
    const w = median(rows[name]!.wall);
    console.log(`  ${label.padEnd(38)} ${w.toFixed(3).padStart(6)}  ${median(rows[name]!.cpu).toFixed(2).padStart(6)}   ${(w / bareWall).toFixed(2)}×`);
  }
  for (const [name, engine] of [['warm', warm], ['plain', plain]] as const) {
    const n = 12;
    const m = await measure(async () => {
      await Promise.all(Array.from({ length: n }, () => viaEngine(engine)));
    });
    console.log(`  ${name}: ${n} runs at concurrency 4: ${(n / m.wall).toFixed(1)} runs/s, ${(m.cpu / n).toFixed(2)} CPU s per run`);
  }
  for (const [name, engine] of [['warm', warm], ['plain', plain]] as const) {
    console.log(`  ${name}: memory per concurrent run (4 sleeping runs, PSS): ${(await memoryPerRun(engine, 4)).toFixed(0)} MiB`);
  }
  console.log(`  warm server: ${warm.warm?.importCpuS ?? '?'} CPU s of imports, once`);
  await Promise.all([warm.close(), plain.close()]);
}

await main();
