// Jobs benchmark: how many events per second the SQLite job store ingests, the latency from an
// Ansible event to an SSE client (real runs against the simulator), and the time to list 10,000 jobs.
// `node --import tsx bench/jobs.ts` (also part of `npm run bench`).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.js';
import { REPO_ROOT } from '../src/config/paths.js';
import { SqliteJobStore } from '../src/jobs/sqlite-store.js';
import type { JobEvent, JobRecord } from '../src/jobs/types.js';
import { removeTempDirs, tempDir, testConfig } from '../tests/helpers.js';
import { readSse, startJobsStack } from '../tests/jobs/stack.js';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

function fakeJob(i: number, created: number): JobRecord {
  const statuses = ['successful', 'successful', 'successful', 'failed', 'canceled'] as const;
  return {
    id: `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
    status: statuses[i % statuses.length]!, rc: 0, operation: ['vm_start', 'vm_stop', 'vm_list', 'snapshot_vm_create'][i % 4]!, method: 'POST',
    route: '/v0/admin/proxmox/vms/vm_id/start', path: '/v0/admin/proxmox/vms/vm_id/start', node: 'px-testing', targets: [{ node: 'px-testing', vmid: 1000 + (i % 200) }],
    async: i % 2 === 0, request: { body: { proxmox_node: 'px-testing', vm_id: String(1000 + (i % 200)), as_json: true }, params: {} },
    created_at: created, started_at: created + 5, finished_at: created + 2000, reason: null,
    answer: { rc: 0, result: [{ action: 'vm_start', vm_id: 1000 + (i % 200), vm_name: `vm-${i}`, vm_status: 'running' }] }, http_status: 200,
    idempotency_key: null, request_hash: null, request_id: `req-${i}`, owner: { host: 'h', pid: 1, start: 's', instance: 'i' },
    runs: [{ run_id: `run-${i}`, label: 'vm_start', pid: 100, private_dir: null, rc: 0, status: 'successful' }], event_count: 30,
  };
}

const taskEvent = (seq: number): JobEvent => ({
  seq, t: new Date().toISOString(), type: 'task_ok', task: 'Wait for the Proxmox task of POST /nodes/px-testing/qemu/4001/status/start', action: 'ansible.builtin.uri', host: 'px-testing', changed: false, duration: 0.012,
});

// ---------------------------------------------------------------- 1. ingest
async function ingest(): Promise<void> {
  const store = new SqliteJobStore(path.join(tempDir('r42-bench-jobs-'), 'jobs.db'));
  const report: string[] = [];
  for (const [label, batch, total] of [['batches of 50 (one transaction per event-loop turn, as the service writes)', 50, 200_000], ['one event per transaction', 1, 20_000]] as const) {
    // Running: the store takes no event for a job in a final state.
    const job = { ...fakeJob(Math.floor(Math.random() * 1e7), Date.now()), status: 'running' as const };
    await store.insertJob(job);
    const t0 = performance.now();
    for (let seq = 1; seq <= total; seq += batch) {
      await store.appendEvents(job.id, Array.from({ length: Math.min(batch, total - seq + 1) }, (_, k) => taskEvent(seq + k)));
    }
    const s = (performance.now() - t0) / 1000;
    report.push(`  ${label}: ${Math.round(total / s).toLocaleString('en')} events/s (${total.toLocaleString('en')} events in ${s.toFixed(2)} s)`);
  }
  await store.close();
  console.log('job store ingest (SQLite, WAL, synchronous=NORMAL):');
  for (const l of report) console.log(l);
}

// ---------------------------------------------------------------- 2. Ansible event -> SSE client
async function latency(): Promise<void> {
  const s = await startJobsStack({ LOG_LEVEL: 'silent' });
  const ansibleToService: number[] = [];
  const serviceToClient: number[] = [];
  const ansibleToClient: number[] = [];
  try {
    s.sim.setTaskDuration(300);
    for (let round = 0; round < 4; round++) {
      const vm_ids = ['4000', '4001', '4002', '4003'];
      const r = await s.call('POST', '/v0/admin/proxmox/vms/vm_ids/' + (round % 2 === 0 ? 'stop_force' : 'start'), { proxmox_node: 'px-testing', vm_ids }, { prefer: 'respond-async' });
      const id = r.body.job_id as string;
      const pushed = new Map<number, number>();
      const stop = await s.app.jobs.follow(id, 0, { event: (e) => pushed.set(e.seq, performance.timeOrigin + performance.now()), end: () => undefined });
      const stream = await readSse(`${s.base}/v0/jobs/${id}/events`, {
        stopAfter: (m) => {
          if (m.event !== 'message') return false;
          const now = performance.timeOrigin + performance.now();
          const e = m.data as JobEvent;
          // Only events that came from Ansible (with Ansible's timestamp) and were received live.
          if (!['status', 'end', 'step'].includes(e.type) && pushed.has(e.seq)) {
            ansibleToService.push(pushed.get(e.seq)! - Date.parse(e.t));
            serviceToClient.push(now - pushed.get(e.seq)!);
            ansibleToClient.push(now - Date.parse(e.t));
          }
          return false;
        },
      });
      stop?.();
      if (stream.status !== 200) throw new Error(`stream answered ${stream.status}`);
    }
  } finally {
    await s.close();
  }
  console.log(`Ansible event -> SSE client (${ansibleToClient.length} live events over 4 mass power runs, service and client in one process):`);
  console.log(`  end to end (Ansible's event timestamp -> client): p50 ${ms(pct(ansibleToClient, 50))}, p95 ${ms(pct(ansibleToClient, 95))}, max ${ms(Math.max(...ansibleToClient))}`);
  console.log(`    of which Ansible/ansible-runner -> service:      p50 ${ms(pct(ansibleToService, 50))}, p95 ${ms(pct(ansibleToService, 95))}`);
  console.log(`    of which service -> SSE client:                  p50 ${ms(pct(serviceToClient, 50))}, p95 ${ms(pct(serviceToClient, 95))}, max ${ms(Math.max(...serviceToClient))}`);
}

// ---------------------------------------------------------------- 3. list 10,000 jobs
async function listing(): Promise<void> {
  const N = 10_000;
  const store = new SqliteJobStore(path.join(tempDir('r42-bench-jobs-'), 'jobs.db'));
  const base = Date.now() - N * 1000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await store.insertJob(fakeJob(i, base + i * 1000));
  const insertS = (performance.now() - t0) / 1000;

  const pageAll = async (limit: number) => {
    const start = performance.now();
    let cursor: string | null = null;
    let n = 0;
    do {
      const p = await store.listJobs({ limit, cursor });
      n += p.jobs.length;
      cursor = p.next_cursor;
    } while (cursor);
    if (n !== N) throw new Error(`listed ${n}`);
    return performance.now() - start;
  };
  const storeTimes = [await pageAll(1000), await pageAll(1000), await pageAll(1000)];

  const app = await createApp(testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, LOG_LEVEL: 'silent' }), { logger: false, jobStore: store });
  const httpAll = async () => {
    const start = performance.now();
    let cursor: string | null = null;
    let n = 0;
    let bytes = 0;
    do {
      const r = await app.inject({ method: 'GET', url: `/v0/jobs?limit=1000${cursor ? `&cursor=${cursor}` : ''}` });
      const p = r.json() as { jobs: unknown[]; next_cursor: string | null };
      bytes += r.body.length;
      n += p.jobs.length;
      cursor = p.next_cursor;
    } while (cursor);
    if (n !== N) throw new Error(`listed ${n}`);
    return { t: performance.now() - start, bytes };
  };
  const http = [await httpAll(), await httpAll(), await httpAll()];
  const filteredStart = performance.now();
  const filtered = (await app.inject({ method: 'GET', url: '/v0/jobs?vm_id=1043&status=failed,canceled&limit=1000' })).json() as { total: number };
  const filteredMs = performance.now() - filteredStart;
  const firstPageStart = performance.now();
  await app.inject({ method: 'GET', url: '/v0/jobs' });
  const firstPageMs = performance.now() - firstPageStart;
  await app.close();
  await store.close();
  console.log(`list ${N.toLocaleString('en')} jobs (SQLite; ${N.toLocaleString('en')} inserted in ${insertS.toFixed(2)} s):`);
  console.log(`  store, 10 keyset pages of 1,000: best ${ms(Math.min(...storeTimes))}`);
  const best = http.reduce((a, b) => (b.t < a.t ? b : a));
  console.log(`  GET /v0/jobs, 10 pages of 1,000 (JSON, ${(best.bytes / 1024 / 1024).toFixed(1)} MiB): best ${ms(best.t)}`);
  console.log(`  GET /v0/jobs first page (50): ${ms(firstPageMs)}; filtered (vm_id + two statuses, ${filtered.total} matches): ${ms(filteredMs)}`);
}

try {
  await ingest();
  await listing();
  await latency();
} finally {
  removeTempDirs();
}
