import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { DEFAULT_SEED_FILE } from '../../src/simulator/model/seed.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { simulatorInventory, tempDir, testConfig } from '../helpers.js';
import { markStarted, recordServed } from './served.js';

/**
 * A deployment with a container as the deployer UI (feature/pending-changes) makes it, and its
 * redeploy (../shared/spec/deployer-ui-calls.md 2d-2f): the UI creates the container with no
 * `ostemplate` (a canvas container has no template field), wires it with the VM NIC route, starts
 * and stops it with the VM routes; a redeploy sends every bridge and NIC again. The requests are
 * written down as the UI sends them (JSON text, node `pve01`) and replayed byte for byte against
 * the listening service on the simulator, through real ansible runs.
 */

const NODE = 'pve01';
const DEFAULT_TEMPLATE = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
const FIRST_TEMPLATE = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/** The UI's requests, byte for byte. */
const UI = {
  bridge: '{"hosts":"px-testing","inventory":"hosts.yml","proxmox_node":"pve01","iface_name":"vmbr153","iface_type":"bridge","iface_address":"10.153.0.1/24","iface_autostart":true,"iface_comments":"labnet - lan network"}',
  bridgeOtherAddress: '{"hosts":"px-testing","inventory":"hosts.yml","proxmox_node":"pve01","iface_name":"vmbr153","iface_type":"bridge","iface_address":"10.154.0.1/24","iface_autostart":true,"iface_comments":"labnet - lan network"}',
  createCt: '{"hosts":"px-testing","inventory":"hosts.yml","proxmox_node":"pve01","vm_id":2004,"hostname":"ct-dns","cores":1,"memory":512,"rootfs_size":"8G","unprivileged":true}',
  nic: '{"proxmox_node":"pve01","vm_id":2004,"iface_id":0,"iface_model":"virtio","iface_bridge":"vmbr153","iface_firewall":true,"iface_mac":""}',
  start: '{"proxmox_node":"pve01","vm_id":"2004","hosts":"px-testing","inventory":"hosts.yml"}',
  stop: '{"proxmox_node":"pve01","vm_id":"2004","hosts":"px-testing","inventory":"hosts.yml"}',
  remove: '{"proxmox_node":"pve01","vm_id":"2004","hosts":"px-testing","inventory":"hosts.yml"}',
  startUnknown: '{"proxmox_node":"pve01","vm_id":"2999","hosts":"px-testing","inventory":"hosts.yml"}',
  cloneToTaken: '{"proxmox_node":"pve01","vm_id":"9221","vm_new_id":"2004","vm_name":"web-01","full_clone":true}',
  nicUnknown: '{"proxmox_node":"pve01","vm_id":2999,"iface_id":0,"iface_model":"virtio","iface_bridge":"vmbr153","iface_firewall":true,"iface_mac":""}',
  // apply-changes calls (no hosts/inventory on these)
  setCpu: '{"proxmox_node":"pve01","vm_id":"2004","vm_cores":2}',
  setMemory: '{"proxmox_node":"pve01","vm_id":"2004","vm_memory":1024}',
  setName: '{"proxmox_node":"pve01","vm_id":"2004","vm_name":"ct-dns-b"}',
  setDescription: '{"proxmox_node":"pve01","vm_id":"2004","vm_description":"resolver of the lab"}',
};

let sim: Simulator;
let app: Awaited<ReturnType<typeof createApp>>;
let base: string;
let inventoryDir: string;

beforeAll(async () => {
  markStarted();
  const seed = tempDir('r42-guests-seed-');
  const seedFile = path.join(seed, 'seed.json');
  fs.writeFileSync(seedFile, fs.readFileSync(DEFAULT_SEED_FILE, 'utf8').replace(/px-testing(?=["/])/g, NODE));
  sim = await startSimulator({ port: 0, seedFile, requestLogSize: 100_000 });
  inventoryDir = simulatorInventory(sim, 'px-testing');
  app = await createApp(testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: inventoryDir, LXC_DEFAULT_TEMPLATE: DEFAULT_TEMPLATE }), { logger: false });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await recordServed(base);
  await app.close();
  await sim.close();
});

async function send(method: string, p: string, json: string, at = base): Promise<{ status: number; body: any }> {
  const r = await fetch(`${at}/v0/admin/proxmox${p}`, { method, headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' }, body: json });
  return { status: r.status, body: await r.json() };
}

/** Done as the UI sees it (HTTP ok, rc 0); the first published value. */
async function done(method: string, p: string, json: string, at = base): Promise<any> {
  const a = await send(method, p, json, at);
  expect(a.status, `${method} ${p} ${json}: ${JSON.stringify(a.body).slice(0, 1500)}`).toBe(200);
  expect(a.body.rc).toBe(0);
  return Array.isArray(a.body.result) ? a.body.result[0] : a.body;
}

const guest = (vmid: number) => sim.cluster.guest(vmid);
const config = (vmid: number) => ({ ...guest(vmid)!.config, ...guest(vmid)!.pending });
const bridges = () => sim.cluster.findNode(NODE)!.network.filter((i) => i.iface === 'vmbr153');

describe('a UI deployment with a container, then its redeploy', () => {
  it('deploy: bridge, lxc/create without ostemplate (LXC_DEFAULT_TEMPLATE, named), NIC and start through the VM routes', { timeout: 120_000 }, async () => {
    await done('POST', '/network/node/add', UI.bridge);

    const created = await done('POST', '/lxc/create', UI.createCt);
    expect(created).toMatchObject({ action: 'lxc_create', vm_id: 2004, lxc_os_template: DEFAULT_TEMPLATE, lxc_os_template_source: expect.stringContaining('LXC_DEFAULT_TEMPLATE') });
    expect(guest(2004)).toMatchObject({ type: 'lxc', status: 'stopped' });
    expect(config(2004).ostype).toBe('ubuntu');

    // The container's first edge: iface_id 0 replaces the net0 the creation gave it (vmbr0).
    const nic = await done('POST', '/network/vm/add', UI.nic);
    expect(nic).toMatchObject({ action: 'network_add_interfaces_lxc', vm_id: 2004, vm_network_device: 'net0', lxc_network_name: 'eth0', iface_bridge: 'vmbr153', iface_firewall: 1 });
    const net0 = String(config(2004).net0).split(',');
    expect(net0).toEqual(expect.arrayContaining(['name=eth0', 'bridge=vmbr153', 'firewall=1', 'type=veth']));
    expect(net0.find((p) => p.startsWith('hwaddr='))).toMatch(/^hwaddr=BC:24:11:/);

    const started = await done('POST', '/vms/vm_id/start', UI.start);
    expect(started).toMatchObject({ action: 'lxc_start', vm_id: 2004, lxc_status: 'running' });
    expect(guest(2004)!.status).toBe('running');
  });

  it('redeploy: the same bridge and the same NIC are 200 with nothing changed; another address is 409 naming it; an unknown id is 404 naming it', { timeout: 120_000 }, async () => {
    const bridgeBefore = JSON.stringify(bridges());
    const net0Before = config(2004).net0;
    const writes = () => sim.requestLog.filter((q) => q.method !== 'GET').length;
    const writesBefore = writes();

    const again = await done('POST', '/network/node/add', UI.bridge);
    expect(again).toMatchObject({ action: 'network_add_interfaces_node', iface_name: 'vmbr153', changed: false, message: expect.stringContaining('nothing changed') });
    expect(again.iface_existing).toMatchObject({ iface: 'vmbr153', cidr: '10.153.0.1/24' });
    expect(JSON.stringify(bridges())).toBe(bridgeBefore);

    const nicAgain = await done('POST', '/network/vm/add', UI.nic);
    expect(nicAgain).toMatchObject({ action: 'network_add_interfaces_lxc', vm_network_device: 'net0', changed: false, message: expect.stringContaining('nothing changed'), vm_network_config: net0Before });
    expect(config(2004).net0).toBe(net0Before);
    expect(writes(), 'nothing written to Proxmox').toBe(writesBefore);

    const conflict = await send('POST', '/network/node/add', UI.bridgeOtherAddress);
    expect(conflict.status).toBe(409);
    expect(conflict.body.detail).toBe(':: err - network interface vmbr153 already exists on node pve01 with other settings: cidr is 10.153.0.1/24, requested 10.154.0.1/24');
    expect(JSON.stringify(bridges())).toBe(bridgeBefore);

    for (const [p, json] of [['/vms/vm_id/start', UI.startUnknown], ['/network/vm/add', UI.nicUnknown]] as const) {
      const missing = await send('POST', p, json);
      expect(missing.status, p).toBe(404);
      expect(missing.body.detail).toBe(':: err - vm_id NOT FOUND : 2999 is neither a VM nor a container on node pve01');
    }
    expect(writes(), 'nothing written to Proxmox').toBe(writesBefore);

    // The UI's VMID cache does not count containers: a redeployed clone may take the container's id.
    const taken = await send('POST', '/vms/vm_id/clone', UI.cloneToTaken);
    expect(taken.status, JSON.stringify(taken.body).slice(0, 1500)).toBe(409);
    expect(taken.body.detail).toMatch(/^VM 2004 already exists on node pve01 \(Proxmox: /);
    expect(guest(2004)).toMatchObject({ type: 'lxc', status: 'running' });
  });

  it('apply changes, configuration reads, NIC list and snapshots of the container through the VM routes', { timeout: 120_000 }, async () => {
    expect(await done('POST', '/vms/vm_id/config/vm_set_cpu', UI.setCpu)).toMatchObject({ action: 'lxc_set_cpu', cores: 2 });
    expect(await done('POST', '/vms/vm_id/config/vm_set_memory', UI.setMemory)).toMatchObject({ action: 'lxc_set_memory', memory: 1024 });
    expect(await done('POST', '/vms/vm_id/config/vm_set_name', UI.setName)).toMatchObject({ action: 'lxc_set_name', hostname: 'ct-dns-b' });
    expect(await done('POST', '/vms/vm_id/config/vm_set_description', UI.setDescription)).toMatchObject({ action: 'lxc_set_description' });
    expect(config(2004)).toMatchObject({ cores: 2, memory: 1024, hostname: 'ct-dns-b' });
    expect(String(config(2004).description)).toContain('resolver of the lab');

    const vm = '{"proxmox_node":"pve01","vm_id":"2004"}';
    expect(await done('POST', '/vms/vm_id/config/vm_get_config_cpu', vm)).toMatchObject({ action: 'lxc_get_config_cpu', lxc_cores: 2 });
    expect(await done('POST', '/vms/vm_id/config/vm_get_config_ram', vm)).toMatchObject({ action: 'lxc_get_config_ram', lxc_ram_allocated: 1024 });
    expect((await done('POST', '/vms/vm_id/config/vm_get_config', vm)).raw_data.data).toMatchObject({ hostname: 'ct-dns-b' });
    const cdrom = await send('POST', '/vms/vm_id/config/vm_get_config_cdrom', vm);
    expect([cdrom.status, cdrom.body.detail]).toEqual([400, ':: err - 2004 is a container: containers have no CD-ROM drive']);
    expect(await done('POST', '/network/vm/list', vm)).toEqual([
      expect.objectContaining({ action: 'network_list_interfaces_lxc', vm_network_device: 'net0', lxc_network_name: 'eth0', vm_network_bridge: 'vmbr153', vm_network_firewall: 1 }),
    ]);

    expect(await done('POST', '/vms/vm_id/snapshot/create', '{"proxmox_node":"pve01","vm_id":"2004","vm_snapshot_name":"base"}')).toMatchObject({ action: 'snapshot_lxc_create', lxc_name: 'ct-dns-b', lxc_snapshot_name: 'base' });
    expect(await done('POST', '/vms/vm_id/snapshot/list', vm)).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'snapshot_lxc_list', lxc_snapshot_name: 'base' })]));
    expect(await done('DELETE', '/vms/vm_id/snapshot/delete', '{"proxmox_node":"pve01","vm_id":"2004","vm_snapshot_name":"base"}')).toMatchObject({ action: 'snapshot_lxc_delete' });
    expect(guest(2004)!.snapshots).toEqual([]);
  });

  it('stop, clone and delete through the VM routes', { timeout: 120_000 }, async () => {
    expect(await done('POST', '/vms/vm_id/stop', UI.stop)).toMatchObject({ action: 'lxc_stop', lxc_status: 'stopped' });
    expect(guest(2004)!.status).toBe('stopped');
    const clone = await done('POST', '/vms/vm_id/clone', '{"proxmox_node":"pve01","vm_id":"2004","vm_new_id":"2006","vm_name":"ct-dns-c","full_clone":true}');
    expect(clone).toMatchObject({ action: 'lxc_clone', vm_id: 2006, vm_id_clone_from: 2004 });
    expect(guest(2006)).toMatchObject({ type: 'lxc' });
    expect(config(2006).hostname).toBe('ct-dns-c');
    for (const id of ['2006', '2004']) {
      const del = await done('DELETE', '/vms/vm_id/delete', UI.remove.replace('2004', id));
      expect(del).toMatchObject({ action: 'lxc_delete', vm_id: Number(id) });
      expect(guest(Number(id))).toBeUndefined();
    }
  });

  it('without LXC_DEFAULT_TEMPLATE, the first container template on the node\'s storage is used and named', { timeout: 60_000 }, async () => {
    const plain = await createApp(testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: inventoryDir }), { logger: false });
    const at = await plain.listen({ host: '127.0.0.1', port: 0 });
    try {
      const created = await done('POST', '/lxc/create', UI.createCt.replace('2004', '2005'), at);
      expect(created).toMatchObject({ vm_id: 2005, lxc_os_template: FIRST_TEMPLATE, lxc_os_template_source: expect.stringContaining('the first container template on the storage of node pve01') });
      expect(config(2005).ostype).toBe('debian');
      await done('DELETE', '/lxc/delete', '{"proxmox_node":"pve01","vm_id":2005}', at);
    } finally {
      await plain.close();
    }
  });
});
