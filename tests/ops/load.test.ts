import fs from 'node:fs';
import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { processesMatching, simulatorInventory, tempDir, waitFor } from '../helpers.js';
import { metric, startServiceProcess, type ServiceProcess } from './service-process.js';

/**
 * A short load test on loopback (autocannon) against the service as its own process, with the
 * simulator: cheap routes (the OpenAPI document, /healthz, a 422) at 100 requests/s while waves of
 * playbook requests (VM list, ping: real runs) overflow a queue of 1 running + 2 waiting; before it, a
 * short soak: sequential runs of the cheapest playbook. The long forms are in bench/soak.ts.
 * Cost: 13 real runs (one at a time): about 29 s on this 2-core machine when it is otherwise idle.
 */

const WAVES = 2;
const WAVE_SIZE = 10;
const SOAK_RUNS = 6;
let sim: Simulator;
let svc: ServiceProcess;
let inventoryDir: string;
const runnerTmp = tempDir('r42-load-runs-');

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  inventoryDir = simulatorInventory(sim);
  svc = await startServiceProcess({
    API_BACKEND_INVENTORY_DIR: inventoryDir,
    RUNNER_TMP_DIR: runnerTmp,
    RUNNER_MAX_CONCURRENT: '1',
    RUNNER_MAX_QUEUED: '2',
    DATA_DIR: tempDir('r42-load-data-'),
    LOG_LEVEL: 'warn',
  });
});
afterAll(async () => {
  if (svc) expect(await svc.stop()).toBe(0);
  await sim?.close();
});

const json = { 'content-type': 'application/json' };
const runsTotal = async () => metric(await svc.metrics(), 'r42_runs_total{');
const MiB = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

describe('soak (short form; bench/soak.ts runs 1,000)', () => {
  it(`${SOAK_RUNS} sequential runs of the cheapest playbook leave no process, no run directory and no extra file descriptor`, async () => {
    const ping = () => fetch(`${svc.base}/v0/admin/debug/ping`, { method: 'POST', headers: { ...json, connection: 'close' }, body: '{"proxmox_node":"px-testing","hosts":"px-testing"}' });
    expect((await ping()).status).toBe(200);
    await svc.idle();
    const fdsBefore = svc.fds();
    const rssBefore = svc.rssKiB();
    const started = Date.now();
    for (let i = 0; i < SOAK_RUNS; i++) {
      const r = await ping();
      expect(r.status).toBe(200);
      expect((await r.json()).rc).toBe(0);
    }
    const seconds = (Date.now() - started) / 1000;
    await svc.idle();
    await waitFor(() => svc.fds() <= fdsBefore, 5000).catch(() => undefined);
    const fdsAfter = svc.fds();
    const rssAfter = svc.rssKiB();
    console.log(`soak: ${SOAK_RUNS} runs in ${seconds.toFixed(1)} s (${(SOAK_RUNS / seconds).toFixed(2)} runs/s); fds ${fdsBefore} -> ${fdsAfter}; RSS ${MiB(rssBefore)} -> ${MiB(rssAfter)}`);
    expect(fdsAfter).toBeLessThanOrEqual(fdsBefore);
    expect(processesMatching(runnerTmp)).toEqual([]);
    expect(processesMatching(inventoryDir)).toEqual([]);
    expect(fs.readdirSync(runnerTmp)).toEqual([]);
  });
});

describe('load', () => {
  it('cheap routes at 100 requests/s while playbook requests overflow the queue: 503 + Retry-After, every accepted request ran, memory back near its baseline', async () => {
    // Warmed up by the soak above (runs, the job database); the cheap routes once, then the baseline.
    await autocannon({ url: svc.base, connections: 4, duration: 1, requests: [{ path: '/docs/openapi.json' }, { path: '/healthz' }] });
    await svc.idle();
    const rssBefore = svc.rssKiB();
    const runsBefore = await runsTotal();

    const cheap: Record<string, Record<number, number>> = {};
    const count = (what: string) => (status: number) => {
      cheap[what] ??= {};
      cheap[what]![status] = (cheap[what]![status] ?? 0) + 1;
    };
    // Rate-limited: at full speed the 1 MiB OpenAPI document alone takes a core, and the runs
    // (CPU-bound, on a 2-core machine) would crawl.
    const background = autocannon({
      url: svc.base, connections: 6, overallRate: 100, duration: 60, timeout: 30,
      requests: [
        { path: '/docs/openapi.json', onResponse: count('openapi') },
        { path: '/healthz', onResponse: count('healthz') },
        { method: 'POST', path: '/v0/admin/proxmox/vms/list', headers: json, body: '{"proxmox_node":"not a node"}', onResponse: count('invalid') },
      ],
    });

    const playbook: Record<number, number> = {};
    let retryAfterMissing = 0;
    const waves = [];
    // Wave 1 lists the VMs (the Proxmox role against the simulator), wave 2 pings (the cheapest run).
    const waveRequests = [
      { path: '/v0/admin/proxmox/vms/list', body: '{"proxmox_node":"px-testing"}' },
      { path: '/v0/admin/debug/ping', body: '{"proxmox_node":"px-testing","hosts":"px-testing"}' },
    ];
    for (let w = 0; w < WAVES; w++) {
      // Each connection sends one request: 1 runs, 2 wait, the rest are refused at once.
      const r = await autocannon({
        url: svc.base, connections: WAVE_SIZE, amount: WAVE_SIZE, timeout: 60,
        requests: [{
          method: 'POST', headers: json, ...waveRequests[w % waveRequests.length]!,
          onResponse: (status, _body, _ctx, headers) => {
            playbook[status] = (playbook[status] ?? 0) + 1;
            if (status === 503 && !/^\d+$/.test(String(headers['retry-after'] ?? headers['Retry-After'] ?? ''))) retryAfterMissing++;
          },
        }],
      });
      waves.push(r);
    }
    background.stop();
    const bg = await background;
    await svc.idle();
    const runsAfter = await runsTotal();

    const accepted = (playbook[200] ?? 0) + (playbook[500] ?? 0);
    console.log(`load: ${bg.requests.total} cheap requests in ${bg.duration} s (${Math.round(bg.requests.total / bg.duration)}/s, p99 ${bg.latency.p99} ms) `
      + `${JSON.stringify(cheap)}; playbook waves ${WAVES}x${WAVE_SIZE}: ${JSON.stringify(playbook)}; runs ${runsAfter - runsBefore}`);
    expect(Object.keys(playbook).sort()).toEqual(['200', '503']);
    expect(playbook[200]).toBe(WAVES * 3); // 1 running + 2 queued per wave
    expect(playbook[503]).toBe(WAVES * (WAVE_SIZE - 3));
    expect(retryAfterMissing).toBe(0);
    expect(runsAfter - runsBefore).toBe(accepted);
    expect(waves.every((r) => r.errors === 0 && r.timeouts === 0)).toBe(true);
    expect(bg.errors).toBe(0);
    expect(cheap).toEqual({ openapi: { 200: expect.any(Number) }, healthz: { 200: expect.any(Number) }, invalid: { 422: expect.any(Number) } });
    expect(bg.requests.total).toBeGreaterThan(200);

    // Memory: garbage may not have been collected yet, so a tolerance rather than equality.
    await new Promise((r) => setTimeout(r, 500));
    const rssAfter = svc.rssKiB();
    console.log(`load: service RSS ${MiB(rssBefore)} before, ${MiB(rssAfter)} after`);
    expect(rssAfter).toBeLessThan(rssBefore + 64 * 1024);
  });
});
