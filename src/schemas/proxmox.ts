import { Type, type TProperties } from 'typebox';
import { AsJson, ProxmoxNode, VmId, optionalNullable, requiredNullable, str } from './common.js';

/** Request bodies of the Proxmox routes, with the original's field rules (api-contract §2). */

const IPV4 = '^(?:[0-9]{1,3}\\.){3}[0-9]{1,3}$';
const SNAPSHOT_NAME = '^[A-Za-z0-9_-]+$';

const body = (props: TProperties, example?: Record<string, unknown>) =>
  Type.Object(props, example ? { examples: [example] } : {});
const nodeBody = (props: TProperties = {}, example?: Record<string, unknown>) =>
  body({ proxmox_node: ProxmoxNode, as_json: AsJson, ...props }, example);
const vmBody = (props: TProperties = {}, example: Record<string, unknown> = {}) =>
  nodeBody({ vm_id: VmId, ...props }, { proxmox_node: 'px-testing', vm_id: '1000', ...example });

export const NodeRequest = nodeBody({}, { proxmox_node: 'px-testing', as_json: true });
export const VmRequest = vmBody();

export const VmCreateRequest = vmBody(
  {
    vm_name: str('^[A-Za-z0-9-]*$'),
    vm_cpu: str('^[A-Za-z0-9._-]+$', { examples: ['host'] }),
    vm_cores: Type.Integer({ minimum: 1 }),
    vm_sockets: Type.Integer({ minimum: 1 }),
    vm_memory: Type.Integer({ minimum: 128, description: 'MiB' }),
    vm_disk_size: optionalNullable(Type.Integer({ minimum: 1 }), null, { description: 'GiB' }),
    vm_iso: optionalNullable(str('^[A-Za-z0-9._-]+:iso/.+\\.iso$'), null, { examples: ['local:iso/ubuntu-24.04.2-live-server-amd64.iso'] }),
  },
  { vm_id: '4010', vm_name: 'lab-web-01', vm_cpu: 'host', vm_cores: 2, vm_sockets: 1, vm_memory: 2048, vm_disk_size: 20, vm_iso: 'local:iso/ubuntu-24.04.2-live-server-amd64.iso' },
);

export const VmCloneRequest = vmBody(
  {
    vm_new_id: str('^[0-9]+$'),
    vm_name: str('^[A-Za-z0-9-]*$'),
    vm_description: Type.Optional(str('^[A-Za-z0-9\\s.,_\\-]*$', { default: 'cloned-vm' })),
    full_clone: optionalNullable(Type.Boolean(), null, { description: 'deployer UI: full (true) or linked (false) clone' }),
    proxmox_dest_vm_storage_name: optionalNullable(str('^[A-Za-z0-9-]+$'), null, { description: 'deployer UI: target storage' }),
  },
  { vm_id: '9221', vm_new_id: '4011', vm_name: 'lab-web-02', vm_description: 'cloned from template' },
);

export const MassActionRequest = nodeBody(
  { vm_ids: Type.Array(Type.String(), { minItems: 1 }) },
  { proxmox_node: 'px-testing', vm_ids: ['4000', '4001'] },
);

export const MassDeleteRequest = nodeBody(
  {
    vms: Type.Array(Type.Object({ id: str('^[0-9]+$'), name: str('^[A-Za-z0-9-]+$') }), { minItems: 1 }),
  },
  { proxmox_node: 'px-testing', vms: [{ id: '4000', name: 'vuln-box-00' }] },
);

export const VmSetTagRequest = vmBody({ vm_tag_name: str('^[A-Za-z0-9_, -]+$', { description: 'comma separated tags' }) }, { vm_tag_name: 'lab,web' });
export const VmSetNameRequest = vmBody({ vm_name: str('^[A-Za-z0-9-]+$') }, { vm_name: 'lab-web-01' });
export const VmSetDescriptionRequest = vmBody({ vm_description: str('^[^\\x00-\\x08\\x0b-\\x1f\\x7f]*$', { maxLength: 8192 }) }, { vm_description: 'web server of team 1' });
export const VmSetCpuRequest = vmBody({ vm_cores: Type.Integer({ minimum: 1, maximum: 512 }) }, { vm_cores: 4 });
export const VmSetMemoryRequest = vmBody({ vm_memory: Type.Integer({ minimum: 16, description: 'MiB' }) }, { vm_memory: 4096 });

export const SnapshotCreateRequest = vmBody(
  { vm_snapshot_name: optionalNullable(str(SNAPSHOT_NAME)), vm_snapshot_description: optionalNullable(str(SNAPSHOT_NAME)) },
  { vm_snapshot_name: 'before-exercise', vm_snapshot_description: 'clean-state' },
);
export const SnapshotNameRequest = vmBody({ vm_snapshot_name: optionalNullable(str(SNAPSHOT_NAME)) }, { vm_snapshot_name: 'before-exercise' });

export const StorageRequest = nodeBody({ storage_name: str('^[A-Za-z0-9-]*$') }, { proxmox_node: 'px-testing', storage_name: 'local' });
export const DownloadIsoRequest = nodeBody(
  {
    proxmox_storage: str('^[A-Za-z0-9-]+$'),
    iso_file_content_type: str('^[A-Za-z0-9-]*$', { examples: ['iso'] }),
    iso_file_name: str('^[A-Za-z0-9._-]+\\.iso$'),
    iso_url: str('^https?://[^\\s]+$'),
  },
  { proxmox_node: 'px-testing', proxmox_storage: 'local', iso_file_content_type: 'iso', iso_file_name: 'debian-12.iso', iso_url: 'https://cdimage.example.org/debian-12.iso' },
);

const FW_NAME = '^[A-Za-z0-9-_]+$';
const FW_COMMENT = '^[A-Za-z0-9 _-]*$';
const CIDR = '^[0-9./]+$';
const PORTS = '^[0-9:-]+$';
export const FwAliasAddRequest = vmBody(
  { vm_fw_alias_name: str(FW_NAME), vm_fw_alias_cidr: str(CIDR), vm_fw_alias_comment: requiredNullable(str(FW_COMMENT)) },
  { vm_fw_alias_name: 'web-net', vm_fw_alias_cidr: '192.168.144.0/24', vm_fw_alias_comment: 'team web subnet' },
);
export const FwAliasDeleteRequest = vmBody({ vm_fw_alias_name: str(FW_NAME) }, { vm_fw_alias_name: 'web-net' });
export const FwRuleApplyRequest = Type.Object(
  {
    proxmox_node: str('^[A-Za-z0-9-]+$', { description: 'Proxmox node name' }),
    as_json: AsJson,
    vm_id: VmId,
    vm_fw_action: str('^(ACCEPT|DROP|REJECT)$'),
    vm_fw_dport: str(PORTS),
    vm_fw_enable: Type.Integer(),
    vm_fw_proto: str('^[a-zA-Z0-9]+$'),
    vm_fw_type: str('^(in|out)$'),
    vm_fw_log: optionalNullable(str('^[A-Za-z0-9_-]+$')),
    vm_fw_iface: optionalNullable(str('^[A-Za-z0-9_-]+$')),
    vm_fw_source: optionalNullable(str(CIDR)),
    vm_fw_dest: optionalNullable(str(CIDR)),
    vm_fw_sport: optionalNullable(str(PORTS)),
    vm_fw_comment: optionalNullable(str(FW_COMMENT)),
    vm_fw_pos: optionalNullable(Type.Integer()),
  },
  { examples: [{ proxmox_node: 'px-testing', vm_id: '1000', vm_fw_action: 'ACCEPT', vm_fw_dport: '22', vm_fw_enable: 1, vm_fw_proto: 'tcp', vm_fw_type: 'in', vm_fw_comment: 'ssh' }] },
);
export const FwRuleDeleteRequest = vmBody({ vm_fw_pos: requiredNullable(Type.Integer()) }, { vm_fw_pos: 0 });
export const FwDcEnableRequest = body({ as_json: AsJson, proxmox_api_host: str('^[A-Za-z0-9\\.:-]*$') }, { proxmox_api_host: '127.0.0.1:8006' });
export const FwDcDisableRequest = body(
  { proxmox_node: ProxmoxNode, as_json: AsJson, proxmox_api_host: str('^[A-Za-z0-9\\.:-]*$') },
  { proxmox_node: 'px-testing', proxmox_api_host: '127.0.0.1:8006' },
);

const IFACE = '^[A-Za-z0-9._-]+$';
export const NetVmAddRequest = Type.Object(
  {
    proxmox_node: ProxmoxNode,
    as_json: AsJson,
    // The deployer UI sends a number here; the original only took a string of digits.
    vm_id: Type.Unsafe<string | number>({ type: ['string', 'integer'], pattern: '^[0-9]+$', minimum: 0, description: 'Proxmox VM id' }),
    iface_model: requiredNullable(str(IFACE), { examples: ['virtio'] }),
    iface_bridge: requiredNullable(str(IFACE), { examples: ['vmbr0'] }),
    vm_vmnet_id: requiredNullable(Type.Integer({ minimum: 0 }), { description: 'netN index (alias: iface_id)' }),
    iface_trunks: requiredNullable(Type.Boolean()),
    iface_tag: requiredNullable(Type.Integer()),
    iface_rate: requiredNullable(Type.Number()),
    iface_queues: requiredNullable(Type.Integer()),
    iface_mtu: requiredNullable(Type.Integer()),
    iface_macaddr: requiredNullable(str('^(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$'), { description: 'alias: iface_mac' }),
    iface_link_down: requiredNullable(Type.Boolean()),
    iface_firewall: requiredNullable(Type.Boolean()),
  },
  {
    examples: [{
      proxmox_node: 'px-testing', vm_id: '1000', iface_model: 'virtio', iface_bridge: 'vmbr0', vm_vmnet_id: 1, iface_trunks: null, iface_tag: null,
      iface_rate: null, iface_queues: null, iface_mtu: null, iface_macaddr: null, iface_link_down: null, iface_firewall: true,
    }],
  },
);
export const NetVmDeleteRequest = vmBody({ vm_vmnet_id: requiredNullable(Type.Integer({ minimum: 0 }), { description: 'alias: iface_id' }) }, { vm_vmnet_id: 1 });
export const NetNodeAddRequest = nodeBody(
  {
    iface_name: requiredNullable(str('^[a-zA-Z0-9._-]+$')),
    iface_type: requiredNullable(str('^[a-zA-Z]+$'), { examples: ['bridge'] }),
    iface_autostart: requiredNullable(Type.Integer()),
    bridge_ports: optionalNullable(str('^[a-zA-Z0-9._-]+$')),
    ip_address: optionalNullable(str(IPV4)),
    ip_netmask: optionalNullable(str(`${IPV4}|^\\/[0-9]{1,2}$`)),
    ip_gateway: optionalNullable(str(IPV4)),
    ovs_bridge: optionalNullable(str('^[a-zA-Z0-9._-]+$')),
    iface_address: optionalNullable(str('^(?:[0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}$'), null, { description: 'deployer UI: address/prefix' }),
    iface_comments: optionalNullable(str('^[^\\x00-\\x1f\\x7f]*$', { maxLength: 256 }), null, { description: 'deployer UI' }),
  },
  { proxmox_node: 'px-testing', iface_name: 'vmbr150', iface_type: 'bridge', iface_autostart: 1, ip_address: '192.168.150.1', ip_netmask: '255.255.255.0' },
);
export const NetNodeDeleteRequest = nodeBody({ iface_name: requiredNullable(str('^[a-zA-Z0-9._-]+$')) }, { proxmox_node: 'px-testing', iface_name: 'vmbr150' });

export const LxcCreateRequest = vmBody(
  {
    lxc_name: str('^[A-Za-z0-9-]+$', { description: 'container hostname' }),
    lxc_template: str('^[A-Za-z0-9._-]+:vztmpl/[A-Za-z0-9._-]+$'),
    lxc_password: optionalNullable(str('^[A-Za-z0-9@._-]*$'), null, { description: 'root password (never logged or stored)' }),
    lxc_ssh_pubkeys: optionalNullable(str('^[^\\x00-\\x08\\x0b-\\x1f\\x7f]*$', { maxLength: 16384 })),
    lxc_cores: optionalNullable(Type.Integer({ minimum: 1 })),
    lxc_memory: optionalNullable(Type.Integer({ minimum: 16, description: 'MiB' })),
    proxmox_storage: optionalNullable(str('^[A-Za-z0-9-]+$')),
    lxc_disk_size: optionalNullable(Type.Integer({ minimum: 1, description: 'GiB' })),
    lxc_bridge: optionalNullable(str(IFACE)),
    lxc_ip: optionalNullable(str('^(dhcp|(?:[0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2})$')),
    lxc_gateway: optionalNullable(str(IPV4)),
  },
  { vm_id: '5100', lxc_name: 'ct-tools', lxc_template: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', lxc_cores: 1, lxc_memory: 512 },
);

/** Fields the deployer UI spells differently, mapped to the original's names before validation. */
export const FIELD_ALIASES: Record<string, Record<string, string>> = {
  network_vm_add: { iface_id: 'vm_vmnet_id', iface_mac: 'iface_macaddr' },
  network_vm_delete: { iface_id: 'vm_vmnet_id' },
};

