import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

/** VM life cycle, mass operations, containers and debug routes, end to end on the simulator. */

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => s.close());

describe('debug', () => {
  it('debug_ping pings the Proxmox host of the inventory', async () => {
    const a = await s.op('debug_ping');
    expect(a.status).toBe(200);
    expect(a.body.log_multiline.join('\n')).toContain('ok: [px-testing]');
  });

  it('debug_func_test answers', async () => {
    expect((await s.op('debug_func_test')).status).toBe(200);
  });
});

describe('listing', () => {
  let vmIds: number[] = [];
  it('vm_list publishes every VM of the node, sorted by id, with typed fields and the usage block', async () => {
    const list = await s.ok('vm_list');
    vmIds = list.map((v: any) => v.vm_id);
    expect(vmIds).toEqual(s.sim.cluster.guestsOf('px-testing', 'qemu').map((g) => g.vmid).sort((a, b) => a - b));
    const wazuh = list.find((v: any) => v.vm_id === 1000);
    expect(wazuh).toMatchObject({ action: 'vm_list', source: 'proxmox', proxmox_node: 'px-testing', vm_name: 'admin-wazuh', vm_status: 'running', vm_template: 0, vm_tags: 'admin' });
    expect(typeof wazuh.vm_uptime).toBe('number');
    expect(wazuh.vm_meta.ram_max).toBe(8 * 1024 ** 3);
    expect(Object.keys(wazuh.vm_meta).sort()).toEqual(
      ['cpu_allocated', 'cpu_current_usage', 'disk_current_usage', 'disk_max', 'disk_read', 'disk_write', 'net_in', 'net_out', 'ram_current_usage', 'ram_max']);
    expect(list.find((v: any) => v.vm_id === 9221)).toMatchObject({ vm_template: 1, vm_status: 'stopped' });
    for (const v of list) expect(JSON.stringify(v)).not.toMatch(/"\?"|__omit_place_holder__/);
  });

  it('vm_list_usage publishes flat usage entries (no envelope), the same VMs', async () => {
    const list = await s.ok('vm_list_usage');
    expect(list.map((v: any) => v.vm_id)).toEqual(vmIds);
    expect(list[0]).not.toHaveProperty('action');
    expect(list.find((v: any) => v.vm_id === 1000)).toMatchObject({ vm_name: 'admin-wazuh', vm_status: 'running', cpu_allocated: 4, ram_max: 8 * 1024 ** 3 });
  });
});

describe('single-VM power', () => {
  /** Requests the role sent, as the simulator logged them. */
  const requests = (method: string, pathPart: string | RegExp) =>
    s.sim.requestLog.filter((q) => q.method === method && (typeof pathPart === 'string' ? q.path.includes(pathPart) : pathPart.test(q.path)));

  it('vm_start starts a stopped VM, waits for its task, and publishes the state Proxmox reports after it', async () => {
    expect(await s.ok('vm_start', { proxmox_node: 'px-testing', vm_id: '4001' }))
      .toEqual({ action: 'vm_start', source: 'proxmox', proxmox_node: 'px-testing', vm_id: 4001, vm_name: 'vuln-box-01', vm_status: 'running', vm_qmpstatus: 'running' });
    expect(s.guest(4001)!.status).toBe('running');
    expect(requests('POST', '/nodes/px-testing/qemu/4001/status/').map((q) => q.path.split('/').at(-1))).toEqual(['start']);
    const polls = requests('GET', /^\/nodes\/px-testing\/tasks\/UPID:px-testing:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmstart:4001:[^/]+:\/status$/);
    expect(polls.length).toBeGreaterThanOrEqual(1);
    expect(polls.every((p) => p.status === 200)).toBe(true);
  });

  it('vm_start on a running VM fails with the Proxmox task error', async () => {
    const a = await s.op('vm_start', { proxmox_node: 'px-testing', vm_id: '4001' });
    expect(a.status).toBe(500);
    expect(a.body.rc).not.toBe(0);
    expect(JSON.stringify(a.body)).toContain('VM 4001 already running');
  });

  it('vm_stop shuts a VM down (ACPI shutdown)', async () => {
    expect(await s.ok('vm_stop', { proxmox_node: 'px-testing', vm_id: '4000' }))
      .toEqual({ action: 'vm_stop', source: 'proxmox', proxmox_node: 'px-testing', vm_id: 4000, vm_name: 'vuln-box-00', vm_status: 'stopped', vm_qmpstatus: 'stopped' });
    expect(s.guest(4000)!.status).toBe('stopped');
    expect(requests('POST', '/qemu/4000/status/shutdown')).toHaveLength(1);
  });

  it('vm_stop_force and its stop-force alias stop VMs (status/stop with a timeout)', async () => {
    expect(await s.ok('vm_stop_force', { proxmox_node: 'px-testing', vm_id: '1020' })).toMatchObject({ action: 'vm_stop_force', vm_id: 1020, vm_status: 'stopped' });
    await s.ok('vm_stop_force_alias', { proxmox_node: 'px-testing', vm_id: '1021' });
    expect([s.guest(1020)!.status, s.guest(1021)!.status]).toEqual(['stopped', 'stopped']);
    expect(requests('POST', '/qemu/1020/status/stop')[0]!.params).toMatchObject({ timeout: 10 });
  });

  it('vm_pause then vm_resume', async () => {
    expect(await s.ok('vm_pause')).toMatchObject({ action: 'vm_pause', vm_id: 1000, vm_status: 'running', vm_qmpstatus: 'paused' });
    expect(s.guest(1000)!.qmpstatus).toBe('paused');
    expect(await s.ok('vm_resume')).toMatchObject({ vm_status: 'running', vm_qmpstatus: 'running' });
    expect(s.guest(1000)!.qmpstatus).toBe('running');
    expect(requests('POST', '/qemu/1000/status/').map((q) => q.path.split('/').at(-1))).toEqual(['suspend', 'resume']);
  });
});

describe('create, clone, delete', () => {
  it('vm_create makes a VM with disk, CD-ROM and NIC', async () => {
    const r = await s.ok('vm_create');
    expect(r).toMatchObject({ vm_id: 4010, vm_name: 'lab-web-01' });
    const cfg = s.config(4010);
    expect(cfg).toMatchObject({ name: 'lab-web-01', cores: 2, sockets: 1, cpu: 'host', memory: '2048' });
    expect(cfg.scsi0).toBe('local-lvm:vm-4010-disk-0,size=20G');
    expect(cfg.ide2).toMatch(/^local:iso\/ubuntu-24\.04\.2-live-server-amd64\.iso,media=cdrom/);
    expect(cfg.net0).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$/);
  });

  it('vm_clone copies a template under a new id and name', async () => {
    expect(await s.ok('vm_clone')).toMatchObject({ vm_id: 4011, vm_id_clone_from: 9221, vm_name: 'lab-web-02' });
    expect(s.config(4011)).toMatchObject({ name: 'lab-web-02', description: 'cloned from template' });
  });

  it('vm_delete removes a stopped VM (its name resolved from Proxmox first)', async () => {
    expect(await s.ok('vm_delete')).toMatchObject({ vm_id: 4010, vm_name: 'lab-web-01' });
    expect(s.guest(4010)).toBeUndefined();
  });

  it('vm_delete of an unknown id is a 404 before anything runs', async () => {
    const started = s.app.engine.stats.started;
    const a = await s.op('vm_delete', { proxmox_node: 'px-testing', vm_id: '4999' });
    expect(a.status).toBe(404);
    expect(s.app.engine.stats.started).toBe(started);
  });
});

describe('containers', () => {
  it('lxc_create, lxc_stop, lxc_start, lxc_list, lxc_delete', async () => {
    expect(await s.ok('lxc_create')).toMatchObject({ vm_id: 5100, lxc_name: 'ct-tools' });
    expect(s.guest(5100)).toMatchObject({ type: 'lxc', status: 'running' });
    expect(await s.ok('lxc_stop')).toMatchObject({ vm_id: 5100, lxc_status: 'stopped' });
    expect(await s.ok('lxc_start')).toMatchObject({ vm_id: 5100, lxc_status: 'running' });
    const list = await s.ok('lxc_list');
    expect(list.map((c: any) => c.vm_id)).toEqual([200, 5100]);
    expect(list[0]).toMatchObject({ action: 'lxc_list', lxc_name: 'ct-dns', lxc_status: 'running' });
    expect(list[0]).toHaveProperty('lxc_meta.ram_max');
    await s.ok('lxc_stop');
    await s.ok('lxc_delete');
    expect(s.guest(5100)).toBeUndefined();
  });
});
