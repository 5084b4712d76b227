/**
 * The status of a node's guests as the status poller follows it: what one VM looks like, what
 * counts as a change, and the updates a poller emits (a full state, a diff, stale or not).
 * /ws/vm-status (src/ws) sends these updates to its clients as they are.
 */
export interface VmStatus {
  vmid: number;
  name: string;
  status: string;
  /** Percent of the allotted CPUs, one decimal. */
  cpu: number;
  mem: number;
  maxmem: number;
  uptime: number;
  /** Allotted cores (Proxmox's `cpus` in guest lists): the pending-changes UI shows a VM's actual configuration. */
  cores: number;
  /** Root disk size in bytes, as Proxmox lists it. */
  maxdisk: number;
  template: number;
  tags: string;
  /** `qemu` or `lxc` (addition: the UI lists both). */
  type: 'qemu' | 'lxc';
}

/** In a diff entry `type` is the kind of change, so the guest kind moves to `vm_type`. */
export type Change = (Omit<VmStatus, 'type'> & { type: 'added' | 'changed'; vm_type: VmStatus['type'] }) | { type: 'removed'; vmid: number };

/**
 * What a poller tells its subscribers. `full` and `diff` are the original API's messages; `stale`
 * (a field of `full` and an update of its own) is this implementation's addition: it says the last
 * poll failed and the data shown is the last known, instead of reporting every VM removed.
 */
export type StatusUpdate =
  | { type: 'full'; vms: VmStatus[]; stale?: true; error?: string }
  | { type: 'diff'; changes: Record<string, Change> }
  | { type: 'stale'; stale: boolean; error?: string };

/**
 * A change is a status change, a CPU move above 2 percentage points, or a new name, tags, cores or
 * memory size (the configuration the pending-changes UI compares with what it asked for).
 */
function isChanged(before: VmStatus, after: VmStatus): boolean {
  return (
    before.status !== after.status ||
    Math.abs(before.cpu - after.cpu) > 2 ||
    before.name !== after.name ||
    before.tags !== after.tags ||
    before.cores !== after.cores ||
    before.maxmem !== after.maxmem
  );
}

export function diffStates(before: ReadonlyMap<number, VmStatus>, after: ReadonlyMap<number, VmStatus>): Record<string, Change> {
  const changes: Record<string, Change> = {};
  for (const [id, vm] of after) {
    const old = before.get(id);
    if (!old) changes[String(id)] = { ...vm, type: 'added', vm_type: vm.type };
    else if (isChanged(old, vm)) changes[String(id)] = { ...vm, type: 'changed', vm_type: vm.type };
  }
  for (const id of before.keys()) if (!after.has(id)) changes[String(id)] = { type: 'removed', vmid: id };
  return changes;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** One Proxmox list entry → the status the clients see; null for templates and broken entries. */
export function toVmStatus(raw: Record<string, unknown>, type: 'qemu' | 'lxc'): VmStatus | null {
  const vmid = Number(raw.vmid);
  if (!Number.isInteger(vmid) || num(raw.template) === 1) return null;
  return {
    vmid,
    name: typeof raw.name === 'string' ? raw.name : '',
    status: typeof raw.status === 'string' ? raw.status : 'unknown',
    cpu: Math.round(num(raw.cpu) * 1000) / 10,
    mem: num(raw.mem),
    maxmem: num(raw.maxmem),
    uptime: num(raw.uptime),
    cores: num(raw.cpus),
    maxdisk: num(raw.maxdisk),
    template: num(raw.template),
    tags: typeof raw.tags === 'string' ? raw.tags : '',
    type,
  };
}
