import { Type, type TProperties } from 'typebox';
import { AsJson, LIMITS, ProxmoxNode, UiExtras, VmId, int, nullable, num, optionalNullable, str } from './common.js';

/** Request bodies of the Proxmox routes, with the original's field rules (api-contract §2). */

const IPV4 = '^(?:[0-9]{1,3}\\.){3}[0-9]{1,3}$';
const SNAPSHOT_NAME = '^[A-Za-z0-9_-]+$';
/** Memory in MiB: Proxmox has no upper bound; 4 TiB is more than any node of a range has. */
const MAX_MEMORY_MIB = 4 * 1024 * 1024;
/** Disk sizes in GiB: 128 TiB. */
const MAX_DISK_GIB = 128 * 1024;
/** Cores of one guest: qemu-server's maximum number of vCPUs. */
const MAX_CORES = 512;
const DNS_LABEL = { maxLength: LIMITS.label };

const body = (props: TProperties, example?: Record<string, unknown>) =>
  Type.Object(props, example ? { examples: [example] } : {});
const nodeBody = (props: TProperties = {}, example?: Record<string, unknown>) =>
  body({ proxmox_node: ProxmoxNode, as_json: AsJson, ...UiExtras, ...props }, example);
const vmBody = (props: TProperties = {}, example: Record<string, unknown> = {}) =>
  nodeBody({ vm_id: VmId, ...props }, { proxmox_node: 'px-testing', vm_id: '1000', ...example });

export const NodeRequest = nodeBody({}, { proxmox_node: 'px-testing', as_json: true });
export const VmRequest = vmBody();

export const VmCreateRequest = vmBody(
  {
    vm_name: str('^[A-Za-z0-9-]*$', DNS_LABEL),
    vm_cpu: str('^[A-Za-z0-9._-]+$', { examples: ['host'] }),
    vm_cores: int(1, MAX_CORES),
    vm_sockets: int(1, 16),
    vm_memory: int(128, MAX_MEMORY_MIB, { description: 'MiB' }),
    vm_disk_size: optionalNullable(int(1, MAX_DISK_GIB), null, { description: 'GiB' }),
    vm_iso: optionalNullable(str('^[A-Za-z0-9._-]+:iso/.+\\.iso$'), null, { examples: ['local:iso/ubuntu-24.04.2-live-server-amd64.iso'] }),
  },
  { vm_id: '4010', vm_name: 'lab-web-01', vm_cpu: 'host', vm_cores: 2, vm_sockets: 1, vm_memory: 2048, vm_disk_size: 20, vm_iso: 'local:iso/ubuntu-24.04.2-live-server-amd64.iso' },
);

export const VmCloneRequest = vmBody(
  {
    vm_new_id: VmId,
    vm_name: str('^[A-Za-z0-9-]*$', DNS_LABEL),
    vm_description: Type.Optional(str('^[A-Za-z0-9\\s.,_\\-]*$', { default: 'cloned-vm', maxLength: LIMITS.text })),
    full_clone: optionalNullable(Type.Boolean(), null, { description: 'deployer UI: full (true) or linked (false) clone' }),
    proxmox_dest_vm_storage_name: optionalNullable(str('^[A-Za-z0-9-]+$'), null, { description: 'deployer UI: target storage' }),
  },
  { vm_id: '9221', vm_new_id: '4011', vm_name: 'lab-web-02', vm_description: 'cloned from template' },
);

export const MassActionRequest = nodeBody(
  { vm_ids: Type.Array(VmId, { minItems: 1, maxItems: LIMITS.vmsPerRequest }) },
  { proxmox_node: 'px-testing', vm_ids: ['4000', '4001'] },
);

export const MassDeleteRequest = nodeBody(
  {
    vms: Type.Array(Type.Object({ id: VmId, name: str('^[A-Za-z0-9-]+$', DNS_LABEL) }), { minItems: 1, maxItems: LIMITS.vmsPerRequest }),
  },
  { proxmox_node: 'px-testing', vms: [{ id: '4000', name: 'vuln-box-00' }] },
);

export const VmSetTagRequest = vmBody({ vm_tag_name: str('^[A-Za-z0-9_, -]+$', { maxLength: 1024, description: 'comma separated tags' }) }, { vm_tag_name: 'lab,web' });
export const VmSetNameRequest = vmBody({ vm_name: str('^[A-Za-z0-9-]+$', DNS_LABEL) }, { vm_name: 'lab-web-01' });
export const VmSetDescriptionRequest = vmBody({ vm_description: str('^[^\\x00-\\x08\\x0b-\\x1f\\x7f]*$', { maxLength: LIMITS.text }) }, { vm_description: 'web server of team 1' });
export const VmSetCpuRequest = vmBody({ vm_cores: int(1, MAX_CORES) }, { vm_cores: 4 });
export const VmSetMemoryRequest = vmBody({ vm_memory: int(16, MAX_MEMORY_MIB, { description: 'MiB' }) }, { vm_memory: 4096 });

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
    iso_url: str('^https?://[^\\s]+$', { maxLength: 2048 }),
  },
  { proxmox_node: 'px-testing', proxmox_storage: 'local', iso_file_content_type: 'iso', iso_file_name: 'debian-12.iso', iso_url: 'https://cdimage.example.org/debian-12.iso' },
);

const FW_NAME = '^[A-Za-z0-9-_]+$';
const FW_COMMENT = '^[A-Za-z0-9 _-]*$';
const CIDR = '^[0-9./]+$';
const PORTS = '^[0-9:-]+$';
export const FwAliasAddRequest = vmBody(
  { vm_fw_alias_name: str(FW_NAME), vm_fw_alias_cidr: str(CIDR), vm_fw_alias_comment: nullable(str(FW_COMMENT)) },
  { vm_fw_alias_name: 'web-net', vm_fw_alias_cidr: '192.168.144.0/24', vm_fw_alias_comment: 'team web subnet' },
);
export const FwAliasDeleteRequest = vmBody({ vm_fw_alias_name: str(FW_NAME) }, { vm_fw_alias_name: 'web-net' });
export const FwRuleApplyRequest = Type.Object(
  {
    proxmox_node: str('^[A-Za-z0-9-]+$', { maxLength: LIMITS.label, description: 'Proxmox node name' }),
    as_json: AsJson,
    ...UiExtras,
    vm_id: VmId,
    vm_fw_action: str('^(ACCEPT|DROP|REJECT)$'),
    vm_fw_dport: str(PORTS),
    vm_fw_enable: int(0, 1),
    vm_fw_proto: str('^[a-zA-Z0-9]+$'),
    vm_fw_type: str('^(in|out)$'),
    vm_fw_log: optionalNullable(str('^[A-Za-z0-9_-]+$')),
    vm_fw_iface: optionalNullable(str('^[A-Za-z0-9_-]+$')),
    vm_fw_source: optionalNullable(str(CIDR)),
    vm_fw_dest: optionalNullable(str(CIDR)),
    vm_fw_sport: optionalNullable(str(PORTS)),
    vm_fw_comment: optionalNullable(str(FW_COMMENT)),
    vm_fw_pos: optionalNullable(int(0, 65535)),
  },
  { examples: [{ proxmox_node: 'px-testing', vm_id: '1000', vm_fw_action: 'ACCEPT', vm_fw_dport: '22', vm_fw_enable: 1, vm_fw_proto: 'tcp', vm_fw_type: 'in', vm_fw_comment: 'ssh' }] },
);
export const FwRuleDeleteRequest = vmBody({ vm_fw_pos: nullable(int(0, 65535)) }, { vm_fw_pos: 0 });
/** `proxmox_api_host` must name a configured Proxmox API host (checked by the plan): it never redirects the token. */
const API_HOST = str('^[A-Za-z0-9\\.:-]*$', { description: 'one of the Proxmox API hosts of the inventory or vault file (empty: the inventory\'s)' });
export const FwDcEnableRequest = body({ as_json: AsJson, ...UiExtras, proxmox_api_host: API_HOST }, { proxmox_api_host: '127.0.0.1:8006' });
export const FwDcDisableRequest = body(
  { proxmox_node: ProxmoxNode, as_json: AsJson, ...UiExtras, proxmox_api_host: API_HOST },
  { proxmox_node: 'px-testing', proxmox_api_host: '127.0.0.1:8006' },
);

const IFACE = '^[A-Za-z0-9._-]+$';
/** An empty MAC means "let Proxmox choose" (the deployer UI sends ""). */
const MAC = '^(?:(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2})?$';
export const NetVmAddRequest = Type.Object(
  {
    proxmox_node: ProxmoxNode,
    as_json: AsJson,
    ...UiExtras,
    vm_id: VmId,
    iface_model: nullable(str(IFACE), { examples: ['virtio'] }),
    iface_bridge: nullable(str(IFACE), { examples: ['vmbr0'] }),
    vm_vmnet_id: nullable(int(0, 31), { description: 'netN index (alias: iface_id)' }),
    iface_trunks: nullable(Type.Boolean()),
    iface_tag: nullable(int(1, 4094), { description: 'VLAN tag' }),
    iface_rate: nullable(num(0, 1_000_000), { description: 'MB/s' }),
    iface_queues: nullable(int(0, 64)),
    iface_mtu: nullable(int(1, 65520)),
    iface_macaddr: nullable(str(MAC), { description: 'alias: iface_mac; empty: Proxmox generates one' }),
    iface_link_down: nullable(Type.Boolean()),
    iface_firewall: nullable(Type.Boolean()),
  },
  {
    examples: [{ proxmox_node: 'px-testing', vm_id: '1000', iface_model: 'virtio', iface_bridge: 'vmbr0', vm_vmnet_id: 1, iface_firewall: true }],
  },
);
export const NetVmDeleteRequest = vmBody({ vm_vmnet_id: nullable(int(0, 31), { description: 'alias: iface_id' }) }, { vm_vmnet_id: 1 });
export const NetNodeAddRequest = nodeBody(
  {
    iface_name: nullable(str('^[a-zA-Z0-9._-]+$', { maxLength: 21 }), { description: 'Linux interface names have at most 21 characters in Proxmox VE (pve-iface)' }),
    iface_type: nullable(str('^[a-zA-Z]+$'), { examples: ['bridge'] }),
    iface_autostart: nullable(int(0, 1), { description: '1 or 0 (true/false accepted, as pydantic does)' }),
    bridge_ports: optionalNullable(str('^[a-zA-Z0-9._-]+$')),
    ip_address: optionalNullable(str(IPV4)),
    ip_netmask: optionalNullable(str(`${IPV4}|^\\/[0-9]{1,2}$`)),
    ip_gateway: optionalNullable(str(IPV4)),
    ovs_bridge: optionalNullable(str('^[a-zA-Z0-9._-]+$')),
    iface_address: optionalNullable(str('^(?:[0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}$'), null, { description: 'deployer UI: address/prefix' }),
    iface_comments: optionalNullable(str('^[^\\x00-\\x1f\\x7f]*$', { maxLength: LIMITS.text }), null, { description: 'deployer UI' }),
    apply: Type.Optional(Type.Boolean({
      default: true,
      description: 'apply the node network configuration at once (Proxmox stages it otherwise, and a VM cannot start on a bridge that is only staged); false: stage only',
    })),
  },
  { proxmox_node: 'px-testing', iface_name: 'vmbr150', iface_type: 'bridge', iface_autostart: 1, ip_address: '192.168.150.1', ip_netmask: '255.255.255.0' },
);
export const NetNodeDeleteRequest = nodeBody({ iface_name: nullable(str('^[a-zA-Z0-9._-]+$', { maxLength: 21 })) }, { proxmox_node: 'px-testing', iface_name: 'vmbr150' });

/** Printable ASCII: what a container root password may hold (Proxmox asks for at least 5 characters). */
const PASSWORD = '^[\\x20-\\x7e]*$';
const CT_TEMPLATE = '^[A-Za-z0-9._-]+:vztmpl/[A-Za-z0-9._-]+$';
const IP_OR_DHCP = '^(dhcp|(?:[0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2})$';
const SSH_KEYS = str('^[^\\x00-\\x08\\x0b-\\x1f\\x7f]*$', { maxLength: LIMITS.keys });
/** The network and DNS settings the upstream range42 role needs (it has no defaults for them). */
const lxcNetwork = {
  lxc_net_name: optionalNullable(str('^[A-Za-z0-9._-]+$', { maxLength: 21 }), null, { description: 'interface name in the container (eth0)' }),
  lxc_bridge: optionalNullable(str(IFACE)),
  lxc_ip: optionalNullable(str(IP_OR_DHCP)),
  lxc_gateway: optionalNullable(str(IPV4)),
  lxc_dns_primary: optionalNullable(str(IPV4)),
  lxc_dns_secondary: optionalNullable(str(IPV4)),
};

export const LxcCreateRequest = vmBody(
  {
    lxc_name: str('^[A-Za-z0-9-]+$', { ...DNS_LABEL, description: 'container hostname' }),
    lxc_template: optionalNullable(str(CT_TEMPLATE), null, { description: 'container template volume; when left out: LXC_DEFAULT_TEMPLATE, else the first container template on the node\'s storage' }),
    lxc_password: optionalNullable(str(PASSWORD, { maxLength: 128 }), null, { description: 'root password (never logged or stored)' }),
    lxc_ssh_pubkeys: optionalNullable(SSH_KEYS),
    lxc_cores: optionalNullable(int(1, 8192)),
    lxc_memory: optionalNullable(int(16, MAX_MEMORY_MIB, { description: 'MiB' })),
    proxmox_storage: optionalNullable(str('^[A-Za-z0-9-]+$')),
    lxc_disk_size: optionalNullable(int(1, MAX_DISK_GIB, { description: 'GiB' })),
    ...lxcNetwork,
  },
  { vm_id: '5100', lxc_name: 'ct-tools', lxc_template: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', lxc_cores: 1, lxc_memory: 512 },
);

/**
 * The deployer UI's container creation (`POST /lxc/create`): Proxmox's own parameter names.
 * `net0` is a Proxmox property string (name=eth0,bridge=vmbr0,ip=dhcp,gw=...).
 */
export const LxcCreateUiRequest = vmBody(
  {
    hostname: str('^[A-Za-z0-9-]+$', { ...DNS_LABEL, description: 'container hostname' }),
    ostemplate: optionalNullable(str(CT_TEMPLATE), null, {
      description: 'container template volume, e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst; when left out (a canvas container has no template): LXC_DEFAULT_TEMPLATE, else the first container template on the node\'s storage',
    }),
    cores: optionalNullable(int(1, 8192)),
    memory: optionalNullable(int(16, MAX_MEMORY_MIB, { description: 'MiB' })),
    swap: optionalNullable(int(0, MAX_MEMORY_MIB, { description: 'MiB' })),
    rootfs_size: optionalNullable(str('^[0-9]{1,6}[Gg]?$', { maxLength: 7, description: 'GiB, e.g. "8G"' })),
    net0: optionalNullable(str('^[A-Za-z0-9=,./:_-]*$', { maxLength: 512, description: 'Proxmox net0 property string' })),
    password: optionalNullable(str(PASSWORD, { maxLength: 128 }), null, { description: 'root password (never logged or stored)' }),
    ssh_public_keys: optionalNullable(SSH_KEYS),
    unprivileged: optionalNullable(Type.Boolean()),
    proxmox_storage: optionalNullable(str('^[A-Za-z0-9-]+$')),
  },
  { proxmox_node: 'px-testing', vm_id: 5101, hostname: 'ct-web', ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', cores: 1, memory: 512, rootfs_size: '8G', unprivileged: true },
);

