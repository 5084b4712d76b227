// Child process for bench/ws-status.ts: the simulator and the service, answering IPC commands.
// With a second argument above 1, that many instances of the service share a throwaway Redis
// (STATUS_SHARING=redis), all pointing at the one simulator.
import pino from 'pino';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { startSimulator } from '../../src/simulator/index.js';
import { removeTempDirs, simulatorInventory } from '../../tests/helpers.js';

const intervalS = process.argv[2] ?? '0.5';
const instances = Number(process.argv[3] ?? 1);
const sim = await startSimulator({ port: 0 });
const redis = instances > 1 ? await (await import('../../tests/support/services.js')).startRedis() : null;
const inventory = simulatorInventory(sim);
const apps: Awaited<ReturnType<typeof createApp>>[] = [];
for (let i = 0; i < instances; i++) {
  apps.push(await createApp(loadConfig({
    PATH: process.env.PATH, HOME: process.env.HOME, API_BACKEND_INVENTORY_DIR: inventory,
    STATUS_POLL_INTERVAL: intervalS, STATUS_MAX_BUFFERED_BYTES: String(64 * 1024 * 1024),
    ...(redis ? { REDIS_URL: redis.url } : {}),
  }), { logger: pino({ level: 'silent' }) }));
}
const bases: string[] = [];
for (const app of apps) bases.push(await app.listen({ host: '127.0.0.1', port: 0 }));
if (redis) await new Promise((r) => setTimeout(r, 500)); // the Redis connections up
let hooked = false;

const gcAndMeasure = () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
};
const qemuPolls = () => sim.requestLog.filter((r) => r.path === '/nodes/px-testing/qemu').length;

process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'mem') process.send!({ mem: gcAndMeasure() });
  else if (msg.cmd === 'polls') process.send!({ polls: qemuPolls() });
  else if (msg.cmd === 'toggle') {
    if (!hooked) {
      // Time the moment the poll has Proxmox's answer, before it is compared and broadcast.
      for (const app of apps) for (const p of app.statusHub.active) p.on('fetched', () => process.send!({ fetched: performance.timeOrigin + performance.now() }));
      hooked = true;
    }
    const g = sim.cluster.guest(4001)!;
    if (g.status === 'running') {
      g.status = 'stopped';
      g.qmpstatus = 'stopped';
      g.startedAt = null;
    } else {
      g.status = 'running';
      g.qmpstatus = 'running';
      g.startedAt = Date.now();
    }
    sim.touch();
    process.send!({ toggled: g.status });
  } else if (msg.cmd === 'stop') {
    void Promise.all(apps.map((app) => app.close())).then(() => sim.close()).then(() => redis?.close()).then(() => {
      removeTempDirs();
      process.exit(0);
    });
  }
});
process.send!({ base: bases[0], bases, mem: gcAndMeasure() });
