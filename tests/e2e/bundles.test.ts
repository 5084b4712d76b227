import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

/**
 * Mass operations, the Proxmox default-infrastructure bundles of the student set, and the generic
 * bundle and scenario runners, end to end through the API on the simulator.
 */

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => s.close());

describe('generic runners', () => {
  it('run_bundle runs a nested bundle given percent-encoded', async () => {
    const before = s.guest(4001)!.snapshots.length;
    const a = await s.op('run_bundle');
    expect(a.status, JSON.stringify(a.body).slice(0, 500)).toBe(200);
    expect(s.guest(4001)!.snapshots.length).toBe(before + 1); // snapshot/create-vms-vuln reached vuln-box-01
  });

  it('run_scenario builds the debug_scenario lab (mini_lab is run by tests/catalog)', { timeout: 240_000 }, async () => {
    const vmsBefore = s.sim.state.guests.length;
    const a = await s.op('run_scenario');
    expect(a.status, JSON.stringify(a.body).slice(-1500)).toBe(200);
    // one VM from template 9221 with DHCP on vmbr0, tagged debug, running; its guest play skipped
    expect(s.guest(8001)).toMatchObject({ status: 'running' });
    expect(s.config(8001)).toMatchObject({ name: 'debug-vm-01', tags: 'debug', ipconfig0: 'ip=dhcp', ciuser: 'alice' });
    expect(String(s.config(8001).net0)).toContain('bridge=vmbr0');
    expect(String(s.config(8001).scsi0)).toMatch(/^local-lvm:vm-8001-disk-0/); // its own disk
    expect(a.body.log_multiline.join('\n')).toMatch(/skipping: no hosts matched/);
    expect(s.sim.state.guests.length).toBe(vmsBefore + 1);
  });

  const body = { proxmox_node: 'px-testing', hosts: 'px-testing' };
  it('run_scenario_nested reaches a nested scenario by plain path segments: debug_scenario/teardown removes the lab', { timeout: 240_000 }, async () => {
    const vmsBefore = s.sim.state.guests.length;
    await s.ok('run_scenario_nested', body, '/v0/admin/run/scenarios/debug_scenario/teardown/run');
    expect(s.guest(8001)).toBeUndefined();
    expect(s.sim.state.guests.length).toBe(vmsBefore - 1); // nothing else
  });

  it('run_bundle_nested reaches a nested bundle by plain path segments', async () => {
    const before = s.guest(3001)!.snapshots.length;
    await s.ok('run_bundle_nested', body, '/v0/admin/run/bundles/core/proxmox/configure/default/vms/snapshot/create-vms-student/run');
    expect(s.guest(3001)!.snapshots.length).toBe(before + 1);
  });
});

describe('mass operations act on exactly the VMs given', () => {
  const body = { proxmox_node: 'px-testing', vm_ids: ['4002', '4004'] };
  const states = () => [4002, 4004, 4003].map((id) => `${s.guest(id)!.status}/${s.guest(id)!.qmpstatus}`);

  it('start, pause, resume, stop, stop_force', { timeout: 240_000 }, async () => {
    await s.ok('mass_vm_start', body);
    expect(states()).toEqual(['running/running', 'running/running', 'running/running']);
    await s.ok('mass_vm_pause', body);
    expect(states()).toEqual(['running/paused', 'running/paused', 'running/running']); // 4003 untouched
    await s.ok('mass_vm_resume', body);
    await s.ok('mass_vm_stop', body);
    expect(states()).toEqual(['stopped/stopped', 'stopped/stopped', 'running/running']);
    await s.ok('mass_vm_start', body);
    await s.ok('mass_vm_stop_force', body);
    expect(states()).toEqual(['stopped/stopped', 'stopped/stopped', 'running/running']);
  });

  it('mass_vm_delete stops and deletes the listed VMs only', async () => {
    await s.ok('mass_vm_delete');
    expect(s.guest(4000)).toBeUndefined(); // the example: vuln-box-00, running before
    expect(s.guest(4002)).toBeDefined();
  });
});

describe('the student set, bundle by bundle', () => {
  it('delete-vms-student removes student-box-01', async () => {
    await s.ok('bundle_delete_vms_student');
    expect(s.guest(3001)).toBeUndefined();
  });

  it('create-vms-student clones it from its template, tags it, sets cloud-init and starts it', async () => {
    const a = await s.op('bundle_create_vms_student');
    expect(a.status, JSON.stringify(a.body).slice(0, 800)).toBe(200);
    expect(a.body.rc).toBe(0);
    const g = s.guest(3001)!;
    expect(g.status).toBe('running');
    expect(s.config(3001)).toMatchObject({ name: 'student-box-01', ipconfig0: 'ip=192.168.143.160/24,gw=192.168.143.1', ciuser: 'bob' }); // the trainee user on student boxes
    expect(String(s.config(3001).tags)).toContain('student');
    expect(String(s.config(3001).scsi0)).toMatch(/^local-lvm:(base-9211-disk-0\/)?vm-3001-disk-0/);
  });

  it('snapshot/create-vms-student and snapshot/revert-vms-student', async () => {
    await s.ok('bundle_snapshot_create_vms_student');
    const snaps = s.guest(3001)!.snapshots.map((x) => x.name);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]).toMatch(/^default-snapshot-from-API-\d{6}-\d{4}$/);
    await s.ok('bundle_snapshot_revert_vms_student', { proxmox_node: 'px-testing', vm_snapshot_name: snaps[0] });
    expect(s.guest(3001)!.config.parent).toBe(snaps[0]);
  });

  it('stop, start, pause, resume the student set', { timeout: 240_000 }, async () => {
    await s.ok('bundle_stop_vms_student');
    expect(s.guest(3001)!.status).toBe('stopped');
    await s.ok('bundle_start_vms_student');
    expect(s.guest(3001)!.status).toBe('running');
    await s.ok('bundle_pause_vms_student');
    expect(s.guest(3001)!.qmpstatus).toBe('paused');
    await s.ok('bundle_resume_vms_student');
    expect(s.guest(3001)!.qmpstatus).toBe('running');
  });
});

