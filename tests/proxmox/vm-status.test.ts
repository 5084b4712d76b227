import { describe, expect, it } from 'vitest';
import { diffStates, toVmStatus, type VmStatus } from '../../src/proxmox/vm-status.js';

const vm = (id: number, over: Partial<VmStatus> = {}): VmStatus => ({
  vmid: id, name: `vm-${id}`, status: 'running', cpu: 10, mem: 1, maxmem: 2, uptime: 5, cores: 2, maxdisk: 3, template: 0, tags: '', type: 'qemu', ...over,
});
const state = (...vms: VmStatus[]) => new Map(vms.map((v) => [v.vmid, v]));

describe('status diff rules', () => {
  it('reports added, removed, and changed on status, CPU > 2 points, name or tags', () => {
    const before = state(vm(1), vm(2), vm(3), vm(4), vm(5), vm(6));
    const after = state(
      vm(1, { status: 'stopped' }), vm(2, { cpu: 12.1 }), vm(3, { cpu: 12 }), vm(4, { name: 'renamed' }), vm(5, { tags: 'a;b' }), vm(7, { type: 'lxc' }),
    );
    const d = diffStates(before, after);
    expect(Object.keys(d).sort()).toEqual(['1', '2', '4', '5', '6', '7']);
    expect(d['1']).toMatchObject({ type: 'changed', status: 'stopped', vm_type: 'qemu' });
    expect(d['6']).toEqual({ type: 'removed', vmid: 6 });
    expect(d['7']).toMatchObject({ type: 'added', vmid: 7, vm_type: 'lxc' });
  });
  it('ignores memory and uptime moves', () => {
    expect(diffStates(state(vm(1)), state(vm(1, { mem: 99, uptime: 999 })))).toEqual({});
  });
  it('maps Proxmox entries, CPU in percent with one decimal, and drops templates', () => {
    expect(toVmStatus({ vmid: 100, cpu: 0.12345, status: 'running' }, 'qemu')).toMatchObject({ vmid: 100, cpu: 12.3, name: '', tags: '', mem: 0 });
    expect(toVmStatus({ vmid: 9000, template: 1 }, 'qemu')).toBeNull();
    expect(toVmStatus({ name: 'no id' }, 'qemu')).toBeNull();
  });
});
