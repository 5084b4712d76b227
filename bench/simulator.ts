/**
 * Throughput of the Proxmox VE simulator (target: at least 5,000 list requests/s on one core, so
 * it never limits the API's tests). The simulator runs alone in a child process (one Node thread =
 * one core); this process generates load over keep-alive HTTPS connections. Measured side by side:
 * a trivial endpoint (`/version`) as the floor of HTTP+TLS+auth cost, the VM list of a node with
 * 100 VMs, and a power operation (which creates a task each time).
 *
 *   node --import tsx bench/simulator.ts [seconds-per-case] [connections]
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { Pool } from 'undici';
import { REPO_ROOT } from '../src/config/paths.js';

const seconds = Number(process.argv[2] ?? 3);
const connections = Number(process.argv[3] ?? 16);
const vmCount = 100;

async function spawnSim(replyCacheMs: number) {
  const child = fork(path.join(REPO_ROOT, 'bench', 'lib', 'sim-process.ts'), [String(vmCount), String(replyCacheMs)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { port, header } = await new Promise<{ port: number; header: string }>((resolve) => child.once('message', (m) => resolve(m as never)));
  const pool = new Pool(`https://127.0.0.1:${port}`, { connections, pipelining: 1, connect: { rejectUnauthorized: false } });
  return { child, pool, header };
}

// The default simulator (GET replies reused for 50 ms while nothing changes) and one without reuse.
const sims = { cached: await spawnSim(50), uncached: await spawnSim(0) };

interface Case {
  name: string;
  sim: keyof typeof sims;
  method: 'GET' | 'POST';
  path: (i: number) => string;
}

async function measure(c: Case, durationMs: number): Promise<{ rps: number; errors: number; bytes: number }> {
  let done = 0;
  let errors = 0;
  let bytes = 0;
  const deadline = Date.now() + durationMs;
  const started = Date.now();
  const worker = async () => {
    while (Date.now() < deadline) {
      const i = done;
      const { pool, header } = sims[c.sim];
      const res = await pool.request({ method: c.method, path: c.path(i), headers: { authorization: header } });
      const body = await res.body.arrayBuffer();
      bytes += body.byteLength;
      if (res.statusCode !== 200) errors++;
      done++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return { rps: done / ((Date.now() - started) / 1000), errors, bytes: bytes / Math.max(1, done) };
}

const cases: Case[] = [
  { name: 'GET /version', sim: 'cached', method: 'GET', path: () => '/api2/json/version' },
  { name: `GET /nodes/{node}/qemu (${vmCount} VMs)`, sim: 'cached', method: 'GET', path: () => '/api2/json/nodes/px-testing/qemu' },
  { name: `  same, reply reuse off`, sim: 'uncached', method: 'GET', path: () => '/api2/json/nodes/px-testing/qemu' },
  { name: 'GET /cluster/resources?type=vm', sim: 'cached', method: 'GET', path: () => '/api2/json/cluster/resources?type=vm' },
  { name: 'POST .../status/start|stop (task)', sim: 'cached', method: 'POST', path: (i) => `/api2/json/nodes/px-testing/qemu/${5000 + (i % vmCount)}/status/${Math.floor(i / vmCount) % 2 ? 'stop' : 'start'}` },
];

await measure(cases[1]!, 500); // warm-up: JIT and TLS sessions
await measure(cases[2]!, 500);
const results: [string, number, number, number][] = [];
// Interleaved rounds so that machine noise hits every case alike; best round reported.
const rounds = 2;
const best = new Map<string, { rps: number; errors: number; bytes: number }>();
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const m = await measure(c, (seconds * 1000) / rounds);
    const prev = best.get(c.name);
    if (!prev || m.rps > prev.rps) best.set(c.name, m);
  }
}
for (const c of cases) {
  const m = best.get(c.name)!;
  results.push([c.name, m.rps, m.errors, m.bytes]);
}

const floor = results[0]![1];
process.stdout.write(`\nProxmox VE simulator, one process, ${connections} keep-alive HTTPS connections, best of ${rounds} rounds of ${(seconds / rounds).toFixed(1)} s\n`);
for (const [name, rps, errors, bytes] of results) {
  process.stdout.write(`  ${name.padEnd(42)} ${rps.toFixed(0).padStart(7)} req/s  ${(rps / floor).toFixed(2)}x of /version  ${bytes.toFixed(0).padStart(6)} B/reply${errors ? `  ${errors} errors` : ''}\n`);
}
const list = results[1]![1];
process.stdout.write(`  reply reuse speeds the 100-VM list up ${(list / results[2]![1]).toFixed(1)}x\n`);
process.stdout.write(`  target: >= 5000 list req/s -> ${list >= 5000 ? 'met' : 'NOT met'} (${(list / 5000).toFixed(2)}x)\n`);

for (const { pool, child } of Object.values(sims)) {
  await pool.close();
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
}
