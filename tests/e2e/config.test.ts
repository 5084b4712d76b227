import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

/** VM configuration reads and writes, and snapshots, end to end on the simulator. */

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => s.close());

describe('config reads', () => {
  it('vm_get_config returns the whole Proxmox config', async () => {
    const r = await s.ok('vm_get_config');
    expect(r).toMatchObject({ action: 'vm_get_config', vm_id: 1000 });
    expect(JSON.stringify(r.raw_data)).toContain('"name":"admin-wazuh"');
  });

  it('vm_get_config_cdrom finds the CD-ROM drive', async () => {
    expect(await s.ok('vm_get_config_cdrom')).toMatchObject({ action: 'vm_get_config_cdrom', vm_id: 1000, vm_cdrom_device: 'ide2', vm_cdrom_iso: 'local-lvm:vm-1000-cloudinit' });
  });

  it('vm_get_config_cpu and vm_get_config_ram read cores, sockets and memory', async () => {
    expect(await s.ok('vm_get_config_cpu')).toMatchObject({ action: 'vm_get_config_cpu', vm_id: 1000, vm_arch: 'host', vm_cores: 4, vm_sockets: 1 });
    const ram = await s.ok('vm_get_config_ram');
    expect(Number(ram.vm_ram_allocated)).toBe(8192);
  });
});

describe('config writes', () => {
  it('vm_set_tag replaces the tags (normalised by Proxmox)', async () => {
    await s.ok('vm_set_tag');
    expect(s.config(1000).tags).toBe('lab;web');
  });

  it('vm_set_name, vm_set_description', async () => {
    await s.ok('vm_set_name', { proxmox_node: 'px-testing', vm_id: '3001', vm_name: 'student-box-renamed' });
    await s.ok('vm_set_description', { proxmox_node: 'px-testing', vm_id: '3001', vm_description: 'for team 1' });
    expect(s.config(3001)).toMatchObject({ name: 'student-box-renamed', description: 'for team 1' });
  });

  it('vm_set_cpu and vm_set_memory on a running VM stay pending until it restarts', async () => {
    await s.ok('vm_set_cpu');
    await s.ok('vm_set_memory');
    const g = s.guest(1000)!;
    expect(g.pending).toMatchObject({ cores: 4, memory: '4096' });
    expect(g.config.memory).toBe('8192');
  });
});

describe('snapshots', () => {
  it('create, list, revert, delete', async () => {
    expect(await s.ok('snapshot_vm_create')).toEqual({
      action: 'snapshot_vm_create', source: 'proxmox', proxmox_node: 'px-testing', vm_id: 1000, vm_name: 'admin-wazuh', vm_snapshot_name: 'before-exercise',
      vm_snapshot_description: 'clean-state', raw_data: { data: expect.stringMatching(/:qmsnapshot:1000:/) },
    });
    expect(s.guest(1000)!.snapshots.map((x) => [x.name, x.description])).toEqual([['before-exercise', 'clean-state']]);

    const list = await s.ok('snapshot_vm_list');
    expect(list.map((x: any) => x.vm_snapshot_name)).toEqual(['before-exercise', 'current']);
    expect(list[0]).toMatchObject({ action: 'snapshot_vm_list', vm_id: 1000, vm_snapshot_description: 'clean-state', vm_snapshot_time: expect.any(Number), vm_snapshot_vmstate: 0 });
    expect(list[0]).not.toHaveProperty('vm_snapshot_parent');
    expect(list[1]).toMatchObject({ vm_snapshot_parent: 'before-exercise', vm_snapshot_description: 'You are here!' });

    await s.ok('vm_set_tag', { proxmox_node: 'px-testing', vm_id: '1000', vm_tag_name: 'changed' });
    expect(await s.ok('snapshot_vm_revert')).toMatchObject({ vm_snapshot_name: 'before-exercise', raw_data: { data: expect.stringMatching(/:qmrollback:1000:/) } });
    expect(s.config(1000).tags).toBe('lab;web'); // the tags of the snapshot
    expect(s.guest(1000)!.status).toBe('stopped'); // rollback of a disk-only snapshot stops the VM

    expect(await s.ok('snapshot_vm_delete')).toMatchObject({ vm_snapshot_name: 'before-exercise', raw_data: { data: expect.stringMatching(/:qmdelsnapshot:1000:/) } });
    expect(s.guest(1000)!.snapshots).toEqual([]);
  });

  it('snapshot_vm_revert to a missing snapshot fails with the Proxmox error', async () => {
    const a = await s.op('snapshot_vm_revert', { proxmox_node: 'px-testing', vm_id: '1000', vm_snapshot_name: 'nope' });
    expect(a.status).toBe(500);
    expect(JSON.stringify(a.body)).toContain("snapshot 'nope' does not exist");
  });
});
