import { ApiError } from '../http/api-error.js';
import * as S from '../schemas/proxmox.js';
import { guestOf, guestRun, lxcName, pick, requireGuestAction, requireNode, vmVars } from './plans.js';
import type { Body, RouteDef } from './types.js';

const CONFIG = '/v0/admin/proxmox/vms/vm_id/config';
const SNAPSHOT = '/v0/admin/proxmox/vms/vm_id/snapshot';
const CONFIG_TAGS = ['proxmox - vm configuration'];
const SNAPSHOT_TAGS = ['proxmox - vm snapshots'];


/** On a container, each read and write runs the role's container action (`lxc_get_config_cpu`, `lxc_set_name`...). */
const read = (action: string, summary: string): RouteDef => ({
  method: 'POST', url: `${CONFIG}/${action}`, operationId: action, tags: CONFIG_TAGS, summary,
  body: S.VmRequest, output: { resultKey: action },
  plan: async (b, ctx) => {
    const guest = await guestOf(b, ctx);
    if (guest.kind === 'lxc' && action === 'vm_get_config_cdrom') {
      throw new ApiError(400, `:: err - ${guest.vmid} is a container: containers have no CD-ROM drive`);
    }
    return guestRun(ctx, guest, action, vmVars(b), lxcName(action));
  },
});

const set = (action: string, field: string, schema: RouteDef['body'], summary: string): RouteDef => ({
  method: 'POST', url: `${CONFIG}/${action}`, operationId: action, tags: CONFIG_TAGS, summary,
  body: schema, output: { resultKey: action },
  // Forwarded whatever the node (the original dropped vm_tag_name when proxmox_node was empty).
  plan: async (b, ctx) => {
    requireGuestAction(ctx, action);
    return guestRun(ctx, await guestOf(b, ctx), action, { ...vmVars(b), [field]: b[field] }, lxcName(action), { ...vmVars(b), [lxcName(field)]: b[field] });
  },
});

/** A snapshot action's variables for a VM (`vm_*`) or, renamed, for a container (`lxc_*`). */
const snapshotVars = (b: Body, name: string, fields: string[], rule: 'nonNull' | 'truthy'): [Body, Body] => {
  const vm: Body = { ...vmVars(b), vm_name: name, ...pick(b, fields, rule) };
  return [vm, Object.fromEntries(Object.entries(vm).map(([k, v]) => [k === 'vm_id' ? k : lxcName(k), v]))];
};

export const vmConfigRoutes: RouteDef[] = [
  read('vm_get_config', 'Read the configuration of a VM'),
  read('vm_get_config_cdrom', 'Read the CD-ROM drive of a VM'),
  read('vm_get_config_cpu', 'Read the CPU configuration of a VM'),
  read('vm_get_config_ram', 'Read the memory configuration of a VM'),
  set('vm_set_tag', 'vm_tag_name', S.VmSetTagRequest, 'Set the tags of a VM'),
  set('vm_set_name', 'vm_name', S.VmSetNameRequest, 'Rename a VM'),
  set('vm_set_description', 'vm_description', S.VmSetDescriptionRequest, 'Set the description of a VM'),
  set('vm_set_cpu', 'vm_cores', S.VmSetCpuRequest, 'Set the number of cores of a VM'),
  set('vm_set_memory', 'vm_memory', S.VmSetMemoryRequest, 'Set the memory of a VM'),
];

export const snapshotRoutes: RouteDef[] = [
  {
    method: 'POST', url: `${SNAPSHOT}/list`, operationId: 'snapshot_vm_list', tags: SNAPSHOT_TAGS, summary: 'List the snapshots of a VM',
    body: S.VmRequest, output: { resultKey: 'snapshot_vm_list' },
    plan: async (b, ctx) => guestRun(ctx, await guestOf(b, ctx), 'snapshot_vm_list', { vm_id: b.vm_id, ...pick(b, ['proxmox_node'], 'truthy') }, 'snapshot_lxc_list'),
  },
  {
    method: 'POST', url: `${SNAPSHOT}/create`, operationId: 'snapshot_vm_create', tags: SNAPSHOT_TAGS, summary: 'Snapshot a VM',
    body: S.SnapshotCreateRequest, output: { resultKey: 'snapshot_vm_create' },
    plan: async (b, ctx) => {
      const guest = await guestOf(b, ctx);
      const [vm, ct] = snapshotVars(b, guest.name, ['vm_snapshot_name', 'vm_snapshot_description'], 'nonNull');
      return guestRun(ctx, guest, 'snapshot_vm_create', vm, 'snapshot_lxc_create', ct);
    },
  },
  ...(['delete', 'revert'] as const).map((verb): RouteDef => ({
    method: verb === 'delete' ? 'DELETE' : 'POST',
    url: `${SNAPSHOT}/${verb}`,
    operationId: `snapshot_vm_${verb}`,
    tags: SNAPSHOT_TAGS,
    summary: verb === 'delete' ? 'Delete a snapshot of a VM' : 'Revert a VM to a snapshot',
    description: 'An empty proxmox_node is refused with 400 (the original crashed with a plain-text 500).',
    body: S.SnapshotNameRequest,
    output: { resultKey: `snapshot_vm_${verb}` },
    plan: async (b, ctx) => {
      requireNode(b);
      const guest = await guestOf(b, ctx);
      const [vm, ct] = snapshotVars(b, guest.name, ['vm_snapshot_name'], 'truthy');
      return guestRun(ctx, guest, `snapshot_vm_${verb}`, vm, `snapshot_lxc_${verb}`, ct);
    },
  })),
];
