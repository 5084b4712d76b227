import { ApiError } from '../http/api-error.js';
import type { NodeInterface } from '../proxmox/guests.js';
import * as S from '../schemas/proxmox.js';
import { guestOf, guestRun, nodeOrNull, pick, proxmoxReads, roleRun } from './plans.js';
import type { Body, RouteContext, RouteDef } from './types.js';

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

/** A container NIC has no model and no queues (`netN: name=ethN,bridge=...,firewall=...,hwaddr=...,tag=...`). */
function ctIfaceVars(b: Body): Body {
  const { iface_model: _model, iface_queues: _queues, ...vars } = vmIfaceVars(b);
  return vars;
}

/** `255.255.255.0` or `/24` or `24` → 24; undefined when it is none of them. */
function prefixLength(mask: string): number | undefined {
  const m = /^\/?(\d{1,2})$/.exec(mask);
  if (m) return Number(m[1]);
  const octets = mask.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return undefined;
  const bits = octets.map((o) => o.toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits) ? bits.replace(/0+$/, '').length : undefined;
}

/** The address the request asks for, as `a.b.c.d/nn` (how Proxmox reads it back), or null when it asks none. */
function requestedCidr(vars: Body): string | null {
  if (typeof vars.ip_cidr === 'string') return vars.ip_cidr;
  if (typeof vars.ip_address !== 'string') return null;
  const bits = typeof vars.ip_netmask === 'string' ? prefixLength(vars.ip_netmask) : 32;
  return `${vars.ip_address}/${bits ?? String(vars.ip_netmask)}`;
}

const words = (v: unknown) => String(v ?? '').trim().split(/\s+/).filter(Boolean).join(' ');

/**
 * How an existing node interface differs from what the request asks (only the settings the
 * request gives count): `["cidr is 10.150.0.1/24, requested 10.151.0.1/24", ...]`.
 */
export function interfaceDifferences(vars: Body, existing: NodeInterface): string[] {
  const out: string[] = [];
  const compare = (what: string, requested: unknown, actual: unknown, same = (a: unknown, b: unknown) => words(a) === words(b)) => {
    if (requested === undefined || requested === null) return;
    if (!same(requested, actual)) out.push(`${what} is ${actual === undefined || actual === null || words(actual) === '' ? 'not set' : words(actual)}, requested ${words(requested)}`);
  };
  const actualCidr = existing.cidr ?? (existing.address !== undefined ? `${String(existing.address)}/${prefixLength(String(existing.netmask ?? '32')) ?? ''}` : undefined);
  compare('type', vars.iface_type, existing.type);
  compare('cidr', requestedCidr(vars), actualCidr);
  compare('gateway', vars.ip_gateway, existing.gateway);
  compare('autostart', vars.iface_autostart, existing.autostart ?? 0, (a, b) => Number(a) === Number(b));
  compare('bridge_ports', vars.bridge_ports, existing.bridge_ports);
  compare('ovs_bridge', vars.ovs_bridge, existing.ovs_bridge);
  compare('comments', vars.iface_comments, existing.comments);
  return out;
}

/**
 * A node interface that exists already: with the same settings the run leaves it as it is (the
 * role reports `changed: false`); with other settings, a 409 naming every difference, nothing run.
 */
async function refuseOtherSettings(vars: Body, ctx: RouteContext): Promise<void> {
  const reads = proxmoxReads(ctx);
  const node = nodeOrNull(vars);
  const existing = (await reads.nodeInterfaces(node)).find((i) => i.iface === vars.iface_name);
  if (!existing) return;
  const differences = interfaceDifferences(vars, existing);
  if (differences.length > 0) {
    throw new ApiError(409, `:: err - network interface ${String(vars.iface_name)} already exists on node ${reads.nodeOf(node)} with other settings: ${differences.join('; ')}`);
  }
}

const vmDelete = (method: 'POST' | 'DELETE', operationId: string, hidden = false): RouteDef => ({
  method, url: `${NET}/vm/delete`, operationId, tags: VM_TAGS, summary: 'Remove a network interface from a VM', hidden,
  body: S.NetVmDeleteRequest, aliases: { iface_id: 'vm_vmnet_id' }, output: { resultKey: 'network_delete_interfaces_vm' },
  plan: async (b, ctx) => {
    const vars = { proxmox_node: b.proxmox_node, vm_id: b.vm_id, ...pick(b, ['vm_vmnet_id']) };
    return guestRun(ctx, await guestOf(b, ctx), 'network_delete_interfaces_vm', vars, 'network_delete_interfaces_lxc');
  },
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
    description: 'On a container, its `netN` is `name=ethN,bridge=...,firewall=...,hwaddr=...,tag=...`. A netN that already has these settings is left as it is (`changed: false` in the result); other settings replace it.',
    plan: async (b, ctx) => guestRun(ctx, await guestOf(b, ctx), 'network_add_interfaces_vm', vmIfaceVars(b), 'network_add_interfaces_lxc', ctIfaceVars(b)),
  },
  vmDelete('POST', 'network_delete_interfaces_vm'),
  vmDelete('DELETE', 'network_delete_interfaces_vm_by_delete'),
  {
    method: 'POST', url: `${NET}/vm/list`, operationId: 'network_list_interfaces_vm', tags: VM_TAGS, summary: 'List the network interfaces of a VM',
    body: S.VmRequest, output: { resultKey: 'network_list_interfaces_vm' },
    plan: async (b, ctx) => guestRun(ctx, await guestOf(b, ctx), 'network_list_interfaces_vm', { proxmox_node: b.proxmox_node, vm_id: b.vm_id }, 'network_list_interfaces_lxc'),
  },
  {
    method: 'POST', url: `${NET}/node/add`, operationId: 'network_add_interfaces_node', tags: NODE_TAGS, summary: 'Add a network interface to a node',
    description: 'An interface of that name that exists with the settings asked is left as it is (200, `changed: false` in the result); with other settings, 409 naming each difference, and nothing runs.',
    body: S.NetNodeAddRequest, output: { resultKey: 'network_add_interfaces_node' },
    plan: async (b, ctx) => {
      const vars = nodeIfaceVars(b);
      await refuseOtherSettings(vars, ctx);
      return roleRun(ctx, 'network_add_interfaces_node', vars);
    },
  },
  nodeDelete('POST', 'network_delete_interfaces_node'),
  nodeDelete('DELETE', 'network_delete_interfaces_node_by_delete'),
  // The original's path really has a double slash; clients use it, so it stays, next to the plain one.
  nodeList(`${NET}//node/list`, 'network_list_interfaces_node'),
  nodeList(`${NET}/node/list`, 'network_list_interfaces_node_single_slash'),
];
