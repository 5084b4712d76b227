import * as S from '../schemas/proxmox.js';
import { checkedApiHost, nodeOrNull, pick, roleRun, vmVars } from './plans.js';
import type { Body, RouteContext, RouteDef } from './types.js';

const FW = '/v0/admin/proxmox/firewall';
const TAGS = ['proxmox - firewall'];
const RULE_FIELDS = ['vm_fw_action', 'vm_fw_dport', 'vm_fw_enable', 'vm_fw_proto', 'vm_fw_type', 'vm_fw_log', 'vm_fw_iface', 'vm_fw_source', 'vm_fw_dest', 'vm_fw_sport', 'vm_fw_comment', 'vm_fw_pos'];

const def = (method: RouteDef['method'], url: string, action: string, summary: string, body: RouteDef['body'], vars: (b: Body, ctx: RouteContext) => Body): RouteDef => ({
  method, url: `${FW}${url}`, operationId: action, tags: TAGS, summary, body, output: { resultKey: action },
  plan: (b, ctx) => roleRun(ctx, action, vars(b, ctx)),
});

const vmToggle = (state: 'enable' | 'disable'): RouteDef => ({
  method: 'POST', url: `${FW}/vm/${state}`, operationId: `firewall_vm_${state}`, tags: TAGS, summary: `${state === 'enable' ? 'Enable' : 'Disable'} the firewall of a VM`,
  body: S.VmRequest, output: { resultKey: `firewall_vm_${state}` },
  plan: async (b, ctx) => roleRun(ctx, `firewall_vm_${state}`, { ...vmVars(b), vm_name: await ctx.resolveVmName(nodeOrNull(b), String(b.vm_id)) }),
});

export const firewallRoutes: RouteDef[] = [
  def('POST', '/vm/alias/list', 'firewall_vm_list_iptables_alias', 'List the firewall aliases of a VM', S.VmRequest, vmVars),
  def('POST', '/vm/alias/add', 'firewall_vm_add_iptables_alias', 'Add a firewall alias to a VM', S.FwAliasAddRequest,
    (b) => ({ ...vmVars(b), ...pick(b, ['vm_fw_alias_name', 'vm_fw_alias_cidr', 'vm_fw_alias_comment']) })),
  def('DELETE', '/vm/alias/delete', 'firewall_vm_delete_iptables_alias', 'Delete a firewall alias of a VM', S.FwAliasDeleteRequest,
    (b) => ({ ...vmVars(b), vm_fw_alias_name: b.vm_fw_alias_name })),
  def('POST', '/vm/rules/list', 'firewall_vm_list_iptables_rule', 'List the firewall rules of a VM', S.VmRequest, vmVars),
  def('POST', '/vm/rules/apply', 'firewall_vm_apply_iptables_rule', 'Add a firewall rule to a VM', S.FwRuleApplyRequest,
    (b) => ({ ...vmVars(b), ...pick(b, RULE_FIELDS) })),
  def('DELETE', '/vm/rules/delete', 'firewall_vm_delete_iptables_rule', 'Delete a firewall rule of a VM', S.FwRuleDeleteRequest,
    (b) => ({ ...vmVars(b), ...pick(b, ['vm_fw_pos']) })),
  vmToggle('enable'),
  vmToggle('disable'),
  def('POST', '/node/enable', 'firewall_node_enable', 'Enable the firewall of a node', S.NodeRequest, (b) => ({ proxmox_node: b.proxmox_node })),
  def('POST', '/node/disable', 'firewall_node_disable', 'Disable the firewall of a node', S.NodeRequest, (b) => ({ proxmox_node: b.proxmox_node })),
  def('POST', '/datacenter/enable', 'firewall_dc_enable', 'Enable the datacenter firewall', S.FwDcEnableRequest, checkedApiHost),
  def('POST', '/datacenter/disable', 'firewall_dc_disable', 'Disable the datacenter firewall', S.FwDcDisableRequest, checkedApiHost),
];
