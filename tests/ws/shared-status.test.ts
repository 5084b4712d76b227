import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import pino from 'pino';
import WebSocket from 'ws';
import { createApp } from '../../src/app.js';
import type { SharedNode, SharedStatusHub } from '../../src/proxmox/shared-status.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { call, data } from '../simulator/client.js';
import { simulatorInventory, testConfig, waitFor } from '../helpers.js';
import { startRedis, type RedisServer } from '../support/services.js';
import { recordingViewer, type Msg, type Viewer } from './viewer.js';

/**
 * /ws/vm-status shared among instances through Redis (STATUS_SHARING=redis): two apps in this
 * process, one Redis, one simulator over HTTPS, real WebSocket viewers on both.
 */

type App = Awaited<ReturnType<typeof createApp>>;
const INTERVAL_MS = 200;
let redis: RedisServer;
let sim: Simulator;
let inventory: string;
const apps: App[] = [];
const bases = new Map<App, string>();
const open: WebSocket[] = [];

/** What instance `a` logged (JSON lines). */
const logged: Msg[] = [];

async function instance(inv = inventory, log = false): Promise<App> {
  const logger = log ? pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) }) : false;
  const app = await createApp(testConfig({
    API_BACKEND_INVENTORY_DIR: inv, STATUS_POLL_INTERVAL: String(INTERVAL_MS / 1000), REDIS_URL: redis.url,
  }), { logger });
  bases.set(app, (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws'));
  apps.push(app);
  await waitFor(() => (app.statusHub as SharedStatusHub).connected, 10_000);
  return app;
}

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ port: 0, requestLogSize: 1_000_000 });
  inventory = simulatorInventory(sim);
});
afterAll(async () => {
  for (const ws of open) ws.close();
  for (const app of apps) await app.close();
  await sim.close();
  await redis.close();
});

function viewer(app: App): Viewer {
  return recordingViewer(`${bases.get(app)}/ws/vm-status?node=px-testing`, open);
}

const feed = (app: App) => app.statusHub.active[0] as SharedNode;
const roles = (...xs: App[]) => xs.map((a) => feed(a)?.role).sort().join(',');
const qemuPolls = () => sim.requestLog.filter((r) => r.path === '/nodes/px-testing/qemu').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Flips VM 4001 between running and stopped in the simulator; the status each viewer must see. */
function toggle(): string {
  const g = sim.cluster.guest(4001)!;
  const running = g.status !== 'running';
  g.status = running ? 'running' : 'stopped';
  g.qmpstatus = g.status;
  g.startedAt = running ? Date.now() : null;
  sim.touch();
  return g.status;
}

/** Every viewer receives the diff of 4001 to `status`, the same record on all. */
async function sameDiff(viewers: Viewer[], status: string): Promise<void> {
  const marks = viewers.map((v) => v.messages.length);
  const got = await Promise.all(viewers.map((v, i) => v.next((m) => m.type === 'diff' && m.changes['4001']?.status === status, marks[i])));
  const entries = got.map((m) => m.changes['4001']);
  expect(entries[0]).toMatchObject({ type: 'changed', vm_type: 'qemu', vmid: 4001, status });
  for (const e of entries) expect({ ...e, cpu: 0, mem: 0, uptime: 0 }).toEqual({ ...entries[0], cpu: 0, mem: 0, uptime: 0 });
}

/** Proxmox polls of the node over `ms`, all instances together, and the polls each feed made. */
async function pollsDuring(ms: number, ...xs: App[]): Promise<{ total: number; each: number[] }> {
  const before = qemuPolls();
  const own = xs.map((a) => feed(a).polls);
  await sleep(ms);
  return { total: qemuPolls() - before, each: xs.map((a, i) => feed(a).polls - own[i]!) };
}

describe('/ws/vm-status shared through Redis', () => {
  let a: App;
  let b: App;
  let viewers: Viewer[];

  it('polls each node once per interval for the viewers of both instances; all get full, then the same diff', async () => {
    a = await instance(inventory, true);
    b = await instance();
    viewers = [viewer(a), viewer(a), viewer(b), viewer(b)];
    const fulls = await Promise.all(viewers.map((v) => v.next((m) => m.type === 'full')));
    for (const [i, v] of viewers.entries()) expect(v.messages[0], `viewer ${i}`).toBe(fulls[i]);
    const ids = (m: Msg) => m.vms.map((vm: Msg) => vm.vmid);
    for (const f of fulls) expect(ids(f)).toEqual(ids(fulls[0]!));
    await waitFor(() => roles(a, b) === 'follower,leader', 5000);

    const { total, each } = await pollsDuring(10 * INTERVAL_MS, a, b);
    expect(total).toBeGreaterThanOrEqual(5); // ~10 at 200 ms, fewer on a busy machine
    expect(total).toBeLessThanOrEqual(11); // not 20: one instance polls
    expect(Math.min(...each)).toBe(0); // the follower never asked Proxmox

    await sameDiff(viewers, toggle());
    await sameDiff(viewers, toggle());

    // a viewer joining the follower gets full at once, from what the leader shared
    const follower = feed(a).role === 'follower' ? a : b;
    const late = viewer(follower);
    const full = await late.next((m) => m.type === 'full');
    expect(ids(full)).toEqual(ids(fulls[0]!));
    expect(full.vms.find((vm: Msg) => vm.vmid === 4001).status).toBe(sim.cluster.guest(4001)!.status);
    viewers.push(late);
  });

  it('Redis stopped: each instance polls for its own viewers, who keep getting diffs; Redis back: shared again', async () => {
    await redis.stop();
    await waitFor(() => roles(a, b) === 'local,local', 5000);
    const local = await pollsDuring(5 * INTERVAL_MS, a, b);
    for (const n of local.each) expect(n).toBeGreaterThanOrEqual(2); // both poll
    await sameDiff(viewers, toggle());

    const said = (text: string) => logged.some((l) => String(l.msg).includes(text));
    expect(said('Redis unreachable, each instance polls Proxmox for its own viewers')).toBe(true);
    expect(logged.some((l) => JSON.stringify(l).includes(`${redis.port}`) && l.level === 40)).toBe(true); // names the server

    await redis.start(); // empty: no lease, no snapshot, the counter from 1
    await waitFor(() => roles(a, b) === 'follower,leader', 10_000);
    await sameDiff(viewers, toggle());
    expect(said('Redis reachable again')).toBe(true);
    const shared = await pollsDuring(10 * INTERVAL_MS, a, b);
    expect(shared.total).toBeLessThanOrEqual(11);
    expect(Math.min(...shared.each)).toBe(0);
    await sameDiff(viewers, toggle());
    for (const v of viewers) expect(v.messages.filter((m) => m.type === 'full')).toHaveLength(1);
  });

  it('a leader cut off from Redis loses the lease to the other within ~2 intervals; both instances\' viewers keep getting diffs', async () => {
    const leader = feed(a).role === 'leader' ? a : b;
    const other = leader === a ? b : a;
    const hub = leader.statusHub as unknown as { cmd: { disconnect(): void; connect(): Promise<void> }; sub: { disconnect(): void; connect(): Promise<void> } };
    const t0 = performance.now();
    const takenOver = new Promise<number>((resolve) => feed(other).once('role', () => resolve(performance.now() - t0)));
    hub.cmd.disconnect();
    hub.sub.disconnect();
    const ms = await takenOver;
    expect(feed(other).role).toBe('leader');
    expect(ms).toBeLessThan((other.statusHub as SharedStatusHub).leaseTtlMs + 3 * INTERVAL_MS); // lease 800 ms + half an interval, and some slack
    expect(feed(leader).role).toBe('local');
    await sameDiff(viewers, toggle());

    await Promise.all([hub.cmd.connect(), hub.sub.connect()]);
    await waitFor(() => roles(a, b) === 'follower,leader' && feed(other).role === 'leader', 5000);
    await sameDiff(viewers, toggle());
  });

  it('the leader closed: the other takes over at once and its viewers keep getting diffs, with no new full', async () => {
    const leader = feed(a).role === 'leader' ? a : b;
    const other = leader === a ? b : a;
    const kept = viewers.filter((v) => (v.ws.url.startsWith(bases.get(other)!)));
    expect(kept.length).toBeGreaterThanOrEqual(2);
    const t0 = performance.now();
    const takenOver = new Promise<number>((resolve) => feed(other).once('role', () => resolve(performance.now() - t0)));
    await leader.close();
    apps.splice(apps.indexOf(leader), 1);
    expect(await takenOver).toBeLessThan(INTERVAL_MS); // the lease is given back, not left to run out
    expect(feed(other).role).toBe('leader');
    await sameDiff(kept, toggle());
    const { total } = await pollsDuring(5 * INTERVAL_MS, other);
    expect(total).toBeGreaterThanOrEqual(2);
    expect(total).toBeLessThanOrEqual(6);
    for (const v of kept) expect(v.messages.filter((m) => m.type === 'full')).toHaveLength(1);
  });

  it('instances pointing at another Proxmox share nothing with these, through the same Redis', async () => {
    const other = await startSimulator({ port: 0 });
    try {
      const c = await instance(simulatorInventory(other));
      const v = viewer(c);
      await v.next((m) => m.type === 'full');
      await waitFor(() => feed(c).role === 'leader', 5000); // its own lease: b's is another key
      const survivor = apps.find((x) => x !== c)!;
      expect(feed(survivor).role).toBe('leader');
      expect(feed(c).keys.lease).not.toBe(feed(survivor).keys.lease);
      expect(feed(c).keys.lease).toContain(other.apiHost);
      await data(call(other, 'PUT', '/nodes/px-testing/qemu/4001/config', { name: 'elsewhere' }));
      const d = await v.next((m) => m.type === 'diff' && m.changes['4001']?.name === 'elsewhere');
      expect(d.changes['4001'].type).toBe('changed');
      await sleep(3 * INTERVAL_MS);
      const survivors = viewers.filter((x) => x.ws.url.startsWith(bases.get(survivor)!));
      for (const x of survivors) expect(x.messages.some((m) => m.type === 'diff' && m.changes['4001']?.name === 'elsewhere')).toBe(false);
      expect(other.requestLog.filter((r) => r.path === '/nodes/px-testing/qemu').length).toBeGreaterThan(0);
      await c.close();
      apps.splice(apps.indexOf(c), 1);
    } finally {
      await other.close();
    }
  });

  it('Redis unreachable from the start: the instance starts, says so, and polls for its own viewers', async () => {
    const lines: Msg[] = [];
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const app = await createApp(testConfig({
      API_BACKEND_INVENTORY_DIR: inventory, STATUS_POLL_INTERVAL: String(INTERVAL_MS / 1000), REDIS_URL: `redis://:hidden@127.0.0.1:${port}`,
    }), { logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) });
    apps.push(app);
    bases.set(app, (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws'));
    const v = viewer(app);
    await v.next((m) => m.type === 'full');
    expect(feed(app).role).toBe('local');
    await waitFor(() => lines.some((l) => l.level === 40 && String(l.msg).includes('Redis unreachable')), 5000);
    expect(JSON.stringify(lines)).not.toContain('hidden');
  });
});
