import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { FIXTURES, simulatorInventory, testConfig } from '../helpers.js';

/**
 * The contract with a third-party catalog: this project's routes against a second project root
 * (tests/fixtures/upstream-catalog) shaped like the upstream range42 role and catalog — the same
 * variable names, `uri` tasks with no defaults, dispatch by `when: proxmox_vm_action == ...`, a few
 * actions only (no vm_set_name), bundles without `_shared/default_vms.yml`. Through the listening
 * service over real HTTP, against the simulator.
 */

const ROOT = path.join(FIXTURES, 'upstream-catalog');
const NODE = 'px-testing';
const LXC = '/v0/admin/proxmox/lxc/vm_id';
const BUNDLES = '/v0/admin/run/bundles/core/proxmox/configure/default';
const SLOW = { timeout: 120_000 };

let sim: Simulator;
let app: Awaited<ReturnType<typeof createApp>>;
let base: string;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, taskDurationMs: 0 });
  const inventoryDir = simulatorInventory(sim, NODE);
  app = await createApp(testConfig({ PROJECT_ROOT_DIR: ROOT, API_BACKEND_INVENTORY_DIR: inventoryDir }), { logger: false });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await sim?.close();
});

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`${base}${url}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, body: text ? JSON.parse(text) : null };
}

/** A call that must succeed (200, rc 0); returns the first published value. */
async function ok(method: string, url: string, body: unknown): Promise<any> {
  const r = await call(method, url, body);
  expect(r.status, `${url}: ${r.text.slice(0, 1500)}`).toBe(200);
  expect(r.body.rc).toBe(0);
  return r.body.result[0];
}

const jobsTotal = async () => (await call('GET', '/v0/jobs')).body.total as number;

/** Nothing ran: no job recorded, no playbook started. */
async function ranNothing(during: () => Promise<void>): Promise<void> {
  const jobs = await jobsTotal();
  const started = app.engine.stats.started;
  await during();
  expect(await jobsTotal()).toBe(jobs);
  expect(app.engine.stats.started).toBe(started);
}

async function settle(id: string): Promise<any> {
  let job: any;
  for (const end = Date.now() + 90_000; Date.now() < end;) {
    job = (await call('GET', `/v0/jobs/${id}`)).body;
    if (['successful', 'failed', 'canceled'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${id} did not finish: ${JSON.stringify(job).slice(0, 500)}`);
}

describe('lxc_create and lxc_delete with the upstream variables', () => {
  const ct = 5150;
  const password = 'Xx123456!';

  it('creates the container with its network and two DNS servers', SLOW, async () => {
    const r = await call('POST', `${LXC}/create`, {
      proxmox_node: NODE, vm_id: String(ct), lxc_name: 'tp-ct-01', lxc_template: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
      lxc_password: password, lxc_ssh_pubkeys: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGthirdpartycatalogtestkey00000000000000 ops@lab',
      lxc_cores: 1, lxc_memory: 512, proxmox_storage: 'local-lvm', lxc_disk_size: 4,
      lxc_net_name: 'eth0', lxc_bridge: 'vmbr0', lxc_ip: '192.168.1.50/24', lxc_gateway: '192.168.1.1',
      lxc_dns_primary: '192.168.1.53', lxc_dns_secondary: '9.9.9.9',
    });
    expect(r.status, r.text.slice(0, 1500)).toBe(200);
    expect(r.body.rc).toBe(0);
    // Such a role's facts are strings ("{{ vm_id | int }}" in a dict): ids compare as numbers.
    expect(r.body.result[0]).toMatchObject({ action: 'lxc_create', lxc_name: 'tp-ct-01' });
    expect(Number(r.body.result[0].vm_id)).toBe(ct);
    expect(r.text).not.toContain(password);
    const g = sim.cluster.guest(ct)!;
    expect(g).toMatchObject({ type: 'lxc', node: NODE, status: 'running' });
    expect(g.config.hostname).toBe('tp-ct-01');
    expect(String(g.config.nameserver).split(/[,;\s]+/)).toEqual(['192.168.1.53', '9.9.9.9']);
    expect(String(g.config.net0)).toMatch(/(^|,)name=eth0(,|$)/);
    expect(String(g.config.net0)).toContain('bridge=vmbr0');
    expect(String(g.config.net0)).toContain('ip=192.168.1.50/24');
    expect(String(g.config.net0)).toContain('gw=192.168.1.1');
    // The job history keeps the request, not the password.
    const job = (await call('GET', `/v0/jobs/${r.headers.get('x-job-id')}`)).body;
    expect(JSON.stringify(job)).not.toContain(password);
  });

  it('deletes it: the name is looked up first and reported as lxc_name', SLOW, async () => {
    await ok('POST', `${LXC}/stop`, { proxmox_node: NODE, vm_id: String(ct) }); // the role starts what it creates
    const deleted = await ok('DELETE', `${LXC}/delete`, { proxmox_node: NODE, vm_id: String(ct) });
    expect(deleted).toMatchObject({ action: 'lxc_delete', lxc_name: 'tp-ct-01' });
    expect(Number(deleted.vm_id)).toBe(ct);
    expect(sim.cluster.guest(ct)).toBeUndefined();
  });

  it('an unknown container is a 404 and nothing runs', async () => {
    await ranNothing(async () => {
      const r = await call('DELETE', `${LXC}/delete`, { proxmox_node: NODE, vm_id: String(ct) });
      expect(r.status, r.text).toBe(404);
      expect(r.body.detail).toContain('NOT FOUND');
    });
  });
});

describe('network/node/add with the deployer UI body', () => {
  it('stages the bridge with its address as cidr and its comment', SLOW, async () => {
    const added = await ok('POST', '/v0/admin/proxmox/network/node/add', {
      proxmox_node: NODE, iface_name: 'vmbr150', iface_type: 'bridge', iface_address: '10.150.0.1/24', iface_autostart: true, iface_comments: 'labnet - lan network',
    });
    expect(added).toMatchObject({ action: 'network_add_interfaces_node', iface_name: 'vmbr150', ip_cidr: '10.150.0.1/24' });
    const node = sim.cluster.node(NODE);
    const iface = (node.pendingNetwork ?? node.network).find((i) => i.iface === 'vmbr150');
    expect(iface).toMatchObject({ type: 'bridge', cidr: '10.150.0.1/24', address: '10.150.0.1', netmask: '24', comments: 'labnet - lan network' });
    expect(String(iface!.autostart)).toMatch(/^(1|true)$/);
  });
});

describe('vm_create with vm_iso', () => {
  it('attaches the ISO as a CD-ROM (the upstream role reads vm_iso_file)', SLOW, async () => {
    const iso = 'local:iso/debian-12.10.0-amd64-netinst.iso';
    const created = await ok('POST', '/v0/admin/proxmox/vms/vm_id/create', {
      proxmox_node: NODE, vm_id: '4050', vm_name: 'tp-iso-01', vm_cpu: 'host', vm_cores: 1, vm_sockets: 1, vm_memory: 512, vm_disk_size: 4, vm_iso: iso,
    });
    expect(created).toMatchObject({ action: 'vm_create', ide2: `${iso},media=cdrom` });
    expect(Number(created.vm_id)).toBe(4050);
    const g = sim.cluster.guest(4050)!;
    const config = { ...g.config, ...g.pending };
    expect(String(config.ide2)).toMatch(new RegExp(`^${iso.replace(/[.]/g, '\\.')},media=cdrom`));
    expect(config.boot).toBe('order=ide2');
  });
});

describe('bundles of a catalog without _shared/default_vms.yml', () => {
  it('the start bundle locks exactly the VM_IDS its playbook names, and starts them', SLOW, async () => {
    const others = [1000, 1020, 1021, 4001].map((id) => sim.cluster.guest(id)!.status);
    const r = await call('POST', `${BUNDLES}/start-vms-admin`, { proxmox_node: NODE }, { prefer: 'respond-async' });
    expect(r.status, r.text).toBe(202);
    const job = await settle(r.body.job_id);
    expect(job.targets).toEqual([{ node: NODE, vm_id: 1023 }, { node: NODE, vm_id: 3001 }]);
    expect(job.status, JSON.stringify(job).slice(-1500)).toBe('successful');
    expect(job.result.map((v: any) => Number(v.vm_id))).toEqual([1023, 3001]);
    expect([1023, 3001].map((id) => sim.cluster.guest(id)!.status)).toEqual(['running', 'running']);
    expect([1000, 1020, 1021, 4001].map((id) => sim.cluster.guest(id)!.status)).toEqual(others);
  });

  it('a bundle that names no VM locks every VM and container of the node', SLOW, async () => {
    const all = sim.cluster.guestsOf(NODE).map((g) => g.vmid).sort((a, b) => a - b);
    expect(all).toContain(200); // a container too
    const r = await call('POST', `${BUNDLES}/snapshot/create-vms-admin`, { proxmox_node: NODE }, { prefer: 'respond-async' });
    expect(r.status, r.text).toBe(202);
    const job = await settle(r.body.job_id);
    expect(job.targets.map((t: any) => t.vm_id).sort((a: number, b: number) => a - b)).toEqual(all);
    expect(job.targets.every((t: any) => t.node === NODE)).toBe(true);
    expect(job.status, JSON.stringify(job).slice(-1500)).toBe('successful');
    const snapped = all.filter((id) => sim.cluster.guest(id)!.snapshots.some((s) => s.name === 'third-party-snapshot'));
    expect(snapped).toEqual([1000, 1020, 1021, 1023]);
  });
});

describe('an action the role does not have', () => {
  it('vm_set_name is a 501 naming the action, before anything runs or reaches Proxmox', async () => {
    const simRequests = sim.requestLog.length;
    await ranNothing(async () => {
      const r = await call('POST', '/v0/admin/proxmox/vms/vm_id/config/vm_set_name', { proxmox_node: NODE, vm_id: '1000', vm_name: 'renamed' });
      expect(r.status, r.text).toBe(501);
      expect(r.body.detail).toContain("no action 'vm_set_name'");
      expect(r.body.detail).toContain('range42-ansible_roles-proxmox_controller');
    });
    expect(sim.requestLog.length).toBe(simRequests);
    expect(sim.cluster.guest(1000)!.config.name).toBe('admin-wazuh');
  });
});

describe('the mass routes on a catalog that has only the bundles the original ran (issue 25, item 6)', () => {
  // The deployer UI's bodies, as it sends them (ids as strings).
  it('vm_ids/start and stop_force act on exactly the given VMs through the vuln power bundle', SLOW, async () => {
    const before = [4000, 4001, 4003].map((id) => sim.cluster.guest(id)!.status);
    const started = await call('POST', '/v0/admin/proxmox/vms/vm_ids/start', { proxmox_node: 'px-testing', vm_ids: ['4002', '4004'] });
    expect(started.status, started.text.slice(0, 1500)).toBe(200);
    expect(started.body.rc).toBe(0);
    expect([4002, 4004].map((id) => sim.cluster.guest(id)!.status)).toEqual(['running', 'running']);
    // the bundle's own list (4000-4004) and action (vm_pause) were overridden: nothing else changed
    expect([4000, 4001, 4003].map((id) => sim.cluster.guest(id)!.status)).toEqual(before);

    const stopped = await call('POST', '/v0/admin/proxmox/vms/vm_ids/stop_force', { proxmox_node: 'px-testing', vm_ids: ['4004'] });
    expect(stopped.status, stopped.text.slice(0, 1500)).toBe(200);
    expect([4002, 4004].map((id) => sim.cluster.guest(id)!.status)).toEqual(['running', 'stopped']);
  });

  it('vm_ids/delete deletes exactly the given VMs through the vuln delete bundle', SLOW, async () => {
    const r = await call('DELETE', '/v0/admin/proxmox/vms/vm_ids/delete', { proxmox_node: 'px-testing', vms: [{ id: '4002', name: 'vuln-box-02' }] });
    expect(r.status, r.text.slice(0, 1500)).toBe(200);
    expect(r.body.rc).toBe(0);
    expect(r.body.result.map((v: any) => [Number(v.vm_id), v.vm_name])).toEqual([[4002, 'vuln-box-02']]);
    expect(sim.cluster.guest(4002)).toBeUndefined();
    expect(sim.cluster.guest(4000)).toBeDefined(); // in the bundle's own list, not in the request's
    expect(sim.cluster.guest(4001)).toBeDefined();
  });
});

describe('a body the role cannot run is a 422 naming what it lacks (issue 25, item 6)', () => {
  it("the deployer UI's lxc/create body (DHCP, no password, no DNS) names the role's missing inputs; nothing runs", async () => {
    const simRequests = sim.requestLog.length;
    await ranNothing(async () => {
      const r = await call('POST', '/v0/admin/proxmox/lxc/create', {
        proxmox_node: 'px-testing', vm_id: 2004, hostname: 'ct-web', ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
        cores: 1, memory: 512, rootfs_size: '8G', net0: 'name=eth0,bridge=vmbr153,ip=dhcp', unprivileged: true,
      });
      expect(r.status, r.text).toBe(422);
      const missing = r.body.detail.map((d: any) => d.ctx.variable);
      expect(missing).toEqual(expect.arrayContaining(['lxc_password', 'lxc_gateway', 'lxc_dns_primary', 'lxc_dns_secondary']));
      // what the body does give (through net0, hostname, ostemplate...) is not asked for
      expect(missing).not.toEqual(expect.arrayContaining(['lxc_name']));
      expect(missing.some((m: string) => ['lxc_name', 'lxc_template', 'lxc_bridge', 'lxc_ip', 'lxc_net_name', 'vm_id', 'proxmox_node'].includes(m))).toBe(false);
      expect(r.body.detail[0]).toMatchObject({ type: 'missing', msg: expect.stringMatching(/controller role's lxc_create \(roles\/.*lxc_create\.yaml\) needs/) });
    });
    expect(sim.requestLog.length).toBe(simRequests);
  });

  it("a variable the inventory sets is not asked of the request", async () => {
    // proxmox_api_* come from the inventory: an upstream-shaped call with every lxc_* given runs
    // (the first describe of this file), and vm_start asks for nothing the UI's body lacks.
    const r = await call('POST', '/v0/admin/proxmox/vms/vm_id/start', { proxmox_node: 'px-testing', vm_id: '4001', hosts: 'px-testing', inventory: 'hosts.yml' });
    expect(r.status, r.text.slice(0, 1500)).toBe(200);
  });
});
