import { withExample } from '../schemas/common.js';
import * as S from '../schemas/proxmox.js';
import { pick, roleRun } from './plans.js';
import type { Body, RouteDef } from './types.js';

const LXC = '/v0/admin/proxmox/lxc';
const TAGS = ['proxmox - lxc'];
const ctVars = (b: Body) => ({ proxmox_node: b.proxmox_node, vm_id: b.vm_id });
const LXC_CREATE_FIELDS = ['lxc_name', 'lxc_template', 'lxc_password', 'lxc_ssh_pubkeys', 'lxc_cores', 'lxc_memory', 'proxmox_storage', 'lxc_disk_size', 'lxc_bridge', 'lxc_ip', 'lxc_gateway'];

/** The container the lxc_create example makes. */
const CtRequest = withExample(S.VmRequest, { proxmox_node: 'px-testing', vm_id: '5100' });

const power = (verb: string, action: string, summary: string): RouteDef => ({
  method: 'POST', url: `${LXC}/vm_id/${verb}`, operationId: action, tags: TAGS, summary,
  body: CtRequest, output: { resultKey: action },
  plan: (b, ctx) => roleRun(ctx, action, ctVars(b)),
});

/** Containers, which the current deployer UI lists next to VMs (not in the original API). */
export const lxcRoutes: RouteDef[] = [
  {
    method: 'POST', url: `${LXC}/list`, operationId: 'lxc_list', tags: TAGS, summary: 'List the containers of a node',
    body: S.NodeRequest, output: { resultKey: 'lxc_list' },
    plan: (b, ctx) => roleRun(ctx, 'lxc_list', pick(b, ['proxmox_node'], 'truthy')),
  },
  {
    method: 'POST', url: `${LXC}/vm_id/create`, operationId: 'lxc_create', tags: TAGS, summary: 'Create a container',
    body: S.LxcCreateRequest, output: { resultKey: 'lxc_create' },
    plan: (b, ctx) => roleRun(ctx, 'lxc_create', { ...ctVars(b), ...pick(b, LXC_CREATE_FIELDS) }),
  },
  power('start', 'lxc_start', 'Start a container'),
  power('stop', 'lxc_stop', 'Shut a container down'),
  {
    method: 'DELETE', url: `${LXC}/vm_id/delete`, operationId: 'lxc_delete', tags: TAGS, summary: 'Delete a container',
    body: CtRequest, output: { resultKey: 'lxc_delete' },
    plan: (b, ctx) => roleRun(ctx, 'lxc_delete', ctVars(b)),
  },
];
