import { DEFAULT_VMS_BUNDLES as DEFAULT_VMS } from '../config/paths.js';
import type { LockSpec, RouteDef } from './types.js';

/**
 * Which VMs each operation changes, as data: the job of such a request holds a lock on every one
 * of them while it runs (src/jobs/locks.ts). Every operation of the table is either here or in
 * NO_VM_LOCK (a test checks it), so a new route has to say which it is.
 */
const ONE_VM: LockSpec = { ids: ['vm_id'] };

export const VM_LOCKS: Readonly<Record<string, LockSpec>> = {
  // single VM life cycle and configuration
  ...Object.fromEntries(
    [
      'vm_start', 'vm_stop', 'vm_stop_force', 'vm_stop_force_alias', 'vm_pause', 'vm_resume', 'vm_create', 'vm_delete',
      'vm_set_tag', 'vm_set_name', 'vm_set_description', 'vm_set_cpu', 'vm_set_memory',
      'snapshot_vm_create', 'snapshot_vm_delete', 'snapshot_vm_revert',
      'firewall_vm_add_iptables_alias', 'firewall_vm_delete_iptables_alias', 'firewall_vm_apply_iptables_rule',
      'firewall_vm_delete_iptables_rule', 'firewall_vm_enable', 'firewall_vm_disable',
      'network_add_interfaces_vm', 'network_delete_interfaces_vm', 'network_delete_interfaces_vm_by_delete',
      'lxc_create', 'lxc_start', 'lxc_stop', 'lxc_delete', 'lxc_create_ui', 'lxc_start_ui', 'lxc_stop_ui', 'lxc_delete_ui',
    ].map((op) => [op, ONE_VM]),
  ),
  // the source and the new VM
  vm_clone: { ids: ['vm_id', 'vm_new_id'] },
  // mass operations: every VM given
  ...Object.fromEntries(['mass_vm_stop', 'mass_vm_stop_force', 'mass_vm_start', 'mass_vm_pause', 'mass_vm_resume'].map((op) => [op, { lists: ['vm_ids'] }])),
  mass_vm_delete: { lists: ['vms'] },
  // bundles: the VMs of the request (create-vms) or the role's default set
  ...Object.fromEntries(['admin', 'vuln', 'student'].flatMap((role) => {
    const set = (bundle: string): LockSpec => ({ defaultSet: role, bundle: `${DEFAULT_VMS}/${bundle}` });
    return [
      [`bundle_create_vms_${role}`, { lists: ['vms'] }],
      ...['start', 'stop', 'pause', 'resume'].map((verb) => [`bundle_${verb}_vms_${role}`, set(`start-stop-pause-resume-vms-${role}`)]),
      [`bundle_delete_vms_${role}`, set(`delete-vms-${role}`)],
      [`bundle_snapshot_create_vms_${role}`, set(`snapshot/create-vms-${role}`)],
      [`bundle_snapshot_revert_vms_${role}`, set(`snapshot/revert-vms-${role}`)],
    ];
  })),
};

/** Operations that take no VM lock: reads, and changes to nodes, the datacenter, storage or guests over SSH. */
export const NO_VM_LOCK: ReadonlySet<string> = new Set([
  'debug_ping', 'debug_func_test',
  'vm_list', 'vm_list_usage', 'vm_get_config', 'vm_get_config_cdrom', 'vm_get_config_cpu', 'vm_get_config_ram', 'snapshot_vm_list',
  'storage_list_iso', 'storage_list_template', 'storage_list', 'storage_download_iso',
  'firewall_vm_list_iptables_alias', 'firewall_vm_list_iptables_rule',
  'firewall_node_enable', 'firewall_node_disable', 'firewall_dc_enable', 'firewall_dc_disable',
  'network_list_interfaces_vm', 'network_add_interfaces_node', 'network_delete_interfaces_node', 'network_delete_interfaces_node_by_delete',
  'network_list_interfaces_node', 'network_list_interfaces_node_single_slash',
  'lxc_list',
  'bundle_ubuntu_install_docker', 'bundle_ubuntu_install_docker_compose', 'bundle_ubuntu_install_basic_packages',
  'bundle_ubuntu_install_dot_files', 'bundle_ubuntu_configure_add_user',
  // generic runners: what a bundle or scenario touches is not known from the request
  'run_bundle', 'run_scenario', 'run_bundle_nested', 'run_scenario_nested',
]);

export function withLockSpecs(defs: readonly RouteDef[]): RouteDef[] {
  return defs.map((d) => (VM_LOCKS[d.operationId] && !d.locks ? { ...d, locks: VM_LOCKS[d.operationId] } : d));
}
