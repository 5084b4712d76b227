/**
 * Named formats of pve-common and the PVE packages (`register_format`): each check returns null
 * when the value is fine, else the text PVE dies with (trailing newline included).
 *
 * Named formats implemented (with PVE's messages): string, urlencoded, regex, pve-configid,
 * pve-storage-id, acme-plugin-id, pve-bridge-id, pve-vmid, pve-node, storage-pair, bridge-pair,
 * mac-addr, mac-prefix, ipv4, ipv6, ip, ipv4mask, CIDR, CIDRv4, CIDRv6, IPorCIDR, IPorCIDRorAlias,
 * pve-ipv4-config, pve-ipv6-config, email, email-or-username, dns-name, address, pve-iface,
 * pve-vlan-id-or-range, disk-size, pve-startup-order, pve-tag, pve-tfa-secret, pve-task-status-type,
 * ldap-simple-attr, pve-realm, pve-userid, pve-tokenid, pve-groupid, pve-roleid, pve-poolid,
 * pve-priv, pve-volume-id, pve-volume-id-or-absolute-path, pve-volume-id-or-qm-path,
 * pve-qm-bootdisk, pve-hotplug-features, pve-acme-domain, pve-acme-alias, pve-fw-addr-spec,
 * pve-fw-sport-spec, pve-fw-dport-spec, pve-fw-protocol-spec, pve-fw-icmp-type-spec, and the
 * property-string formats pve-qm-ipconfig and pve-qm-ide; plus their `-list` (split on `,` `;` and
 * spaces) and `-opt` (empty allowed) variants, e.g. pve-configid-list, pve-tag-list, dns-name-list,
 * string-list, email-opt, pve-vmid-list, pve-node-list, pve-storage-id-list, address-list.
 *
 * Lenient (accepted as they are, the schema dump does not describe them and the simulator does
 * not need them strict): pve-calendar-event, pve-replication-job-id, graphite-path,
 * backup-fleecing, backup-performance, prune-backups, pve-ha-resource-or-vm-id,
 * pve-ha-group-node, pve-storage-path-in-property-string, pve-sdn-* (vnet, zone, subnet,
 * controller, ipam, dns, dhcp-range, bgp-rt, isis-net), pve-cpuset, pve-qemu-sev-fmt, pve-qm-boot,
 * pve-qm-cicustom, pve-vm-cpu-conf, pve-qm-hostpci, pve-qm-rng, pve-qm-smbios1, pve-qm-watchdog,
 * proxmox-remote, pve-lxc-dev-string, pve-lxc-mp-string, lxc-ip-with-ll-iface, pve-ct-timezone,
 * pve-day-of-week, pve-storage-server, pve-storage-portal-dns, pve-storage-content,
 * pve-storage-path, pve-storage-options, pve-storage-vgname, pve-fw-conntrack-helper,
 * pem-certificate-chain, pem-string, pve-command-batch, pve-dir-override, realm-sync-options,
 * pve-tfa-config, and any other name not listed above.
 */

/** Perl truthiness of a scalar value (JSON booleans by their value). */
export const perlTrue = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== false && v !== '' && v !== '0' && v !== 0;

/** `split_list`: separators are `,`, `;` and whitespace (or NUL when present). */
export function splitList(text: string): string[] {
  if (text.includes('\0')) return text.split('\0');
  return text.replace(/[,;]/g, ' ').split(/\s+/).filter((v) => v !== '');
}

export type FormatCheck = (v: string) => string | null;

const IPV4OCTET = '(?:25[0-5]|(?:2[0-4]|1[0-9]|[1-9])?[0-9])';
const IPV4RE = `(?:(?:${IPV4OCTET}\\.){3}${IPV4OCTET})`;
const H16 = '(?:[0-9a-fA-F]{1,4})';
const LS32 = `(?:(?:${IPV4RE}|${H16}:${H16}))`;
const IPV6RE =
  '(?:' +
  `(?:(?:(?:${H16}:){6})${LS32})|` +
  `(?:(?:::(?:${H16}:){5})${LS32})|` +
  `(?:(?:(?:${H16})?::(?:${H16}:){4})${LS32})|` +
  `(?:(?:(?:(?:${H16}:){0,1}${H16})?::(?:${H16}:){3})${LS32})|` +
  `(?:(?:(?:(?:${H16}:){0,2}${H16})?::(?:${H16}:){2})${LS32})|` +
  `(?:(?:(?:(?:${H16}:){0,3}${H16})?::(?:${H16}:){1})${LS32})|` +
  `(?:(?:(?:(?:${H16}:){0,4}${H16})?::)${LS32})|` +
  `(?:(?:(?:(?:${H16}:){0,5}${H16})?::)${H16})|` +
  `(?:(?:(?:(?:${H16}:){0,6}${H16})?::)))`;
const END = '(?=\\n?$)';
const anchored = (re: string, flags = '') => new RegExp(`^${re}${END}`, flags);
const IPV4 = anchored(`(?:${IPV4RE})`);
const IPV6 = anchored(`(?:${IPV6RE})`);
const IP = anchored(`(?:(?:${IPV4RE})|(?:${IPV6RE}))`);
const CIDRV4 = new RegExp(`^(?:${IPV4RE})(?:/(\\d+))${END}`);
const CIDRV6 = new RegExp(`^(?:${IPV6RE})(?:/(\\d+))${END}`);
const EMAIL_USER_RE = '[\\w+\\-~]+(?:\\.[\\w+\\-~]+)*';
const EMAIL_RE = `${EMAIL_USER_RE}@[a-zA-Z0-9\\-]+(?:\\.[a-zA-Z0-9\\-]+)*`;
const DNS_LABEL = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9\\-]*[a-zA-Z0-9])?)';
const DNS_NAME = anchored(`(?:${DNS_LABEL}\\.)*${DNS_LABEL}`);
const CONFIGID = anchored('[a-z][a-z0-9_-]+', 'i');
const PVE_ID = anchored('[a-z][a-z0-9\\-_.]*[a-z0-9]', 'i');
const REALM_RE = '[A-Za-z][A-Za-z0-9.\\-_]+';
const USER_RE = '[^\\s:/]+';
const TAG = anchored('[a-z0-9_][a-z0-9_\\-+.]*', 'i');

const when = (ok: (v: string) => boolean, msg: (v: string) => string): FormatCheck => (v) => (ok(v) ? null : `${msg(v)}\n`);

const isCidrV4 = (v: string) => {
  const m = CIDRV4.exec(v);
  return !!m && Number(m[1]) > 7 && Number(m[1]) <= 32;
};
const isCidrV6 = (v: string) => {
  const m = CIDRV6.exec(v);
  return !!m && Number(m[1]) > 7 && Number(m[1]) <= 128;
};

const ipv4MaskBits = (mask: string): number | undefined => {
  if (!IPV4.test(mask)) return undefined;
  const bits = mask.replace(/\n$/, '').split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : undefined;
};

const verifyUsername = (username: string): string | null => {
  const len = [...username].length;
  if (len < 3) return `user name '${username}' is too short\n`;
  if (len > 64) return `user name '${username}' is too long (${len} > 64)\n`;
  return anchored(`(?:${USER_RE})@(?:${REALM_RE})`).test(username) ? null : `value '${username}' does not look like a valid user name\n`;
};

const parseVolumeId = when((v) => /^[a-z][a-z0-9\-_.]*[a-z0-9]:.+\n?$/i.test(v), (v) => `unable to parse volume ID '${v}'`);
const volumeIdOrAbsolutePath: FormatCheck = (v) => (v.startsWith('/') ? null : parseVolumeId(v));

/** `parse_idmap` for storage-pair / bridge-pair entries. */
const idPair = (idCheck: FormatCheck): FormatCheck => (entry) => {
  const problem = (() => {
    const parts = splitList(entry);
    let hasDefault = false;
    let identity = false;
    let mapped = false;
    const seen = new Set<string>();
    for (const part of parts) {
      if (part === '1') {
        identity = true;
        continue;
      }
      const m = /^([^:]+):([^:]+)$/.exec(part);
      if (m) {
        const err = idCheck(m[1]!) ?? idCheck(m[2]!);
        if (err) return `entry '${part}' contains invalid ID - ${err}\n`;
        if (seen.has(m[1]!)) return `duplicate mapping for source '${m[1]}'\n`;
        seen.add(m[1]!);
        mapped = true;
      } else {
        const err = idCheck(part);
        if (err) return `entry '${part}' contains invalid ID - ${err}\n`;
        if (hasDefault) return 'default target ID can only be provided once\n';
        hasDefault = true;
      }
    }
    if (identity && (hasDefault || mapped)) return 'identity mapping cannot be combined with other mappings\n';
    return null;
  })();
  return problem === null ? null : `${problem}\n`;
};

/** Net::IP->new() as pve-firewall uses it: addresses, prefixes (host bits must be zero) and ranges. */
function netIpError(elem: string): string | null {
  const toBits = (ip: string): string | undefined => {
    if (IPV4.test(ip)) return ip.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
    if (!IPV6.test(ip)) return undefined;
    let [head, tail] = ip.includes('::') ? (ip.split('::') as [string, string]) : [ip, undefined];
    const groups = (s: string) => (s ? s.split(':') : []);
    let v4: string[] = [];
    const last = (tail ?? head).split(':').pop() ?? '';
    if (last.includes('.')) {
      const bytes = last.split('.').map(Number);
      v4 = [((bytes[0]! << 8) | bytes[1]!).toString(16), ((bytes[2]! << 8) | bytes[3]!).toString(16)];
      if (tail !== undefined) tail = tail.slice(0, -last.length).replace(/:$/, '');
      else head = head.slice(0, -last.length).replace(/:$/, '');
    }
    const h = groups(head);
    const t = tail === undefined ? [] : groups(tail);
    const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length - v4.length).fill('0');
    return [...h, ...fill, ...t, ...v4].map((g) => parseInt(g, 16).toString(2).padStart(16, '0')).join('');
  };
  const range = /^([^-\s]+)\s*-\s*([^-\s]+)$/.exec(elem);
  if (range) {
    const [a, b] = [toBits(range[1]!), toBits(range[2]!)];
    if (a === undefined) return `Cannot determine IP version for ${range[1]}`;
    if (b === undefined || a.length !== b.length) return `Cannot determine IP version for ${range[2]}`;
    return a > b ? `Begin address is greater than End address ${range[1]} - ${range[2]}` : null;
  }
  const [addr, prefix, extra] = elem.split('/');
  const bits = toBits(addr!);
  if (bits === undefined || extra !== undefined) return `Cannot determine IP version for ${elem}`;
  if (prefix === undefined) return null;
  if (!/^\d+$/.test(prefix)) return `Invalid prefix length /${prefix}`;
  const len = Number(prefix);
  if (len > bits.length) return `Prefix length ${len} is longer than IP address (${bits.length})`;
  return /^0*$/.test(bits.slice(len)) ? null : `Invalid prefix ${bits}/${len}`;
}

const IP_ALIAS = anchored('[A-Za-z][A-Za-z0-9\\-_]+');

const IP_OR_CIDR = new RegExp(`^(?:${IPV6RE}|${IPV4RE})(?:/(\\d+))?${END}`);

const ipOrCidr: FormatCheck = (v) => {
  if (IP_OR_CIDR.test(v)) {
    const err = netIpError(v.replace(/\n$/, ''));
    return err === null ? null : `${err}\n`;
  }
  return 'value does not look like a valid IP address or CIDR network\n';
};

/** An alias as a rule references it: `name`, or scoped `dc/name` / `guest/name` (PVE 8). */
const SCOPED_IP_ALIAS = anchored('(?:(?:dc|guest)/)?([A-Za-z][A-Za-z0-9\\-_]+)');

/**
 * `parse_address_list` (pve-firewall): an ipset (`+name`, `+dc/name`, `+guest/name`), an alias
 * (`name`, `dc/name`, `guest/name`), or IPs/CIDRs/one range. Whether the ipset or alias exists is
 * checked by the rule handlers (`verify_rule`), not here.
 */
const fwAddrSpec: FormatCheck = (str) => {
  if (/^\+\S+$/.test(str)) return str.replace(/^\+(?:dc|guest)\//, '+').length > 65 ? 'ipset name too long\n' : null;
  const alias = SCOPED_IP_ALIAS.exec(str);
  if (alias) return alias[1]!.length > 64 ? 'alias name too long\n' : null;
  const elements = str.split(',');
  while (elements.length && elements[elements.length - 1] === '') elements.pop();
  if (str !== elements.join(',')) return 'extraneous commas in list\n';
  let version: number | undefined;
  let range = false;
  for (const elem of elements) {
    const err = netIpError(elem);
    if (err !== null) return `invalid IP address: ${err}\n`;
    if (elem.includes('-')) range = true;
    const v = IPV4.test(elem.split(/[/\s-]/)[0]!) ? 4 : 6;
    if (version && v !== version) return `detected mixed ipv4/ipv6 addresses in address list '${str}'\n`;
    version = v;
  }
  if (range && elements.length > 1) return "you can't use a range in a list\n";
  return null;
};

/** Service names of Debian's /etc/services most used in firewall rules. */
const SERVICES = new Set([
  'ftp-data', 'ftp', 'ssh', 'telnet', 'smtp', 'time', 'whois', 'tacacs', 'domain', 'bootps', 'bootpc', 'tftp', 'gopher', 'finger', 'http',
  'kerberos', 'pop3', 'sunrpc', 'auth', 'nntp', 'ntp', 'epmap', 'netbios-ns', 'netbios-dgm', 'netbios-ssn', 'imap2', 'snmp', 'snmp-trap',
  'bgp', 'irc', 'ldap', 'https', 'microsoft-ds', 'isakmp', 'submissions', 'syslog', 'printer', 'submission', 'ipp', 'ldaps', 'rsync',
  'ftps-data', 'ftps', 'telnets', 'imaps', 'pop3s', 'socks', 'openvpn', 'ms-sql-s', 'ms-sql-m', 'mysql', 'ms-wbt-server', 'nut',
  'svn', 'sip', 'sip-tls', 'xmpp-client', 'xmpp-server', 'postgresql', 'amqp', 'x11', 'nrpe', 'iax', 'radius', 'radius-acct', 'nfs',
  'zabbix-agent', 'zabbix-trapper', 'git', 'http-alt', 'webmin', 'mdns', 'l2f', 'pptp', 'rtsp', 'mongodb', 'redis', 'iscsi-target',
]);
/** /etc/protocols names and numbers (Debian netbase) plus `icmpv6`. */
const PROTOCOLS = new Set([
  'ip', 'hopopt', 'icmp', 'igmp', 'ggp', 'ipencap', 'st', 'tcp', 'egp', 'igp', 'pup', 'udp', 'hmp', 'xns-idp', 'rdp', 'iso-tp4', 'dccp',
  'xtp', 'ddp', 'idpr-cmtp', 'ipv6', 'ipv6-route', 'ipv6-frag', 'idrp', 'rsvp', 'gre', 'esp', 'ah', 'skip', 'ipv6-icmp', 'ipv6-nonxt',
  'ipv6-opts', 'rspf', 'vmtp', 'eigrp', 'ospf', 'ax.25', 'ipip', 'etherip', 'encap', 'pim', 'ipcomp', 'vrrp', 'l2tp', 'isis', 'sctp', 'fc',
  'mobility-header', 'udplite', 'mpls-in-ip', 'manet', 'hip', 'shim6', 'wesp', 'rohc', 'ethernet', 'icmpv6',
  ...[0, 1, 2, 3, 4, 5, 6, 8, 9, 12, 17, 20, 22, 27, 29, 33, 36, 37, 39, 41, 43, 44, 45, 46, 47, 50, 51, 57, 58, 59, 60, 73, 81, 88, 89,
    93, 94, 97, 98, 103, 108, 112, 115, 124, 132, 133, 135, 136, 137, 138, 139, 140, 141, 142, 143].map(String),
]);
const ICMP_TYPES = new Set([
  'any', 'echo-reply', 'destination-unreachable', 'network-unreachable', 'host-unreachable', 'protocol-unreachable', 'port-unreachable',
  'fragmentation-needed', 'source-route-failed', 'network-unknown', 'host-unknown', 'network-prohibited', 'host-prohibited',
  'TOS-network-unreachable', 'TOS-host-unreachable', 'communication-prohibited', 'host-precedence-violation', 'precedence-cutoff',
  'source-quench', 'redirect', 'network-redirect', 'host-redirect', 'TOS-network-redirect', 'TOS-host-redirect', 'echo-request',
  'router-advertisement', 'router-solicitation', 'time-exceeded', 'ttl-zero-during-transit', 'ttl-zero-during-reassembly',
  'parameter-problem', 'ip-header-bad', 'required-option-missing', 'timestamp-request', 'timestamp-reply', 'address-mask-request',
  'address-mask-reply',
]);
const ICMPV6_TYPES = new Set([
  'destination-unreachable', 'no-route', 'communication-prohibited', 'beyond-scope', 'address-unreachable', 'port-unreachable',
  'failed-policy', 'reject-route', 'packet-too-big', 'time-exceeded', 'ttl-zero-during-transit', 'ttl-zero-during-reassembly',
  'parameter-problem', 'bad-header', 'unknown-header-type', 'unknown-option', 'echo-request', 'echo-reply', 'router-solicitation',
  'router-advertisement', 'neighbor-solicitation', 'neighbour-solicitation', 'neighbor-advertisement', 'neighbour-advertisement', 'redirect',
]);

/** `parse_port_name_number_or_range` (pve-firewall). */
const fwPortSpec = (dport: boolean): FormatCheck => (str) => {
  const elements = str.split(',');
  while (elements.length && elements[elements.length - 1] === '') elements.pop();
  if (str !== elements.join(',')) return 'extraneous commas in list\n';
  let count = 0;
  let icmp = false;
  for (const item of elements) {
    const range = /^([0-9]+):([0-9]+)$/.exec(item);
    if (range) {
      count += 2;
      const [p1, p2] = [Number(range[1]), Number(range[2])];
      if (p1 > 65535) return `invalid port '${range[1]}'\n`;
      if (p2 > 65535) return `invalid port '${range[2]}'\n`;
      if (p1 > p2) return `backwards range '${range[1]}:${range[2]}' not allowed, did you mean '${range[2]}:${range[1]}'?\n`;
    } else if (/^[0-9]+$/.test(item)) {
      count += 1;
      if (Number(item) > 65535) return `invalid port '${item}'\n`;
    } else if (dport && (ICMP_TYPES.has(item) || ICMPV6_TYPES.has(item))) {
      icmp = true;
    } else if (!SERVICES.has(item)) {
      return `invalid port '${item}'\n`;
    }
  }
  if (icmp && count > 0) return 'ICMP ports not allowed in port range\n';
  if (count > 15) return 'too many entries in port list (> 15 numbers)\n';
  return null;
};

/** `pve_parse_startup_order`. */
const startupOrder: FormatCheck = (value) => {
  if (!perlTrue(value)) return 'unable to parse startup options\n';
  for (const p of value.split(',')) {
    if (/^\s*$/.test(p)) continue;
    if (!/^(?:(?:order=)?\d+|up=\d+|down=\d+)\n?$/.test(p)) return 'unable to parse startup options\n';
  }
  return null;
};

/** `pve_verify_vlan_id_or_range`. */
const vlanIdOrRange: FormatCheck = (vlan) => {
  const m = /^(\d+)(?:-(\d+))?\n?$/.exec(vlan);
  if (!m) return `invalid VLAN configuration '${vlan}'\n`;
  const [start, end] = [m[1]!, m[2]];
  const bad = (tag: string) => Number(tag) < 2 || Number(tag) > 4094;
  if (bad(start)) return `invalid VLAN tag '${start}'\n`;
  if (end && perlTrue(end)) {
    if (bad(end)) return `invalid VLAN tag '${end}'\n`;
    if (Number(start) >= Number(end)) return `VLAN range must go from lower to higher tag '${vlan}'\n`;
  }
  return null;
};

/** `is_valid_drivename` (tpmstate0 excluded). */
const DRIVE_NAME = /^(?:ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5])|efidisk0)$/;
const HOTPLUG = new Set(['network', 'disk', 'cpu', 'memory', 'usb', 'cloudinit']);

/** Privileges of PVE 8.4 (pve-access-control `$privgroups`). */
const PRIVILEGES = new Set([
  'Datastore.Allocate', 'Datastore.AllocateSpace', 'Datastore.AllocateTemplate', 'Datastore.Audit', 'Group.Allocate', 'Mapping.Audit',
  'Mapping.Modify', 'Mapping.Use', 'Permissions.Modify', 'Pool.Allocate', 'Pool.Audit', 'Realm.Allocate', 'Realm.AllocateUser',
  'SDN.Allocate', 'SDN.Audit', 'SDN.Use', 'Sys.AccessNetwork', 'Sys.Audit', 'Sys.Console', 'Sys.Incoming', 'Sys.Modify', 'Sys.PowerMgmt',
  'Sys.Syslog', 'User.Modify', 'VM.Allocate', 'VM.Audit', 'VM.Backup', 'VM.Clone', 'VM.Config.CDROM', 'VM.Config.CPU',
  'VM.Config.Cloudinit', 'VM.Config.Disk', 'VM.Config.HWType', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.Options',
  'VM.Console', 'VM.Migrate', 'VM.Monitor', 'VM.PowerMgmt', 'VM.Snapshot', 'VM.Snapshot.Rollback',
]);

const storageId = when((v) => PVE_ID.test(v), (v) => `storage ID '${v}' contains illegal characters`);
const bridgeId = when((v) => /^[-_.\w]+\n?$/.test(v), (v) => `invalid bridge ID '${v}'`);

/** Code-registered formats (`register_format(name, \&sub)`). */
export const FORMATS: Readonly<Record<string, FormatCheck>> = {
  string: () => null,
  urlencoded: when((v) => /^[-%a-zA-Z0-9_.!~*'()]*\n?$/.test(v), (v) => `invalid urlencoded string: ${v}`),
  'pve-configid': when((v) => CONFIGID.test(v), (v) => `invalid configuration ID '${v}'`),
  'pve-storage-id': storageId,
  'acme-plugin-id': when((v) => PVE_ID.test(v), (v) => `ACME plugin ID '${v}' contains illegal characters`),
  'pve-bridge-id': bridgeId,
  'pve-vmid': when((v) => /^[1-9][0-9]{2,8}\n?$/.test(v), () => 'value does not look like a valid VM ID'),
  'pve-node': when((v) => /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)\n?$/.test(v), () => 'value does not look like a valid node name'),
  'storage-pair': idPair(storageId),
  'bridge-pair': idPair(bridgeId),
  'mac-addr': when((v) => /^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}\n?$/i.test(v), () => 'value does not look like a valid unicast MAC address'),
  'mac-prefix': when((v) => /^[a-f0-9][02468ace](?::[a-f0-9]{2}){0,2}:?\n?$/i.test(v), () => 'value is not a valid unicast MAC address prefix'),
  ipv4: when((v) => IPV4.test(v), () => 'value does not look like a valid IPv4 address'),
  ipv6: when((v) => IPV6.test(v), () => 'value does not look like a valid IPv6 address'),
  ip: when((v) => IP.test(v), () => 'value does not look like a valid IP address'),
  'ldap-simple-attr': when((v) => /^[a-zA-Z0-9]+\n?$/.test(v), (v) => `value '${v}' does not look like a simple ldap attribute name`),
  ipv4mask: when((v) => ipv4MaskBits(v) !== undefined, () => 'value does not look like a valid IP netmask'),
  CIDRv6: when(isCidrV6, () => 'value does not look like a valid IPv6 CIDR network'),
  CIDRv4: when(isCidrV4, () => 'value does not look like a valid IPv4 CIDR network'),
  CIDR: when((v) => isCidrV4(v) || isCidrV6(v), () => 'value does not look like a valid CIDR network'),
  'pve-ipv4-config': when((v) => /^(?:dhcp|manual)\n?$/.test(v) || isCidrV4(v), () => 'value does not look like a valid ipv4 network configuration'),
  'pve-ipv6-config': when((v) => /^(?:auto|dhcp|manual)\n?$/.test(v) || isCidrV6(v), () => 'value does not look like a valid ipv6 network configuration'),
  email: when((v) => anchored(EMAIL_RE).test(v), () => 'value does not look like a valid email address'),
  'email-or-username': when((v) => anchored(EMAIL_RE).test(v) || anchored(EMAIL_USER_RE).test(v), () => 'value does not look like a valid email address or user name'),
  'dns-name': when((v) => DNS_NAME.test(v), () => 'value does not look like a valid DNS name'),
  'pve-iface': when((v) => /^[a-z][a-z0-9_]{1,20}(?:[:.]\d+)?\n?$/i.test(v), (v) => `invalid network interface name '${v}'`),
  'pve-vlan-id-or-range': vlanIdOrRange,
  address: when((v) => IP.test(v) || DNS_NAME.test(v), (v) => `value does not look like a valid address: ${v}`),
  'disk-size': when((v) => /^\d+(?:\.\d+)?[KMGT]?\n?$/.test(v), (v) => `value does not look like a valid disk size: ${v}`),
  'pve-startup-order': startupOrder,
  'pve-tag': when((v) => TAG.test(v), () => 'invalid characters in tag'),
  'pve-tfa-secret': when(
    (v) => /^v2-0x[0-9a-fA-F]{16,128}\n?$/.test(v) || /^v2-[A-Z2-7=]{16,128}\n?$/.test(v) || /^(?:[A-Z2-7=]{16}|[A-Fa-f0-9]{40})\n?$/.test(v),
    () => 'unable to decode TFA secret',
  ),
  'pve-task-status-type': when((v) => /^(?:ok|error|warning|unknown)\n?$/i.test(v), (v) => `invalid status '${v}'`),
  // pve-firewall
  IPorCIDR: ipOrCidr,
  IPorCIDRorAlias: (v) => (IP_ALIAS.test(v) ? null : ipOrCidr(v)),
  'pve-fw-addr-spec': fwAddrSpec,
  'pve-fw-sport-spec': fwPortSpec(false),
  'pve-fw-dport-spec': fwPortSpec(true),
  'pve-fw-protocol-spec': (v) => (perlTrue(v) && !PROTOCOLS.has(v) ? `unknown protocol '${v}'\n` : null),
  'pve-fw-icmp-type-spec': (v) => (ICMP_TYPES.has(v) || ICMPV6_TYPES.has(v) || v === '' ? null : `invalid icmp-type value '${v}'\n`),
  // pve-access-control
  'pve-realm': when((v) => anchored(REALM_RE).test(v), () => 'value does not look like a valid realm'),
  'pve-userid': verifyUsername,
  'pve-tokenid': when((v) => anchored(`(?:(?:${USER_RE})@(?:${REALM_RE}))!(?:${REALM_RE})`).test(v), (v) => `value '${v}' does not look like a valid token ID`),
  'pve-groupid': when((v) => /^[A-Za-z0-9.\-_]+\n?$/.test(v), (v) => `group name '${v}' contains invalid characters`),
  'pve-roleid': when((v) => /^[A-Za-z0-9.\-_]+\n?$/.test(v), (v) => `role name '${v}' contains invalid characters`),
  'pve-poolid': when((v) => /^[A-Za-z0-9.\-_]+(?:\/[A-Za-z0-9.\-_]+){0,2}\n?$/.test(v), (v) => `pool name '${v}' contains invalid characters`),
  'pve-priv': when((v) => PRIVILEGES.has(v), (v) => `invalid privilege '${v}'`),
  // pve-storage, qemu-server
  'pve-volume-id': parseVolumeId,
  'pve-volume-id-or-absolute-path': volumeIdOrAbsolutePath,
  'pve-volume-id-or-qm-path': (v) => (v === 'none' || v === 'cdrom' ? null : volumeIdOrAbsolutePath(v)),
  'pve-qm-bootdisk': when((v) => DRIVE_NAME.test(v), (v) => `invalid boot disk '${v}'`),
  'pve-hotplug-features': (v) => {
    if (v === '0' || v === '1') return null;
    for (const feature of splitList(v)) if (!HOTPLUG.has(feature)) return `invalid hotplug feature '${feature}'\n`;
    return null;
  },
  // pve-manager
  'pve-acme-domain': when((v) => /^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)+\n?$/i.test(v), (v) => `value '${v}' does not look like a valid domain name!`),
  'pve-acme-alias': when((v) => /^[a-z0-9_][a-z0-9_-]*(?:\.[a-z0-9_][a-z0-9_-]*)+\n?$/i.test(v), (v) => `value '${v}' does not look like a valid alias name!`),
};
