/**
 * Issue 25.5: from the end of a job that changes a guest to its diff on /ws/vm-status, with the
 * regular poll at its default (STATUS_POLL_INTERVAL 5 s). The service (real Ansible runs of the
 * repository's role) and the simulator run in this process, a WebSocket viewer watches the node.
 *
 * Printed:
 * - job end (the job's `finished_at`) → the viewer has the diff: p50/p95/max over `jobs` power
 *   jobs (start/stop of one VM, one after the other), with the push after a job, and over fewer
 *   jobs without it (the hub's refresh made a no-op: what the service did before);
 * - the deployer UI's "Apply with restart" as its pending-changes dialog makes it (vm_set_tag,
 *   _name, _description, _cpu, _memory, stop, wait for `stopped` on the WebSocket, start, wait for
 *   `running` with the new cores), median of `rounds`, with and without the push.
 *
 *   node --import tsx bench/job-push.ts [jobs] [rounds]
 */
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { REPO_ROOT } from '../src/config/paths.js';
import { startSimulator } from '../src/simulator/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

const jobs = Number(process.argv[2] ?? 20);
const rounds = Number(process.argv[3] ?? 3);
const NODE = 'px-testing';
const VM = 4001;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r42-bench-push-'));
const sim = await startSimulator({ port: 0 });
const inventoryDir = path.join(tmp, 'inventory');
fs.mkdirSync(inventoryDir);
fs.writeFileSync(path.join(inventoryDir, 'hosts.yml'), [
  'all:', '  children:', '    range42_infrastructure:', '      children:', '        proxmox:', '          hosts:', `            ${NODE}:`,
  '              ansible_connection: local', '              ansible_python_interpreter: /usr/bin/python3',
  `              proxmox_api_host: "${sim.apiHost}"`, `              proxmox_node: ${NODE}`,
  `              proxmox_api_user: ${sim.token.user}`, `              proxmox_api_token_id: ${sim.token.tokenId}`,
  `              proxmox_api_token_secret: ${sim.token.secret}`, '',
].join('\n'));
const config = loadConfig({
  PATH: process.env.PATH, HOME: process.env.HOME, PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: inventoryDir,
  DATA_DIR: path.join(tmp, 'data'), JOBS_STORE: 'memory', ...(process.env.RUNNER_ENGINE ? { RUNNER_ENGINE: process.env.RUNNER_ENGINE } : {}),
});
const app = await createApp(config, { logger: false });
const base = await app.listen({ host: '127.0.0.1', port: 0 });
const hub = app.statusHub;
const refresh = hub.refresh.bind(hub);
const setPush = (on: boolean) => {
  hub.refresh = on ? refresh : () => undefined;
};

// One viewer of the node: the state it shows, and waiters on it.
const shown = new Map<number, Record<string, any>>();
let onChange: ((vmid: number, at: number) => void) | null = null;
const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/vm-status?node=${NODE}`);
await new Promise<void>((resolve, reject) => {
  ws.on('message', (raw) => {
    const at = Date.now();
    const m = JSON.parse(String(raw)) as Record<string, any>;
    if (m.type === 'full') {
      for (const vm of m.vms) shown.set(vm.vmid, vm);
      resolve();
    } else if (m.type === 'diff') {
      for (const [id, vm] of Object.entries(m.changes as Record<string, any>)) {
        if (vm.type === 'removed') shown.delete(Number(id));
        else shown.set(Number(id), vm);
        onChange?.(Number(id), at);
      }
    }
  });
  ws.on('error', reject);
});
/** Resolves with the time the viewer saw `test` hold (at once when it holds already). */
const until = (test: () => boolean, timeoutMs = 30_000) => new Promise<number>((resolve, reject) => {
  if (test()) return resolve(Date.now());
  const timer = setTimeout(() => reject(new Error('the viewer never saw it')), timeoutMs);
  onChange = (_id, at) => {
    if (!test()) return;
    clearTimeout(timer);
    onChange = null;
    resolve(at);
  };
});

async function call(p: string, body: object): Promise<{ status: number; job: string }> {
  const r = await fetch(`${base}/v0/admin/proxmox${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${p}: HTTP ${r.status}`);
  return { status: r.status, job: r.headers.get('x-job-id') ?? '' };
}
const finishedAt = async (job: string) => Date.parse(((await (await fetch(`${base}/v0/jobs/${job}`)).json()) as { finished_at: string }).finished_at);

/** Power jobs on VM, alternately start and stop: job end → diff on the viewer, in ms. */
async function powerJobs(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const running = shown.get(VM)?.status === 'running';
    const want = running ? 'stopped' : 'running';
    const seen = until(() => shown.get(VM)?.status === want);
    const { job } = await call(`/vms/vm_id/${running ? 'stop' : 'start'}`, { proxmox_node: NODE, vm_id: String(VM) });
    const [at, end] = await Promise.all([seen, finishedAt(job)]);
    out.push(at - end);
  }
  return out;
}

/** The pending-changes dialog's Apply with a restart, on a running VM: ms from the first call to the viewer showing it back up. */
async function applyWithRestart(cores: number): Promise<number> {
  if (shown.get(VM)?.status !== 'running') {
    await call('/vms/vm_id/start', { proxmox_node: NODE, vm_id: String(VM) });
    await until(() => shown.get(VM)?.status === 'running');
  }
  const vm = { proxmox_node: NODE, vm_id: String(VM) };
  const t0 = Date.now();
  await call('/vms/vm_id/config/vm_set_tag', { ...vm, vm_tag_name: `web,r${cores}` });
  await call('/vms/vm_id/config/vm_set_name', { ...vm, vm_name: `web-${cores}` });
  await call('/vms/vm_id/config/vm_set_description', { ...vm, vm_description: `round ${cores}` });
  await call('/vms/vm_id/config/vm_set_cpu', { ...vm, vm_cores: cores });
  await call('/vms/vm_id/config/vm_set_memory', { ...vm, vm_memory: 1024 * cores });
  await call('/vms/vm_id/stop', vm);
  await until(() => shown.get(VM)?.status === 'stopped');
  await call('/vms/vm_id/start', vm);
  const at = await until(() => shown.get(VM)?.status === 'running' && shown.get(VM)?.cores === cores);
  return at - t0;
}

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const median = (xs: number[]) => q(xs, 50);
const fmt = (xs: number[]) => `p50 ${q(xs, 50)} ms, p95 ${q(xs, 95)} ms, max ${Math.max(...xs)} ms`;

await powerJobs(2); // warm-up (the engine's first runs)
setPush(true);
const pushed = await powerJobs(jobs);
setPush(false);
const polled = await powerJobs(Math.max(4, Math.round(jobs / 2)));
const apply: Record<'push' | 'poll', number[]> = { push: [], poll: [] };
for (let r = 0; r < rounds; r++) {
  for (const mode of ['push', 'poll'] as const) {
    setPush(mode === 'push');
    apply[mode].push(await applyWithRestart(2 + ((2 * r + (mode === 'push' ? 0 : 1)) % 6)));
  }
}
setPush(true);

const interval = config.status.pollIntervalMs / 1000;
console.log(`job end → /ws/vm-status diff (${config.runner.engine} engine, STATUS_POLL_INTERVAL ${interval} s, simulator):`);
console.log(`  pushed as the job ends: ${fmt(pushed)} over ${pushed.length} power jobs (target p95 ≤ 500 ms)`);
console.log(`  regular poll only (before): ${fmt(polled)} over ${polled.length} power jobs`);
console.log(`UI "Apply with restart" (5 config calls, stop, wait for stopped, start, wait for running): median ${(median(apply.push) / 1000).toFixed(2)} s with the push, ${(median(apply.poll) / 1000).toFixed(2)} s without (${rounds} rounds each)`);

ws.close();
await app.close();
await sim.close();
fs.rmSync(tmp, { recursive: true, force: true });
