import * as S from '../schemas/proxmox.js';
import { pick, roleRun } from './plans.js';
import type { Body, RouteDef } from './types.js';

const NET = '/v0/admin/proxmox/network';
const VM_TAGS = ['proxmox - network - vm'];
const NODE_TAGS = ['proxmox - network - node'];
const VM_IFACE_FIELDS = ['iface_model', 'iface_bridge', 'vm_vmnet_id', 'iface_trunks', 'iface_tag', 'iface_rate', 'iface_queues', 'iface_mtu', 'iface_macaddr', 'iface_link_down', 'iface_firewall'];
const NODE_IFACE_FIELDS = ['iface_name', 'iface_type', 'iface_autostart', 'bridge_ports', 'ip_address', 'ip_netmask', 'ip_gateway', 'ovs_bridge', 'iface_comments'];

/**
 * `iface_address` (the UI's `a.b.c.d/nn`) becomes `ip_cidr`, which this project's role and the
 * upstream range42 role both send as Proxmox's `cidr`, unless the caller gave ip_address itself.
 * The comment goes under both roles' names (`iface_comments` here, `ip_comments` upstream).
 */
function nodeIfaceVars(b: Body): Body {
  const vars: Body = { proxmox_node: b.proxmox_node, ...pick(b, NODE_IFACE_FIELDS) };
  if (typeof b.iface_address === 'string' && vars.ip_address === undefined) vars.ip_cidr = b.iface_address;
  if (vars.iface_comments !== undefined) vars.ip_comments = vars.iface_comments;
  vars.proxmox_network_apply = b.apply !== false;
  return vars;
}

/** The NIC fields that are set; an empty MAC is left out, so Proxmox generates one. */
function vmIfaceVars(b: Body): Body {
  const vars: Body = { proxmox_node: b.proxmox_node, vm_id: b.vm_id, ...pick(b, VM_IFACE_FIELDS) };
  if (vars.iface_macaddr === '') delete vars.iface_macaddr;
  return vars;
}

const vmDelete = (method: 'POST' | 'DELETE', operationId: string, hidden = false): RouteDef => ({
  method, url: `${NET}/vm/delete`, operationId, tags: VM_TAGS, summary: 'Remove a network interface from a VM', hidden,
  body: S.NetVmDeleteRequest, aliases: { iface_id: 'vm_vmnet_id' }, output: { resultKey: 'network_delete_interfaces_vm' },
  plan: (b, ctx) => roleRun(ctx, 'network_delete_interfaces_vm', { proxmox_node: b.proxmox_node, vm_id: b.vm_id, ...pick(b, ['vm_vmnet_id']) }),
});

const nodeDelete = (method: 'POST' | 'DELETE', operationId: string, hidden = false): RouteDef => ({
  method, url: `${NET}/node/delete`, operationId, tags: NODE_TAGS, summary: 'Remove a network interface from a node', hidden,
  body: S.NetNodeDeleteRequest, output: { resultKey: 'network_delete_interfaces_node' },
  plan: (b, ctx) => roleRun(ctx, 'network_delete_interfaces_node', { proxmox_node: b.proxmox_node, ...pick(b, ['iface_name']) }),
});

const nodeList = (url: string, operationId: string): RouteDef => ({
  method: 'POST', url, operationId, tags: NODE_TAGS, summary: 'List the network interfaces of a node',
  body: S.NodeRequest, output: { resultKey: 'network_list_interfaces_node' },
  plan: (b, ctx) => roleRun(ctx, 'network_list_interfaces_node', { proxmox_node: b.proxmox_node }),
});

export const networkRoutes: RouteDef[] = [
  {
    method: 'POST', url: `${NET}/vm/add`, operationId: 'network_add_interfaces_vm', tags: VM_TAGS, summary: 'Add a network interface to a VM',
    body: S.NetVmAddRequest, aliases: { iface_id: 'vm_vmnet_id', iface_mac: 'iface_macaddr' }, output: { resultKey: 'network_add_interfaces_vm' },
    plan: (b, ctx) => roleRun(ctx, 'network_add_interfaces_vm', vmIfaceVars(b)),
  },
  vmDelete('POST', 'network_delete_interfaces_vm'),
  vmDelete('DELETE', 'network_delete_interfaces_vm_by_delete'),
  {
    method: 'POST', url: `${NET}/vm/list`, operationId: 'network_list_interfaces_vm', tags: VM_TAGS, summary: 'List the network interfaces of a VM',
    body: S.VmRequest, output: { resultKey: 'network_list_interfaces_vm' },
    plan: (b, ctx) => roleRun(ctx, 'network_list_interfaces_vm', { proxmox_node: b.proxmox_node, vm_id: b.vm_id }),
  },
  {
    method: 'POST', url: `${NET}/node/add`, operationId: 'network_add_interfaces_node', tags: NODE_TAGS, summary: 'Add a network interface to a node',
    body: S.NetNodeAddRequest, output: { resultKey: 'network_add_interfaces_node' },
    plan: (b, ctx) => roleRun(ctx, 'network_add_interfaces_node', nodeIfaceVars(b)),
  },
  nodeDelete('POST', 'network_delete_interfaces_node'),
  nodeDelete('DELETE', 'network_delete_interfaces_node_by_delete'),
  // The original's path really has a double slash; clients use it, so it stays, next to the plain one.
  nodeList(`${NET}//node/list`, 'network_list_interfaces_node'),
  nodeList(`${NET}/node/list`, 'network_list_interfaces_node_single_slash'),
];
