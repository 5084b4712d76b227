import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApp } from '../../src/app.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { call, data, waitTask } from '../simulator/client.js';
import { simulatorInventory, testConfig } from '../helpers.js';
import { recordingViewer, type Msg } from './viewer.js';

/** /ws/vm-status with real WebSocket clients, the real service and the simulator behind it. */

let sim: Simulator;
let app: Awaited<ReturnType<typeof createApp>>;
let base: string;
const open: WebSocket[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  app = await createApp(testConfig({ API_BACKEND_INVENTORY_DIR: simulatorInventory(sim), STATUS_POLL_INTERVAL: '0.1' }), { logger: false });
  base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws');
});
afterAll(async () => {
  await app.close();
  await sim.close();
});
afterEach(async () => {
  for (const ws of open.splice(0)) ws.close();
  await new Promise((r) => setTimeout(r, 50));
  sim.reset();
});

function viewer(node?: string) {
  return recordingViewer(`${base}/ws/vm-status${node ? `?node=${node}` : ''}`, open);
}

const change = (vmid: number, type?: string) => (m: Msg) => m.type === 'diff' && m.changes[String(vmid)] && (!type || m.changes[String(vmid)].type === type);

describe('/ws/vm-status against the simulator', () => {
  it('sends full first: QEMU VMs and containers, templates excluded', async () => {
    const v = viewer('px-testing');
    const full = await v.next((m) => m.type === 'full');
    expect(v.messages[0]).toBe(full);
    const ids = full.vms.map((vm: Msg) => vm.vmid);
    expect(ids).toEqual(expect.arrayContaining([1000, 1020, 3001, 4000, 4001, 200]));
    expect(ids.some((id: number) => [9211, 9221, 9232].includes(id))).toBe(false);
    expect(full.vms.find((vm: Msg) => vm.vmid === 200)).toMatchObject({ type: 'lxc', name: 'ct-dns', status: 'running' });
    expect(full.vms.find((vm: Msg) => vm.vmid === 1000)).toMatchObject({ type: 'qemu', name: 'admin-wazuh', status: 'running', tags: 'admin' });
    // the pending-changes UI reads a deployed VM's cores (and the disk size Proxmox lists)
    for (const vm of full.vms) {
      const g = sim.cluster.guest(vm.vmid)!;
      expect(vm.cores, `cores of ${vm.vmid}`).toBe(Number(g.config.cores ?? 1) * (g.type === 'qemu' ? Number(g.config.sockets ?? 1) : 1));
      expect(vm.maxdisk).toBeGreaterThan(0);
    }
  });

  it('sends cores in diff records, and a change of cores is a change', async () => {
    // 4001 is stopped: a config change applies at once (a running VM's would be pending)
    const v = viewer('px-testing');
    const full = await v.next((m) => m.type === 'full');
    const before = full.vms.find((vm: Msg) => vm.vmid === 4001);
    await data(call(sim, 'PUT', '/nodes/px-testing/qemu/4001/config', { cores: before.cores + 2 }));
    const d = await v.next((m) => change(4001)(m) && m.changes['4001'].cores === before.cores + 2);
    expect(d.changes['4001']).toMatchObject({ type: 'changed', vm_type: 'qemu', cores: before.cores + 2, maxdisk: before.maxdisk, maxmem: before.maxmem });
  });

  it('reports status changes, additions, removals, renames, retags and CPU jumps as diffs', async () => {
    const v = viewer('px-testing');
    await v.next((m) => m.type === 'full');
    const N = '/nodes/px-testing/qemu';

    await waitTask(sim, await data<string>(call(sim, 'POST', `${N}/4001/status/start`)));
    expect((await v.next(change(4001, 'changed'))).changes['4001']).toMatchObject({ status: 'running', vm_type: 'qemu', vmid: 4001 });

    await waitTask(sim, await data<string>(call(sim, 'POST', `${N}/9221/clone`, { newid: 4100, name: 'fresh' })));
    expect((await v.next(change(4100, 'added'))).changes['4100']).toMatchObject({ name: 'fresh', status: 'stopped' });

    await data(call(sim, 'PUT', `${N}/4100/config`, { name: 'renamed' }));
    expect((await v.next((m) => change(4100)(m) && m.changes['4100'].name === 'renamed')).changes['4100'].type).toBe('changed');

    await data(call(sim, 'PUT', `${N}/4100/config`, { tags: 'red;team' }));
    await v.next((m) => change(4100)(m) && m.changes['4100'].tags === 'red;team');

    await waitTask(sim, await data<string>(call(sim, 'DELETE', `${N}/4100`)));
    expect((await v.next(change(4100, 'removed'))).changes['4100']).toEqual({ type: 'removed', vmid: 4100 });

    sim.setCpuLoad(1020, 0.5);
    await v.next((m) => change(1020)(m) && m.changes['1020'].cpu === 50);
    sim.setCpuLoad(1020, 0.51); // one point: not a change
    sim.setCpuLoad(1000, 0.9);
    await v.next((m) => change(1000)(m) && m.changes['1000'].cpu === 90);
    expect(v.messages.some((m) => change(1020)(m) && m.changes['1020'].cpu === 51)).toBe(false);
  });

  it('says stale when polls fail, never removes VMs for it, and recovers', async () => {
    const v = viewer('px-testing');
    await v.next((m) => m.type === 'full');
    sim.setFaults({ errorRate: 1 });
    const stale = await v.next((m) => m.type === 'stale' && m.stale === true);
    expect(stale.error).toContain('500');
    const late = viewer('px-testing'); // a viewer joining meanwhile gets the last state, marked stale
    const lateFull = await late.next((m) => m.type === 'full');
    expect(lateFull).toMatchObject({ stale: true });
    expect(lateFull.vms.length).toBeGreaterThan(3);
    await new Promise((r) => setTimeout(r, 300));
    sim.setFaults({});
    await v.next((m) => m.type === 'stale' && m.stale === false);
    expect(v.messages.some((m) => m.type === 'diff' && Object.values(m.changes).some((c: any) => c.type === 'removed'))).toBe(false);
  });

  it('serves two nodes at once, each with its own VMs, and takes the node from the inventory by default', async () => {
    const a = viewer('px-testing');
    const b = viewer('px-lab-02');
    const c = viewer();
    const [fa, fb, fc] = (await Promise.all([a, b, c].map((v) => v.next((m) => m.type === "full")))) as [Msg, Msg, Msg];
    expect(fb.vms.map((vm: Msg) => vm.vmid)).toEqual([2001]);
    expect(fa.vms.map((vm: Msg) => vm.vmid)).not.toContain(2001);
    expect(fc.vms.map((vm: Msg) => vm.vmid)).toEqual(fa.vms.map((vm: Msg) => vm.vmid));
  });

  it('polls once per interval for many viewers of one node, and stops when the last leaves', async () => {
    const viewers = Array.from({ length: 20 }, () => viewer('px-testing'));
    await Promise.all(viewers.map((v) => v.next((m) => m.type === 'full')));
    const before = sim.requestLog.filter((r) => r.path === '/nodes/px-testing/qemu').length;
    await new Promise((r) => setTimeout(r, 1000));
    const polls = sim.requestLog.filter((r) => r.path === '/nodes/px-testing/qemu').length - before;
    expect(polls).toBeGreaterThanOrEqual(5); // ~10 at 100 ms, on a busy machine fewer
    expect(polls).toBeLessThanOrEqual(11); // not 20 viewers x 10 polls
    for (const v of viewers) v.ws.close();
    await new Promise((r) => setTimeout(r, 300));
    const after = sim.requestLog.filter((r) => r.path === '/nodes/px-testing/qemu').length;
    await new Promise((r) => setTimeout(r, 400));
    expect(sim.requestLog.filter((r) => r.path === '/nodes/px-testing/qemu').length).toBe(after);
  });

  it('refuses a malformed node name with an error message', async () => {
    const v = viewer('bad%20node');
    expect(await v.next((m) => 'error' in m)).toEqual({ error: 'invalid node name: "bad node"' });
  });
});
