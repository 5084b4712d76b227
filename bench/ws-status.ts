/**
 * /ws/vm-status with many viewers of one node: the service (with the simulator) runs in a child
 * process; this process opens the WebSocket clients. Printed: Proxmox polls per interval (one,
 * whatever the number of viewers), the time from the poll having Proxmox's answer to the last of
 * the clients receiving the diff of a VM state change (p50/p99/max over rounds; target p99 < 100 ms),
 * and the service's memory per connected client.
 *
 * With `instances` above 1, that many instances of the service (one process) share a Redis
 * (STATUS_SHARING=redis) and the clients are spread over them: still one poll per interval, the
 * latency then includes the way through Redis for the instances that do not poll.
 *
 *   node --import tsx bench/ws-status.ts [clients] [rounds] [interval-seconds] [instances]
 * `npm run bench` runs it as is (1 instance), then with 2 instances.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
import { REPO_ROOT } from '../src/config/paths.js';

const clients = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 10);
const intervalS = Number(process.argv[4] ?? 0.5);
const instances = Number(process.argv[5] ?? 1);

type Reply = Record<string, any>;
const child = fork(path.join(REPO_ROOT, 'bench', 'lib', 'ws-service.ts'), [String(intervalS), String(instances)], {
  execArgv: ['--import', 'tsx', '--expose-gc'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const replies: Reply[] = [];
const waiters: ((r: Reply) => boolean)[] = [];
child.on('message', (m) => {
  replies.push(m as Reply);
  for (const w of [...waiters]) if (w(m as Reply)) waiters.splice(waiters.indexOf(w), 1);
});
const expect = (key: string) => new Promise<Reply>((resolve) => {
  const found = replies.findIndex((r) => key in r);
  if (found >= 0) return resolve(replies.splice(found, 1)[0]!);
  waiters.push((r) => {
    if (!(key in r)) return false;
    replies.splice(replies.indexOf(r), 1);
    resolve(r);
    return true;
  });
});
const ask = (cmd: string, key: string) => {
  const p = expect(key);
  child.send({ cmd });
  return p;
};

const { bases, mem: idle } = await expect('base');
const now = () => performance.timeOrigin + performance.now();

// Connect every client and wait for its first `full`.
let received = 0;
let pending: { resolve: () => void; target: number } | null = null;
const receipts: number[] = [];
/** Instance (index in `bases`) of each receipt. */
const receiptInstance: number[] = [];
const sockets: WebSocket[] = [];
const connectStart = now();
await Promise.all(Array.from({ length: clients }, (_, i) => new Promise<void>((resolve, reject) => {
  const base = (bases as string[])[i % bases.length]!;
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/vm-status?node=px-testing`);
  sockets.push(ws);
  let first = true;
  ws.on('message', (raw) => {
    if (first) {
      first = false;
      return resolve();
    }
    const m = JSON.parse(String(raw)) as Reply;
    if (m.type === 'diff' && m.changes['4001']) {
      receipts.push(now());
      receiptInstance.push(i % bases.length);
      if (pending && ++received === pending.target) pending.resolve();
    }
  });
  ws.on('error', reject);
})));
const connectMs = now() - connectStart;
await new Promise((r) => setTimeout(r, 500));
const { mem: loaded } = await ask('mem', 'mem');

// Polls per interval with all clients connected.
const p0 = (await ask('polls', 'polls')).polls as number;
const windowS = 10 * intervalS;
await new Promise((r) => setTimeout(r, windowS * 1000));
const pollsPerInterval = (((await ask('polls', 'polls')).polls as number) - p0) / (windowS / intervalS);

// Rounds: change a VM's state, take the poll's time, wait for every client's diff.
const latencies: number[] = [];
const latencyInstance: number[] = [];
const lastLatencies: number[] = [];
for (let r = 0; r < rounds; r++) {
  received = 0;
  receipts.length = 0;
  receiptInstance.length = 0;
  const allIn = new Promise<void>((resolve) => (pending = { resolve, target: clients }));
  const fetched = expect('fetched');
  await ask('toggle', 'toggled');
  // The first poll after the toggle carries the change; older 'fetched' notices are dropped.
  let t = (await fetched).fetched as number;
  while (receipts.length === 0) {
    const more = await Promise.race([expect('fetched'), allIn.then(() => null)]);
    if (more === null) break;
    t = more.fetched as number;
  }
  await allIn;
  for (const [k, x] of receipts.entries()) {
    latencies.push(x - t);
    latencyInstance.push(receiptInstance[k]!);
  }
  lastLatencies.push(Math.max(...receipts) - t);
  replies.length = 0;
}

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const perClient = (loaded.rss - idle.rss) / clients;
const perClientHeap = (loaded.heapUsed - idle.heapUsed) / clients;
const where = instances > 1 ? `, spread over ${instances} instances sharing Redis` : '';
process.stdout.write(`\n/ws/vm-status, ${clients} clients on one node${where}, poll interval ${intervalS} s, ${rounds} rounds\n`);
process.stdout.write(`  connect + first full for all clients: ${connectMs.toFixed(0)} ms\n`);
process.stdout.write(`  Proxmox polls per interval: ${pollsPerInterval.toFixed(2)} (one QEMU + one LXC request each; target: 1, not ${clients})\n`);
process.stdout.write(`  poll answer -> client has the diff: p50 ${q(latencies, 50).toFixed(1)} ms, p99 ${q(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (target p99 < 100 ms)\n`);
process.stdout.write(`  poll answer -> LAST client has the diff, per round: p50 ${q(lastLatencies, 50).toFixed(1)} ms, max ${Math.max(...lastLatencies).toFixed(1)} ms\n`);
if (instances > 1) {
  for (let k = 0; k < instances; k++) {
    const mine = latencies.filter((_, j) => latencyInstance[j] === k);
    process.stdout.write(`    clients of instance ${k + 1}: p50 ${q(mine, 50).toFixed(1)} ms, p99 ${q(mine, 99).toFixed(1)} ms\n`);
  }
}
if (instances === 1) process.stdout.write(`  service memory per client: ${(perClient / 1024).toFixed(1)} KiB RSS, ${(perClientHeap / 1024).toFixed(1)} KiB heap (RSS ${(idle.rss / 1048576).toFixed(0)} -> ${(loaded.rss / 1048576).toFixed(0)} MiB)\n`);

for (const ws of sockets) ws.close();
child.send({ cmd: 'stop' });
await new Promise((r) => child.once('exit', r));
