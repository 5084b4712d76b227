import * as S from '../schemas/proxmox.js';
import { nodeOrNull, pick, requireNode, roleRun, vmVars } from './plans.js';
import type { RouteDef } from './types.js';

const CONFIG = '/v0/admin/proxmox/vms/vm_id/config';
const SNAPSHOT = '/v0/admin/proxmox/vms/vm_id/snapshot';
const CONFIG_TAGS = ['proxmox - vm configuration'];
const SNAPSHOT_TAGS = ['proxmox - vm snapshots'];


const read = (action: string, summary: string): RouteDef => ({
  method: 'POST', url: `${CONFIG}/${action}`, operationId: action, tags: CONFIG_TAGS, summary,
  body: S.VmRequest, output: { resultKey: action },
  plan: (b, ctx) => roleRun(ctx, action, vmVars(b)),
});

const set = (action: string, field: string, schema: RouteDef['body'], summary: string): RouteDef => ({
  method: 'POST', url: `${CONFIG}/${action}`, operationId: action, tags: CONFIG_TAGS, summary,
  body: schema, output: { resultKey: action },
  // Forwarded whatever the node (the original dropped vm_tag_name when proxmox_node was empty).
  plan: (b, ctx) => roleRun(ctx, action, { ...vmVars(b), [field]: b[field] }),
});

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
    plan: (b, ctx) => roleRun(ctx, 'snapshot_vm_list', { vm_id: b.vm_id, ...pick(b, ['proxmox_node'], 'truthy') }),
  },
  {
    method: 'POST', url: `${SNAPSHOT}/create`, operationId: 'snapshot_vm_create', tags: SNAPSHOT_TAGS, summary: 'Snapshot a VM',
    body: S.SnapshotCreateRequest, output: { resultKey: 'snapshot_vm_create' },
    plan: async (b, ctx) => {
      const vm_name = await ctx.resolveVmName(nodeOrNull(b), String(b.vm_id));
      return roleRun(ctx, 'snapshot_vm_create', { ...vmVars(b), vm_name, ...pick(b, ['vm_snapshot_name', 'vm_snapshot_description']) });
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
      const node = requireNode(b);
      const vm_name = await ctx.resolveVmName(node, String(b.vm_id));
      return roleRun(ctx, `snapshot_vm_${verb}`, { ...vmVars(b), vm_name, ...pick(b, ['vm_snapshot_name'], 'truthy') });
    },
  })),
];
