import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { apiCaller, simulatorInventory, testConfig, type ApiCall } from '../helpers.js';
import { recordingViewer, type Msg } from './viewer.js';

/**
 * Issue 25.5: when a job changes a guest, the viewers of its node get the new state as the job
 * ends, not at the next regular poll. The regular poll is 30 s here, so only the push can deliver
 * the diff within the test; real Ansible runs of the role against the simulator, real viewers.
 */

const P = '/v0/admin/proxmox';
let sim: Simulator;
let app: FastifyInstance;
let api: ApiCall;
let ws: string;
const open: WebSocket[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  app = await createApp(testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: simulatorInventory(sim, 'px-testing'), STATUS_POLL_INTERVAL: '30' }), { logger: false });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  api = apiCaller(base);
  ws = base.replace('http', 'ws');
});
afterAll(async () => {
  await app?.close();
  await sim?.close();
});
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await new Promise((r) => setTimeout(r, 50));
  sim.reset();
});

const statusOf = (vmid: number, status: string) => (m: Msg) => m.type === 'diff' && m.changes[String(vmid)]?.status === status;
const polls = () => app.statusHub.active.reduce((n, p) => n + p.polls, 0);

describe('/ws/vm-status after a job (issue 25.5)', () => {
  it('a power job\'s new state reaches the node\'s viewers as the job ends, with one poll of Proxmox for all of them (none after a read)', async () => {
    const viewers = [recordingViewer(`${ws}/ws/vm-status?node=px-testing`, open), recordingViewer(`${ws}/ws/vm-status?node=px-testing`, open)];
    for (const v of viewers) await v.next((m) => m.type === 'full');
    const before = polls();
    expect(before).toBe(1);

    const a = await api('POST', `${P}/vms/vm_id/start`, { proxmox_node: 'px-testing', vm_id: '4001' });
    expect(a.status).toBe(200);
    const job = (await api('GET', `/v0/jobs/${a.headers.get('x-job-id')}`)).body;
    // well before the 30 s poll: pushed as the job ended
    for (const v of viewers) {
      const diff = await v.next(statusOf(4001, 'running'), 1, 5000);
      expect(diff.changes['4001']).toMatchObject({ vmid: 4001, name: 'vuln-box-01', status: 'running', type: 'changed' });
    }
    expect(Date.now() - Date.parse(job.finished_at)).toBeLessThan(5000);
    // one poll for both viewers, and the regular rounds go on from it (no second request now)
    expect(polls()).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(polls()).toBe(before + 1);

    // and again: a stop
    expect((await api('POST', `${P}/vms/vm_id/stop`, { proxmox_node: 'px-testing', vm_id: '4001' })).status).toBe(200);
    await viewers[0]!.next(statusOf(4001, 'stopped'), 1, 5000);
    expect(polls()).toBe(before + 2);

    // a job that only reads changes nothing: no poll
    expect((await api('POST', `${P}/vms/list`, { proxmox_node: 'px-testing' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(polls()).toBe(before + 2);
  });
});
