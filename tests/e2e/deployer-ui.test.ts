import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { DEFAULT_SEED_FILE } from '../../src/simulator/model/seed.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { simulatorInventory, tempDir, testConfig } from '../helpers.js';
import { markStarted, recordServed } from './served.js';

/**
 * The deployer UI (range42-deployer-ui, branch feature/pending-changes) as a client: its requests,
 * written down from a run of the real UI in headless Chromium (../shared/spec/deployer-ui-calls.md)
 * and replayed here byte for byte against the listening service on the simulator. The UI talks
 * to node `pve01` (hard-coded in several places), and adds `hosts`/`inventory` to most bodies.
 * The simulator's seed is the default one with its main node renamed pve01.
 */

const NODE = 'pve01';
let sim: Simulator;
let app: Awaited<ReturnType<typeof createApp>>;
let base: string;
let appConfig: ReturnType<typeof testConfig>;

beforeAll(async () => {
  markStarted();
  const seed = tempDir('r42-ui-seed-');
  const seedFile = path.join(seed, 'seed.json');
  fs.writeFileSync(seedFile, fs.readFileSync(DEFAULT_SEED_FILE, 'utf8').replace(/px-testing(?=["/])/g, NODE));
  // Clones take 1.5 s, as a full clone takes time on Proxmox (and locks both VMs meanwhile): the
  // NIC added right after the clone must wait for the clone's task, or Proxmox refuses it
  // ("VM is locked (clone)").
  sim = await startSimulator({ port: 0, seedFile, taskDurationsMs: { clone: 1500 } });
  const inventoryDir = simulatorInventory(sim, 'px-testing');
  appConfig = testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: inventoryDir, STATUS_POLL_INTERVAL: '0.2' });
  app = await createApp(appConfig, { logger: false });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await recordServed(base);
  await app.close();
  await sim.close();
});

/** One call as the UI's API client makes it: JSON text as given, `Content-Type: application/json`. */
async function send(method: string, path: string, json: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' }, body: json });
  return { status: r.status, body: await r.json() };
}

/** The UI treats a call as done when HTTP is ok and rc (when present) is 0. */
async function expectDone(method: string, path: string, json: string): Promise<any> {
  const a = await send(method, path, json);
  expect(a.status, `${method} ${path} ${json}: ${JSON.stringify(a.body).slice(0, 1200)}`).toBe(200);
  expect(a.body.rc).toBe(0);
  return Array.isArray(a.body.result) ? a.body.result[0] : a.body;
}

const guest = (vmid: number) => sim.cluster.guest(vmid);
const node = () => sim.cluster.findNode(NODE)!;
const config = (vmid: number) => ({ ...guest(vmid)!.config, ...guest(vmid)!.pending });

describe('the deployer UI\'s requests, byte for byte', () => {
  it('network/node/add with iface_autostart true (pydantic reads it as 1): the bridge exists, applied', async () => {
    const json = '{"hosts":"px-testing","inventory":"hosts.yml","proxmox_node":"pve01","iface_name":"vmbr150","iface_type":"bridge","iface_address":"10.150.0.1/24","iface_autostart":true,"iface_comments":"labnet - lan network"}';
    const r = await expectDone('POST', '/v0/admin/proxmox/network/node/add', json);
    expect(r).toMatchObject({ iface_name: 'vmbr150', iface_autostart: 1 });
    expect(node().network.find((i) => i.iface === 'vmbr150')).toMatchObject({ type: 'bridge', cidr: '10.150.0.1/24', autostart: 1, comments: 'labnet - lan network' });
  });

  it('network/vm/add with a numeric vm_id, iface_id, no nullable fields and an empty MAC: Proxmox picks the MAC', async () => {
    const json = '{"proxmox_node":"pve01","vm_id":4001,"iface_id":1,"iface_model":"virtio","iface_bridge":"vmbr142","iface_firewall":true,"iface_mac":""}';
    await expectDone('POST', '/v0/admin/proxmox/network/vm/add', json);
    expect(String(config(4001).net1)).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr142,firewall=1$/);
  });

  it('lxc/create, lxc/start, lxc/stop, DELETE lxc/delete with the UI\'s paths and Proxmox\'s field names', async () => {
    const create = '{"hosts":"px-testing","inventory":"hosts.yml","proxmox_node":"pve01","vm_id":5101,"hostname":"ct-web","ostemplate":"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst","cores":1,"memory":512,"swap":256,"rootfs_size":"8G","net0":"name=eth0,bridge=vmbr150,ip=dhcp","password":"Xx123456!","unprivileged":true}';
    await expectDone('POST', '/v0/admin/proxmox/lxc/create', create);
    expect(guest(5101)).toMatchObject({ type: 'lxc' });
    expect(config(5101)).toMatchObject({ hostname: 'ct-web', cores: 1, memory: 512, swap: 256, unprivileged: 1, net0: expect.stringContaining('bridge=vmbr150') });
    expect(String(config(5101).rootfs)).toMatch(/size=8G/);
    await expectDone('POST', '/v0/admin/proxmox/lxc/start', '{"hosts":"px-testing","inventory":"hosts.yml","proxmox_node":"pve01","vm_id":5101}');
    expect(guest(5101)!.status).toBe('running');
    await expectDone('POST', '/v0/admin/proxmox/lxc/stop', '{"hosts":"px-testing","inventory":"hosts.yml","proxmox_node":"pve01","vm_id":5101}');
    expect(guest(5101)!.status).toBe('stopped');
    const del = await expectDone('DELETE', '/v0/admin/proxmox/lxc/delete', '{"hosts":"px-testing","inventory":"hosts.yml","proxmox_node":"pve01","vm_id":5101}');
    expect(del).toMatchObject({ vm_id: 5101 });
    expect(guest(5101)).toBeUndefined();
  });

  it('lxc/create without ostemplate (a canvas container with no template): the first container template of the node, named in the result', async () => {
    const r = await expectDone('POST', '/v0/admin/proxmox/lxc/create', '{"proxmox_node":"pve01","vm_id":5102,"hostname":"ct-x","cores":1,"memory":512,"rootfs_size":"8G","unprivileged":true}');
    expect(r).toMatchObject({ lxc_os_template: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', lxc_os_template_source: expect.stringContaining('first container template') });
    expect(guest(5102)).toMatchObject({ type: 'lxc' });
    await expectDone('DELETE', '/v0/admin/proxmox/lxc/delete', '{"proxmox_node":"pve01","vm_id":5102}');
  });
});

/** A /ws/vm-status viewer, as the UI keeps one open while the editor is shown. */
function statusViewer() {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/vm-status?node=${NODE}`);
  const vms = new Map<number, any>();
  const waiters: Array<() => void> = [];
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw));
    if (m.type === 'full') {
      vms.clear();
      for (const vm of m.vms) vms.set(vm.vmid, vm);
    } else if (m.type === 'diff') {
      for (const [id, c] of Object.entries<any>(m.changes)) {
        if (c.type === 'removed') vms.delete(Number(id));
        else vms.set(Number(id), c); // the UI replaces the whole record with the diff entry
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  const until = async (cond: () => boolean, what: string, ms = 15_000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`status stream: ${what} not seen`);
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 250); });
    }
  };
  return { vms, until, close: () => ws.close() };
}

describe('a whole deployment as the UI\'s deploymentStore makes it', () => {
  it('bridge, clone, create from ISO, one NIC per edge, a container, start all; apply changes with a restart; stop and delete', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    const ui = { hosts: 'px-testing', inventory: 'hosts.yml' };
    const post = (p: string, body: object, extras = true) => expectDone('POST', `/v0/admin/proxmox${p}`, JSON.stringify(extras ? { ...ui, ...body } : body));
    const del = (p: string, body: object) => expectDone('DELETE', `/v0/admin/proxmox${p}`, JSON.stringify({ ...ui, ...body }));
    const status = statusViewer();
    try {
      // 1. network segments
      await post('/network/node/add', { proxmox_node: NODE, iface_name: 'vmbr160', iface_type: 'bridge', iface_address: '10.160.0.1/24', iface_autostart: true, iface_comments: 'dmz - dmz network' });
      // 2. VMs: a clone of a template (ids as strings), one from an ISO
      await post('/vms/vm_id/clone', { proxmox_node: NODE, vm_id: '9221', vm_new_id: '2000', vm_name: 'web-01', full_clone: true });
      await post('/vms/vm_id/create', { proxmox_node: NODE, vm_id: '2010', vm_name: 'kali-01', vm_cpu: 'host', vm_cores: 2, vm_sockets: 1, vm_memory: 2048, vm_disk_size: 32, vm_iso: 'local:iso/debian-12.10.0-amd64-netinst.iso' });
      // 3. one NIC per edge (numeric vm_id, iface_id, empty MAC)
      for (const vm_id of [2000, 2010]) {
        await post('/network/vm/add', { proxmox_node: NODE, vm_id, iface_id: 1, iface_model: 'virtio', iface_bridge: 'vmbr160', iface_firewall: true, iface_mac: '' });
      }
      // 4. a container
      await post('/lxc/create', { proxmox_node: NODE, vm_id: 2020, hostname: 'dns-01', ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', cores: 1, memory: 512, rootfs_size: '8G', unprivileged: true });
      // 5. start everything
      await post('/lxc/start', { proxmox_node: NODE, vm_id: 2020 });
      for (const vm_id of ['2000', '2010']) await post('/vms/vm_id/start', { proxmox_node: NODE, vm_id });
      await status.until(() => [2000, 2010, 2020].every((id) => status.vms.get(id)?.status === 'running'), 'all running');
      expect(config(2000)).toMatchObject({ name: 'web-01', net1: expect.stringContaining('bridge=vmbr160') });
      expect(config(2010), JSON.stringify(config(2010))).toMatchObject({ name: 'kali-01', ide2: expect.stringContaining('debian-12.10.0-amd64-netinst.iso') });
      expect([config(2010).cores, config(2010).memory].map(Number)).toEqual([2, 2048]);
      const deployedAt = Date.now();

      // 6. apply changes to a deployed VM (no hosts/inventory on these calls), with the restart
      const vm = { proxmox_node: NODE, vm_id: '2000' };
      await post('/vms/vm_id/config/vm_set_tag', { ...vm, vm_tag_name: 'web,dmz' }, false);
      await post('/vms/vm_id/config/vm_set_name', { ...vm, vm_name: 'web-01b' }, false);
      await post('/vms/vm_id/config/vm_set_description', { ...vm, vm_description: 'web server of the dmz' }, false);
      await post('/vms/vm_id/config/vm_set_cpu', { ...vm, vm_cores: 4 }, false);
      await post('/vms/vm_id/config/vm_set_memory', { ...vm, vm_memory: 4096 }, false);
      await post('/vms/vm_id/stop', vm);
      await status.until(() => status.vms.get(2000)?.status === 'stopped', '2000 stopped');
      await post('/vms/vm_id/start', vm);
      // what the pending-changes dialog reads back from the status stream
      await status.until(() => status.vms.get(2000)?.status === 'running' && status.vms.get(2000)?.cores === 4, '2000 running with 4 cores');
      expect(status.vms.get(2000)).toMatchObject({ name: 'web-01b', cores: 4, maxmem: 4096 * 1024 ** 2, tags: 'dmz;web' });
      const applied = guest(2000)!.config;
      expect({ ...applied, cores: Number(applied.cores), memory: Number(applied.memory) }).toMatchObject({ name: 'web-01b', cores: 4, memory: 4096, tags: 'dmz;web' });
      expect(String(applied.description)).toContain('web server of the dmz');
      const appliedAt = Date.now();

      // 7. tear down
      for (const vm_id of ['2000', '2010']) {
        await post('/vms/vm_id/stop', { proxmox_node: NODE, vm_id });
        await del('/vms/vm_id/delete', { proxmox_node: NODE, vm_id });
      }
      await post('/lxc/stop', { proxmox_node: NODE, vm_id: 2020 });
      await del('/lxc/delete', { proxmox_node: NODE, vm_id: 2020 });
      await del('/network/node/delete', { proxmox_node: NODE, iface_name: 'vmbr160' });
      expect([2000, 2010, 2020].map(guest)).toEqual([undefined, undefined, undefined]);
      await status.until(() => ![2000, 2010, 2020].some((id) => status.vms.has(id)), 'all removed');
      // The time a user waits, per engine (`RUNNER_ENGINE=ansible-runner npm test` for the plain one).
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      console.log(`deployer-UI deployment on the ${appConfig.runner.engine} engine: total ${s(Date.now() - t0)} (deploy ${s(deployedAt - t0)}, apply with restart ${s(appliedAt - deployedAt)}, teardown ${s(Date.now() - appliedAt)})`);
    } finally {
      status.close();
    }
  });
});
