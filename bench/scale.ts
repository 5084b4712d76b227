/**
 * Issue 19's benchmark: the run queue scaled out on this machine. A throwaway PostgreSQL and Redis
 * (tests/support/services.ts), the simulator in this process (0 ms tasks), one API instance as a
 * child process (`node --import tsx src/server.ts`, JOBS_STORE=postgres, RUN_QUEUE=redis,
 * PROXMOX_SIMULATOR=off) and W = 1, 2, 4 worker processes (`src/worker.ts`, each with
 * RUNNER_MAX_CONCURRENT=1, so that W is the number of concurrent runs). Side by side, interleaved
 * rounds: an API instance with RUN_QUEUE=local and RUNNER_MAX_CONCURRENT=W (the same store, a
 * database of its own), i.e. the same runs without the queue, the workers and their round trips.
 *
 * A round submits `jobs` `vms/list` jobs at once (`Prefer: respond-async`) and waits for all to end;
 * runs/s = jobs / (last finished_at − first created_at) from the job records. CPU-seconds per run:
 * the whole machine (/proc/stat, other work included) and our processes by part (their trees walked
 * every 50 ms: the API's and the workers' Node processes, the warm engines and their runs below
 * them, PostgreSQL, Redis, this process with the simulator). Events appended to PostgreSQL per second
 * = Σ event_count / the same wall time. Submit→start latency (started_at − created_at) comes from
 * synchronous calls one at a time, so that a worker is free when each is submitted. Then kill -9
 * of a worker running a job (a 30 s Proxmox task) → the job `lost`, WORKER_LOST_AFTER=2 and a
 * 0.5 s heartbeat, 3 times.
 *
 *   node --import tsx bench/scale.ts [rounds] [jobs]
 */
import fs from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { processesMatching, removeTempDirs } from '../tests/helpers.js';
import { alive, serviceEnv, startApi, startWorker, stop, until, type Api, type Child, type LaunchOptions, type WorkerProc } from '../tests/support/service-processes.js';
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from '../tests/support/services.js';
import { statFields } from '../src/engine/process-tree.js';
import { busyTicks, TICK } from './lib/cpu.js';

const rounds = Number(process.argv[2] ?? 3);
const jobsPerRound = Number(process.argv[3] ?? 12);
const PROBES = 8; // synchronous calls one at a time per W and mode, for submit→start
const WS = [1, 2, 4];
const KILLS = 3;
const LOST_AFTER_S = 2;
const HEARTBEAT_S = 0.5;
const VM_LIST = { url: '/v0/admin/proxmox/vms/list', body: { proxmox_node: 'px-testing', as_json: true } };

const children: Child[] = [];
/** Its env is set in main(), once PostgreSQL, Redis and the simulator are up; a long run keeps only the children's last output. */
const launching: LaunchOptions = { env: {}, children, keepChunks: 200, startupMs: 90_000, tempPrefix: 'r42-bench-' };
process.once('exit', () => {
  for (const c of children) if (alive(c)) c.proc.kill('SIGKILL');
});

let pgServer: PostgresServer | undefined;
let redis: RedisServer | undefined;
let sim: Simulator | undefined;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;

// ---- CPU accounting (/proc) ----

/** utime + stime, cutime + cstime (what it reaped) and ppid of a process, or null once it is gone. */
function procStat(pid: number): { own: number; reaped: number; ppid: number } | null {
  try {
    const f = statFields(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return { own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]), ppid: Number(f[1]) };
  } catch {
    return null;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether a process ignores SIGCHLD (its children are reaped by the kernel: their CPU never reaches its cutime). */
function ignoresSigchld(pid: number): boolean {
  try {
    const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? (BigInt(`0x${m[1]}`) & (1n << 16n)) !== 0n : false;
  } catch {
    return false;
  }
}

/**
 * CPU ticks of process trees over a window, processes that come and go included: the trees are
 * walked every 50 ms; each process counts what it used between its first and its last sight
 * (own + reaped children), except one that ended and was reaped by a parent seen after it (it is
 * in that parent's cutime). Children of a parent that ignores SIGCHLD (the warm engine's server)
 * always count. What a process used in its last < 50 ms is missed.
 */
class TreeMeter {
  private seen = new Map<number, { first: number; last: number; own0: number; own1: number; ppid: number; at: number; ign: boolean }>();
  private n = 0;
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly roots: number[]) {}

  private sample(): void {
    this.n++;
    const todo = [...this.roots];
    while (todo.length) {
      const pid = todo.pop()!;
      const st = procStat(pid);
      if (!st) continue;
      const total = st.own + st.reaped;
      const e = this.seen.get(pid);
      if (e) Object.assign(e, { last: total, own1: st.own, ppid: st.ppid, at: this.n });
      // Born in the window: from 0.
      else this.seen.set(pid, { first: this.n === 1 ? total : 0, last: total, own0: this.n === 1 ? st.own : 0, own1: st.own, ppid: st.ppid, at: this.n, ign: ignoresSigchld(pid) });
      todo.push(...childrenOf(pid));
    }
  }

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
    return this;
  }

  /** Ticks of the whole trees, and of the roots' own work (utime + stime). */
  stop(): { tree: number; roots: number } {
    clearInterval(this.timer!);
    this.sample();
    let tree = 0;
    for (const [, e] of this.seen) {
      const parent = this.seen.get(e.ppid);
      if (e.at < this.n && parent && parent.at > e.at && !parent.ign) continue;
      tree += e.last - e.first;
    }
    const roots = this.roots.reduce((s, r) => s + ((e) => (e ? e.own1 - e.own0 : 0))(this.seen.get(r)), 0);
    return { tree: tree / TICK, roots: roots / TICK };
  }
}

let postmasterPid = 0;
let redisPid = 0;

/** CPU-seconds while `fn` runs: the whole machine, then ours by part. */
async function metered<T>(api: Api, workers: WorkerProc[], fn: () => Promise<T>): Promise<{ value: T; cpu: Cpu }> {
  const meters = {
    api: new TreeMeter([api.proc.pid!]).start(),
    workers: new TreeMeter(workers.map((w) => w.proc.pid!)).start(),
    pg: new TreeMeter([postmasterPid]).start(),
    redis: new TreeMeter([redisPid]).start(),
  };
  const m0 = busyTicks();
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const [a, w, p, r] = [meters.api.stop(), meters.workers.stop(), meters.pg.stop(), meters.redis.stop()];
  const u = process.cpuUsage(u0);
  const cpu = {
    wall: (performance.now() - t0) / 1000,
    machine: (busyTicks() - m0) / TICK,
    api: a.roots, // the API's Node process
    workers: w.roots, // the workers' Node processes
    runs: a.tree - a.roots + w.tree - w.roots, // everything below them: the warm engines and their runs
    pg: p.tree,
    redis: r.tree,
    bench: (u.user + u.system) / 1e6, // this process: the simulator, the client, these meters
    ours: 0,
  };
  cpu.ours = cpu.api + cpu.workers + cpu.runs + cpu.pg + cpu.redis + cpu.bench;
  return { value, cpu };
}
type Cpu = { wall: number; machine: number; api: number; workers: number; runs: number; pg: number; redis: number; bench: number; ours: number };

// ---- rounds ----

interface Round {
  rate: number;
  eventsPerS: number;
  cpu: Cpu;
  wall: number;
}

/** `n` vms/list jobs submitted at once (respond-async), waited for; figures from their records. */
async function round(api: Api, n: number, workers: WorkerProc[] = []): Promise<Round> {
  const { value: ids, cpu } = await metered(api, workers, async () => {
    const ids = await Promise.all(Array.from({ length: n }, async () => {
      const r = await api.call('POST', VM_LIST.url, VM_LIST.body, { prefer: 'respond-async' });
      if (r.status !== 202) throw new Error(`${api.name}: submit answered ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.job_id as string;
    }));
    await until(`${api.name}: ${n} jobs over`, async () => (await api.call('GET', '/v0/jobs?status=queued,running')).body.total === 0, 120_000, 100);
    return ids;
  });
  const recs = await Promise.all(ids.map(async (id) => (await api.call('GET', `/v0/jobs/${id}`)).body));
  const bad = recs.find((j) => j.status !== 'successful');
  if (bad) throw new Error(`${api.name}: job ${bad.id} ${bad.status}: ${bad.reason}`);
  const first = Math.min(...recs.map((j) => Date.parse(j.created_at)));
  const last = Math.max(...recs.map((j) => Date.parse(j.finished_at)));
  const wall = (last - first) / 1000;
  const events = recs.reduce((s, j) => s + (j.event_count as number), 0);
  return { rate: n / wall, eventsPerS: events / wall, cpu, wall };
}

/** Synchronous calls one at a time (a run slot is free for each): submit→start (ms) and the call's wall time (ms). */
async function probes(api: Api, k: number): Promise<{ startMs: number[]; callMs: number[] }> {
  const startMs: number[] = [];
  const callMs: number[] = [];
  for (let i = 0; i < k; i++) {
    const t0 = performance.now();
    const r = await api.call('POST', VM_LIST.url, VM_LIST.body);
    callMs.push(performance.now() - t0);
    if (r.status !== 200) throw new Error(`${api.name}: synchronous call answered ${r.status}`);
    const j = (await api.call('GET', `/v0/jobs/${r.headers.get('x-job-id')}`)).body;
    startMs.push(Date.parse(j.started_at) - Date.parse(j.created_at));
  }
  return { startMs, callMs };
}

interface Row {
  w: number;
  queue: Round[];
  local: Round[];
  qProbe: { startMs: number[]; callMs: number[] };
  lProbe: { startMs: number[]; callMs: number[] };
}

async function main(): Promise<void> {
  const load0 = os.loadavg();
  const tStart = performance.now();
  [pgServer, redis, sim] = await Promise.all([startPostgres(), startRedis(), startSimulator({ port: 0, taskDurationMs: 0 })]);
  redisPid = processesMatching(`redis-server 127.0.0.1:${redis!.port}`)[0] ?? 0; // redis-server's process title
  postmasterPid = processesMatching(`${pgServer!.dir}/data`)[0] ?? 0;
  if (!redisPid || !postmasterPid) throw new Error(`no pid for redis (${redisPid}) or postgres (${postmasterPid})`);
  const [queueDb, localDb] = [await pgServer.createDatabase(), await pgServer.createDatabase()];
  launching.env = { ...serviceEnv(sim), WORKER_HEARTBEAT_INTERVAL: String(HEARTBEAT_S), WORKER_LOST_AFTER: String(LOST_AFTER_S) };
  const queueEnv = { DATABASE_URL: queueDb, RUN_QUEUE: 'redis', REDIS_URL: redis.url };
  const api = await startApi(launching, 'API (queue)', { ...queueEnv, RUNNER_MAX_CONCURRENT: '1' });
  const workers: WorkerProc[] = [];
  const rows: Row[] = [];

  for (const w of WS) {
    const more = Array.from({ length: w - workers.length }, (_, i) => startWorker(launching, `worker ${workers.length + i + 1}`, { ...queueEnv, RUNNER_MAX_CONCURRENT: '1' }));
    const [local] = await Promise.all([
      startApi(launching, `API (local, ${w})`, { DATABASE_URL: localDb, RUN_QUEUE: 'local', RUNNER_MAX_CONCURRENT: String(w) }),
      ...more.map((p) => p.then((wp) => workers.push(wp))),
    ]) as [Api, ...unknown[]];
    try {
      // Warm-up: every worker's warm engine, the local engine's, the connections.
      await round(api, 2 * w, workers);
      await round(local, 2 * w);
      const row: Row = { w, queue: [], local: [], qProbe: { startMs: [], callMs: [] }, lProbe: { startMs: [], callMs: [] } };
      for (let r = 0; r < rounds; r++) {
        for (const mode of r % 2 ? (['local', 'queue'] as const) : (['queue', 'local'] as const)) {
          row[mode].push(mode === 'queue' ? await round(api, jobsPerRound, workers) : await round(local, jobsPerRound));
        }
      }
      row.qProbe = await probes(api, PROBES);
      row.lProbe = await probes(local, PROBES);
      rows.push(row);
      const q = median(row.queue.map((x) => x.rate));
      const l = median(row.local.map((x) => x.rate));
      console.error(`  W=${w}: queue ${q.toFixed(2)} runs/s, local ${l.toFixed(2)} runs/s (${((performance.now() - tStart) / 1000).toFixed(0)} s in)`);
    } finally {
      await stop(local);
    }
  }

  // kill -9 → lost, with the workers left from W=4.
  sim.setTaskDuration(30_000);
  const db = new pg.Client({ connectionString: queueDb });
  await db.connect();
  const lostMs: number[] = [];
  try {
    for (const vmid of ['1020', '1021', '4003'].slice(0, KILLS)) {
      const started = await api.call('POST', '/v0/admin/proxmox/vms/vm_id/pause', { proxmox_node: 'px-testing', vm_id: vmid }, { prefer: 'respond-async' });
      if (started.status !== 202) throw new Error(`pause answered ${started.status}`);
      const id = started.body.job_id as string;
      const running = await until('run started', async () => {
        const j = (await db.query('SELECT owner, runs FROM jobs WHERE id = $1', [id])).rows[0];
        return j?.runs?.[0]?.pid ? j : null;
      }, 30_000);
      const victim = workers.find((x) => x.id === running.owner?.worker);
      if (!victim) throw new Error(`job ${id} on an unknown worker ${JSON.stringify(running.owner)}`);
      victim.proc.kill('SIGKILL');
      const killedAt = performance.now();
      await until(`job ${id} lost`, async () => (await api.call('GET', `/v0/jobs/${id}`)).body.status === 'lost', 20_000, 20);
      lostMs.push(performance.now() - killedAt);
      await victim.exited;
      workers.splice(workers.indexOf(victim), 1);
      await until('the lost run\'s processes gone', () => processesMatching(running.runs[0].run_id).length === 0, 10_000, 100);
    }
  } finally {
    await db.end();
    sim.setTaskDuration(0);
  }
  const load1 = os.loadavg();
  const elapsed = (performance.now() - tStart) / 1000;

  // ---- report ----
  const f2 = (x: number) => x.toFixed(2);
  const f3 = (x: number) => x.toFixed(3);
  const ms = (x: number) => `${x.toFixed(0)}`;
  const med = (rs: Round[], pick: (r: Round) => number) => median(rs.map(pick));
  const perRun = (rs: Round[], pick: (c: Cpu) => number) => med(rs, (r) => pick(r.cpu) / jobsPerRound);
  console.log(`\n# Run queue scale-out — ${os.cpus().length} cores, ${jobsPerRound} vms/list jobs per round submitted at once, ${rounds} interleaved rounds, medians; simulator tasks 0 ms`);
  console.log('queue: 1 API instance + W worker processes, RUNNER_MAX_CONCURRENT=1 each (W = concurrent runs); local: 1 API instance running its jobs itself, RUNNER_MAX_CONCURRENT=W; both JOBS_STORE=postgres');
  console.log(`load average ${load0.map(f2).join(' ')} at the start, ${load1.map(f2).join(' ')} at the end`);
  console.log('W  queue runs/s  local runs/s  queue/local  events/s to PG (queue)  submit→start ms p50/p95: queue  local  sync call ms p50: queue  local');
  for (const r of rows) {
    const q = med(r.queue, (x) => x.rate);
    const l = med(r.local, (x) => x.rate);
    console.log(`${String(r.w).padEnd(2)} ${f2(q).padStart(12)}  ${f2(l).padStart(12)}  ${(q / l).toFixed(2).padStart(10)}×  ${med(r.queue, (x) => x.eventsPerS).toFixed(0).padStart(22)}  ${`${ms(median(r.qProbe.startMs))}/${ms(p95(r.qProbe.startMs))}`.padStart(36)}  ${`${ms(median(r.lProbe.startMs))}/${ms(p95(r.lProbe.startMs))}`.padStart(6)}  ${ms(median(r.qProbe.callMs)).padStart(23)}  ${ms(median(r.lProbe.callMs)).padStart(5)}`);
  }
  console.log('\nCPU-seconds per run, medians of rounds (/proc/stat for the machine; our process trees walked every 50 ms)');
  console.log('machine = every process on it, the other work included; ours = the processes below, i.e. what the runs cost here');
  console.log('W  mode   machine  busy cores  ours   our cores  API node  workers node  runs (engine, ansible)  PostgreSQL  Redis  bench (simulator, client)');
  for (const r of rows) {
    for (const mode of ['queue', 'local'] as const) {
      const rs = r[mode];
      const c = (pick: (c: Cpu) => number) => f3(perRun(rs, pick));
      const cores = (pick: (c: Cpu) => number) => f2(med(rs, (x) => pick(x.cpu) / x.cpu.wall));
      console.log(`${String(r.w).padEnd(2)} ${mode.padEnd(5)}  ${c((x) => x.machine).padStart(7)}  ${cores((x) => x.machine).padStart(10)}  ${c((x) => x.ours)}  ${cores((x) => x.ours).padStart(9)}  ${c((x) => x.api).padStart(8)}  ${(mode === 'queue' ? c((x) => x.workers) : '-').padStart(12)}  ${c((x) => x.runs).padStart(22)}  ${c((x) => x.pg).padStart(10)}  ${c((x) => x.redis).padStart(5)}  ${c((x) => x.bench)}`);
    }
  }
  console.log(`\nkill -9 of a worker running a job → the job \`lost\`: ${lostMs.map(ms).join(', ')} ms, median ${ms(median(lostMs))} ms (WORKER_LOST_AFTER ${LOST_AFTER_S} s, heartbeat ${HEARTBEAT_S} s; bound ${LOST_AFTER_S} s + one sweep of ${Math.min(HEARTBEAT_S, LOST_AFTER_S / 4)} s)`);

  const byW = new Map(rows.map((r) => [r.w, r]));
  const rate = (w: number, mode: 'queue' | 'local') => med(byW.get(w)![mode], (x) => x.rate);
  const cpuRun = (w: number, mode: 'queue' | 'local', pick: (c: Cpu) => number) => perRun(byW.get(w)![mode], pick);
  const two = byW.get(2)!;
  const service = cpuRun(2, 'queue', (c) => c.api + c.pg + c.redis);
  const ours4 = cpuRun(4, 'queue', (c) => c.ours);
  console.log(`\nThe CPU is the limit here: this machine has ${os.cpus().length} cores, so runs/s × CPU-s per run ≤ ${os.cpus().length}.` +
    ` At W=4 with the queue: ${f2(rate(4, 'queue'))} runs/s × ${f3(ours4)} CPU-s of our processes per run = ${f2(rate(4, 'queue') * ours4)} cores,` +
    ` the machine's busy time ${f2(med(byW.get(4)!.queue, (x) => x.cpu.machine / x.cpu.wall))} cores (the rest is the other work on it).` +
    ` Throughput follows the cores the workers get: W=1 → 2 ×${f2(rate(2, 'queue') / rate(1, 'queue'))}, W=2 → 4 ×${f2(rate(4, 'queue') / rate(2, 'queue'))} (no third core).`);
  console.log(`The API and the store add no bottleneck: at W=2 the queue gives ${f2(rate(2, 'queue'))} runs/s against ${f2(rate(2, 'local'))} for the local engine at concurrency 2 (${f2(rate(2, 'queue') / rate(2, 'local'))}×);` +
    ` the API process, PostgreSQL and Redis take ${f3(service)} of the ${f3(cpuRun(2, 'queue', (c) => c.ours))} CPU-s of a run (${((100 * service) / cpuRun(2, 'queue', (c) => c.ours)).toFixed(0)} %);` +
    ` PostgreSQL appends ${med(two.queue, (x) => x.eventsPerS).toFixed(0)} events/s; submit→start with a free worker ${ms(median(two.qProbe.startMs))} ms median, p95 ${ms(p95(two.qProbe.startMs))} ms (local engine ${ms(median(two.lProbe.startMs))} ms).`);
  console.log(`measured in ${elapsed.toFixed(0)} s`);
}

/** Once: a signal's handler and main()'s end may both ask; the second waits for the first to finish (it exits after). */
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all(children.map((c) => stop(c)));
    await sim?.close().catch(() => undefined);
    await Promise.all([pgServer?.close(), redis?.close()]);
    removeTempDirs();
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void cleanup().finally(() => process.exit(130));
  });
}
const guard = setTimeout(() => {
  console.error('bench/scale.ts: over 8 minutes, giving up');
  void cleanup().finally(() => process.exit(1));
}, 8 * 60_000);
let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`bench/scale.ts failed: ${(err as Error).stack ?? err}`);
} finally {
  clearTimeout(guard);
  await cleanup();
}
process.exit(failed ? 1 : 0);
