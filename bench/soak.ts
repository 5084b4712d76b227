// Soak and load benchmark: the service as its own process (and the simulator) under
// 1. SOAK_RUNS (default 1,000) sequential runs of the cheapest playbook (debug ping): runs/s, the
//    service's RSS and open file descriptors along the way, processes and run directories left;
// 2. load: the cheap routes at full speed (autocannon, 16 connections) while waves of playbook
//    requests overflow the run queue (2 running + 4 waiting): requests/s, 503s, runs = answers, RSS.
// `node --import tsx bench/soak.ts` (also part of `npm run bench`); `SOAK_RUNS=200` for a shorter soak.
// The short forms of both run in CI: tests/ops/load.test.ts.
import fs from 'node:fs';
import autocannon from 'autocannon';
import { startSimulator } from '../src/simulator/index.js';
import { processesMatching, removeTempDirs, simulatorInventory, tempDir } from '../tests/helpers.js';
import { metric, startServiceProcess } from '../tests/ops/service-process.js';

const SOAK_RUNS = Number(process.env.SOAK_RUNS ?? 1000);
const LOAD_SECONDS = Number(process.env.LOAD_SECONDS ?? 20);
const MiB = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const json = { 'content-type': 'application/json' };

const sim = await startSimulator({ port: 0 });
const inventoryDir = simulatorInventory(sim);
const runnerTmp = tempDir('r42-soak-runs-');
const svc = await startServiceProcess({
  API_BACKEND_INVENTORY_DIR: inventoryDir,
  RUNNER_TMP_DIR: runnerTmp,
  RUNNER_MAX_CONCURRENT: '2',
  RUNNER_MAX_QUEUED: '4',
  DATA_DIR: tempDir('r42-soak-data-'),
  LOG_LEVEL: 'warn',
});
const leftovers = () => ({
  processes: processesMatching(runnerTmp).length + processesMatching(inventoryDir).length,
  runDirs: fs.readdirSync(runnerTmp).length,
});

// ---------------------------------------------------------------- 1. soak
const ping = async () => {
  const r = await fetch(`${svc.base}/v0/admin/debug/ping`, { method: 'POST', headers: json, body: '{"proxmox_node":"px-testing","hosts":"px-testing"}' });
  const body = (await r.json()) as { rc: number };
  return r.status === 200 && body.rc === 0;
};
await ping(); // warm-up
await svc.idle();
const fds0 = svc.fds();
const rss0 = svc.rssKiB();
const samples: string[] = [];
let failed = 0;
const t0 = Date.now();
for (let i = 1; i <= SOAK_RUNS; i++) {
  if (!(await ping())) failed++;
  if (i % Math.max(1, Math.round(SOAK_RUNS / 5)) === 0) samples.push(`${i}: ${MiB(svc.rssKiB())}, ${svc.fds()} fds`);
}
const soakSeconds = (Date.now() - t0) / 1000;
await svc.idle();
await new Promise((r) => setTimeout(r, 500));
const soakLeft = leftovers();
console.log(`soak: ${SOAK_RUNS} sequential ping runs in ${soakSeconds.toFixed(0)} s (${(SOAK_RUNS / soakSeconds).toFixed(2)} runs/s), ${failed} failed`);
console.log(`soak: service RSS ${MiB(rss0)} -> ${MiB(svc.rssKiB())}; open fds ${fds0} -> ${svc.fds()}; along the way ${samples.join('; ')}`);
console.log(`soak: left behind: ${soakLeft.processes} processes, ${soakLeft.runDirs} run directories`);

// ---------------------------------------------------------------- 2. load
const runsTotal = async () => metric(await svc.metrics(), 'r42_runs_total{');
const rssBefore = svc.rssKiB();
const runsBefore = await runsTotal();
const cheap = autocannon({
  url: svc.base, connections: 16, duration: LOAD_SECONDS, timeout: 30,
  requests: [
    { path: '/docs/openapi.json' },
    { path: '/healthz' },
    { method: 'POST', path: '/v0/admin/proxmox/vms/list', headers: json, body: '{"proxmox_node":"not a node"}' },
  ],
});
const playbook: Record<number, number> = {};
let noRetryAfter = 0;
let waves = 0;
const loadEnd = Date.now() + (LOAD_SECONDS - 2) * 1000;
while (Date.now() < loadEnd) {
  waves++;
  await autocannon({
    url: svc.base, connections: 20, amount: 20, timeout: 120,
    requests: [{
      method: 'POST', path: '/v0/admin/proxmox/vms/list', headers: json, body: '{"proxmox_node":"px-testing"}',
      onResponse: (status, _b, _c, headers) => {
        playbook[status] = (playbook[status] ?? 0) + 1;
        if (status === 503 && !headers['retry-after']) noRetryAfter++;
      },
    }],
  });
}
const bg = await cheap;
await svc.idle(300_000);
const runs = (await runsTotal()) - runsBefore;
await new Promise((r) => setTimeout(r, 1000));
const loadLeft = leftovers();
const answered = (playbook[200] ?? 0) + (playbook[500] ?? 0);
console.log(`load: cheap routes ${bg.requests.total} requests in ${bg.duration} s (${Math.round(bg.requests.total / bg.duration)}/s, p50 ${bg.latency.p50} ms, p99 ${bg.latency.p99} ms), statuses ${JSON.stringify(bg.statusCodeStats)}, ${bg.errors} errors`);
console.log(`load: ${waves} waves of 20 VM-list requests against 2 running + 4 waiting: ${JSON.stringify(playbook)}, ${noRetryAfter} 503s without Retry-After; runs started ${runs} = answered ${answered}: ${runs === answered ? 'yes' : 'NO'}`);
console.log(`load: service RSS ${MiB(rssBefore)} -> ${MiB(svc.rssKiB())}; left behind: ${loadLeft.processes} processes, ${loadLeft.runDirs} run directories`);

await svc.stop();
await sim.close();
removeTempDirs();
const ok = failed === 0 && soakLeft.processes + soakLeft.runDirs + loadLeft.processes + loadLeft.runDirs === 0 && runs === answered && noRetryAfter === 0;
process.exit(ok ? 0 : 1);
