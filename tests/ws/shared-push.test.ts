import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { createApp } from '../../src/app.js';
import type { SharedNode, SharedStatusHub } from '../../src/proxmox/shared-status.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { simulatorInventory, testConfig, waitFor } from '../helpers.js';
import { startRedis, type RedisServer } from '../support/services.js';
import { recordingViewer, type Viewer } from './viewer.js';

/**
 * Issue 25.5 with STATUS_SHARING=redis: a job that ends on the instance that does not poll the
 * node asks the one that does for a poll now, through the feed's channel; the viewers of both get
 * the diff at once. The regular poll is 30 s, so only the push can deliver it within the test.
 */

type App = Awaited<ReturnType<typeof createApp>>;
let redis: RedisServer;
let sim: Simulator;
const apps: App[] = [];
const open: WebSocket[] = [];

async function instance(): Promise<{ app: App; viewer: Viewer }> {
  const app = await createApp(testConfig({ API_BACKEND_INVENTORY_DIR: simulatorInventory(sim), STATUS_POLL_INTERVAL: '30', REDIS_URL: redis.url }), { logger: false });
  apps.push(app);
  const base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws');
  await waitFor(() => (app.statusHub as SharedStatusHub).connected, 10_000);
  const viewer = recordingViewer(`${base}/ws/vm-status?node=px-testing`, open);
  await viewer.next((m) => m.type === 'full', 0, 10_000);
  return { app, viewer };
}

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ port: 0, requestLogSize: 100_000 });
});
afterAll(async () => {
  for (const ws of open) ws.close();
  for (const app of apps) await app.close();
  await sim?.close();
  await redis?.close();
});

const feed = (app: App) => app.statusHub.active[0] as SharedNode;
const qemuPolls = () => sim.requestLog.filter((r) => r.path === '/nodes/px-testing/qemu').length;

function toggle(): string {
  const g = sim.cluster.guest(4001)!;
  g.status = g.status === 'running' ? 'stopped' : 'running';
  g.qmpstatus = g.status;
  g.startedAt = g.status === 'running' ? Date.now() : null;
  sim.touch();
  return g.status;
}

describe('the push after a job, shared among instances (issue 25.5)', () => {
  it('a refresh on the follower makes the leader poll now: one poll, the diff on both instances', async () => {
    const a = await instance();
    const b = await instance();
    await waitFor(() => [feed(a.app).role, feed(b.app).role].sort().join() === 'follower,leader', 10_000);
    const [leader, follower] = feed(a.app).role === 'leader' ? [a, b] : [b, a];
    for (const [who, from] of [[follower, 'follower'], [leader, 'leader']] as const) {
      const status = toggle();
      const polls = qemuPolls();
      const marks = [a, b].map((x) => x.viewer.messages.length);
      who.app.statusHub.refresh('px-testing');
      await Promise.all([a, b].map((x, i) => x.viewer.next((m) => m.type === 'diff' && m.changes['4001']?.status === status, marks[i], 3000)));
      expect(qemuPolls() - polls, from).toBe(1);
    }
  });
});
