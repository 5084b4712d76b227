/**
 * Route families against the simulator: the API's latency per request next to a bare
 * `ansible-runner run` of the same role action (same playbook, inventory and extra vars),
 * interleaved, median; and the number of Ansible runs each request costs. The original ran an
 * extra playbook to look up VM names for delete, clone, snapshots and firewall enable/disable
 * (two runs per request); this service asks the Proxmox API directly (one run).
 *
 *   node --import tsx bench/routes.ts [iterations]
 */
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { REPO_ROOT } from '../src/config/paths.js';
import { routeTable } from '../src/routes/table.js';
import { startSimulator } from '../src/simulator/index.js';
import { removeTempDirs, simulatorInventory } from '../tests/helpers.js';
import { bareAnsibleRunner } from './lib/bare-runner.js';

const iterations = Number(process.argv[2] ?? 3);
const sim = await startSimulator({ port: 0 });
const inventoryDir = simulatorInventory(sim);
const app = await createApp(loadConfig({ PATH: process.env.PATH, HOME: process.env.HOME, API_BACKEND_INVENTORY_DIR: inventoryDir }), { logger: pino({ level: 'silent' }) });

interface Family {
  name: string;
  operationId: string;
  body: () => Record<string, unknown>;
  /** The role action and extra vars a bare run gets (what the route's single run does). */
  bare: () => Record<string, unknown>;
  /** Runs the original made per request. */
  originalRuns: number;
  before?: () => Promise<void>;
}

const node = 'px-testing';
let snap = 0;
const families: Family[] = [
  { name: 'list', operationId: 'vm_list', body: () => ({ proxmox_node: node }), bare: () => ({ proxmox_vm_action: 'vm_list', proxmox_node: node }), originalRuns: 1 },
  { name: 'config read', operationId: 'vm_get_config', body: () => ({ proxmox_node: node, vm_id: '1000' }), bare: () => ({ proxmox_vm_action: 'vm_get_config', proxmox_node: node, vm_id: '1000' }), originalRuns: 1 },
  { name: 'power (stop, task wait)', operationId: 'vm_stop_force', body: () => ({ proxmox_node: node, vm_id: '4001' }), bare: () => ({ proxmox_vm_action: 'vm_stop_force', proxmox_node: node, vm_id: '4001' }), originalRuns: 1 },
  {
    name: 'snapshot create (name lookup)', operationId: 'snapshot_vm_create',
    body: () => ({ proxmox_node: node, vm_id: '3001', vm_snapshot_name: `api-${++snap}`, vm_snapshot_description: 'bench' }),
    bare: () => ({ proxmox_vm_action: 'snapshot_vm_create', proxmox_node: node, vm_id: '3001', vm_name: 'student-box-01', vm_snapshot_name: `bare-${++snap}`, vm_snapshot_description: 'bench' }),
    originalRuns: 2,
  },
  {
    name: 'firewall VM enable (name lookup)', operationId: 'firewall_vm_enable', body: () => ({ proxmox_node: node, vm_id: '1000' }),
    bare: () => ({ proxmox_vm_action: 'firewall_vm_enable', proxmox_node: node, vm_id: '1000', vm_name: 'admin-wazuh' }), originalRuns: 2,
  },
];

const bareRun = (extravars: Record<string, unknown>) => bareAnsibleRunner({
  playbook: path.join(REPO_ROOT, 'playbooks', 'generic.yml'), inventory: path.join(inventoryDir, 'hosts.yml'), limit: 'proxmox',
  extravars: { hosts: 'proxmox', ...extravars }, env: { ...process.env, ANSIBLE_ROLES_PATH: path.join(REPO_ROOT, 'roles') },
});

async function apiRun(f: Family): Promise<{ ms: number; runs: number }> {
  const def = routeTable.find((d) => d.operationId === f.operationId)!;
  const before = app.engine.stats.started;
  const t0 = performance.now();
  const r = await app.inject({ method: def.method, url: def.url, payload: f.body() });
  const ms = performance.now() - t0;
  if (r.statusCode !== 200) throw new Error(`${f.operationId}: ${r.statusCode} ${r.body.slice(0, 300)}`);
  return { ms, runs: app.engine.stats.started - before };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`# Route families on the simulator — ${os.cpus().length} cores, ${iterations} iterations, interleaved, median`);
console.log('family                              API ms   bare ms   API/bare   runs/request (original)');
await apiRun(families[0]!); // warm-up
for (const f of families) {
  const api: number[] = [];
  const bare: number[] = [];
  let runs = 0;
  for (let i = 0; i < iterations; i++) {
    const a = await apiRun(f);
    api.push(a.ms);
    runs = a.runs;
    bare.push(await bareRun(f.bare()));
  }
  const a = median(api);
  const b = median(bare);
  console.log(`${f.name.padEnd(34)} ${a.toFixed(0).padStart(7)} ${b.toFixed(0).padStart(9)} ${(a / b).toFixed(2).padStart(9)}x   ${runs} (${f.originalRuns})`);
}
const lookups: number[] = [];
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  await app.inject({ method: 'POST', url: '/v0/admin/proxmox/firewall/vm/enable', payload: { proxmox_node: node, vm_id: '999999' } }); // 404 after the lookup alone
  lookups.push(performance.now() - t0);
}
console.log(`VM-name lookup through the Proxmox API (what replaced the extra run): median ${median(lookups).toFixed(1)} ms`);
await app.close();
await sim.close();
removeTempDirs();
