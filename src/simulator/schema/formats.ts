/**
 * Named formats of pve-common's JSONSchema.pm that the simulated endpoints use. Each check returns
 * null when the value is fine, or the text PVE prints after `invalid format - `. Formats not listed
 * here are accepted as they are (lenient), e.g. pve-qm-* drive strings, which the handlers parse.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^(([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(([0-9a-f]{1,4}:){0,7}[0-9a-f]{0,4})?::(([0-9a-f]{1,4}:){0,7}[0-9a-f]{1,4})?)$/i;
const DNS_LABEL = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9\\-]*[a-zA-Z0-9])?)';
const DNS_NAME = new RegExp(`^(?:${DNS_LABEL}\\.)*${DNS_LABEL}$`);
const CONFIG_ID = /^[a-z][a-z0-9_-]+$/i;
const TAG = /^[a-z0-9_][a-z0-9_\-+.]*$/i;

const isCidr = (v: string, ip: RegExp, max: number) => {
  const [addr, mask, extra] = v.split('/');
  return extra === undefined && mask !== undefined && /^\d+$/.test(mask) && Number(mask) <= max && ip.test(addr!);
};

type Check = (v: string) => string | null;
const when = (ok: (v: string) => boolean, msg: (v: string) => string): Check => (v) => (ok(v) ? null : msg(v));
const list = (item: Check): Check => (v) => {
  for (const part of v.split(/[,;\s]+/).filter(Boolean)) {
    const err = item(part);
    if (err) return err;
  }
  return null;
};

const vmid = when((v) => /^\d+$/.test(v) && Number(v) >= 100, () => 'value does not look like a valid VM ID');
const configId = when((v) => CONFIG_ID.test(v), (v) => `invalid configuration ID '${v}'`);
const ipv4 = when((v) => IPV4.test(v), () => 'value does not look like a valid IPv4 address');
const ipv6 = when((v) => IPV6.test(v), () => 'value does not look like a valid IPv6 address');
const ip = when((v) => IPV4.test(v) || IPV6.test(v), () => 'value does not look like a valid IP address');
const cidr = when((v) => isCidr(v, IPV4, 32) || isCidr(v, IPV6, 128), () => 'value does not look like a valid CIDR network');

export const FORMATS: Record<string, Check> = {
  'pve-node': when((v) => /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v), () => 'value does not look like a valid node name'),
  'pve-vmid': vmid,
  'pve-vmid-list': list(vmid),
  'pve-storage-id': when((v) => /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v), (v) => `storage ID '${v}' contains illegal characters`),
  'pve-storage-id-list': list(when((v) => /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v), (v) => `storage ID '${v}' contains illegal characters`)),
  'pve-configid': configId,
  'pve-configid-list': list(configId),
  'pve-tag-list': list(when((v) => TAG.test(v), (v) => `invalid tag '${v}'`)),
  'dns-name': when((v) => DNS_NAME.test(v), () => 'value does not look like a valid DNS name'),
  'dns-name-list': list(when((v) => DNS_NAME.test(v), () => 'value does not look like a valid DNS name')),
  'mac-addr': when((v) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v) && (parseInt(v.slice(0, 2), 16) & 1) === 0, () => 'value does not look like a valid unicast MAC address'),
  'mac-prefix': when((v) => /^[0-9a-f]{2}(:[0-9a-f]{0,2}){0,2}:?$/i.test(v), () => 'value does not look like a valid unicast MAC address prefix'),
  'pve-bridge-id': when((v) => /^[-_.\w\d]+$/.test(v), (v) => `invalid bridge ID '${v}'`),
  'pve-iface': when((v) => /^[a-zA-Z][a-zA-Z0-9_.-]{1,20}$/.test(v), (v) => `invalid network interface name '${v}'`),
  'pve-iface-list': list(when((v) => /^[a-zA-Z][a-zA-Z0-9_.-]{1,20}$/.test(v), (v) => `invalid network interface name '${v}'`)),
  'pve-poolid': when((v) => /^[A-Za-z0-9_\-/]+$/.test(v), (v) => `invalid pool ID '${v}'`),
  'pve-realm': when((v) => /^[A-Za-z][A-Za-z0-9.\-_]+$/.test(v), (v) => `realm name '${v}' contains illegal characters`),
  'pve-userid': when((v) => /^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/.test(v), (v) => `invalid user ID '${v}'`),
  'pve-tokenid': when((v) => /^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+(![A-Za-z][A-Za-z0-9.\-_]+)?$/.test(v), (v) => `invalid token ID '${v}'`),
  'pve-volume-id': when((v) => /^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$/i.test(v), (v) => `unable to parse volume ID '${v}'`),
  'pve-volume-id-or-absolute-path': when((v) => v.startsWith('/') || /^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$/i.test(v), (v) => `unable to parse volume ID '${v}'`),
  urlencoded: when((v) => /^[-%a-zA-Z0-9_.!~*'()]*$/.test(v), (v) => `invalid urlencoded string: ${v}`),
  'email-opt': when((v) => /^[\w+\-~]+(\.[\w+\-~]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*$/.test(v), () => 'value does not look like a valid email address'),
  'disk-size': when((v) => /^\d+(\.\d+)?[KMGT]?$/.test(v), (v) => `unable to parse size '${v}'`),
  ipv4,
  ipv6,
  ip,
  address: ip,
  'address-list': list(ip),
  CIDR: cidr,
  IPorCIDR: (v) => (v.includes('/') ? cidr(v) : ip(v)),
  CIDRv4: when((v) => isCidr(v, IPV4, 32), () => 'value does not look like a valid IPv4 CIDR network'),
  CIDRv6: when((v) => isCidr(v, IPV6, 128), () => 'value does not look like a valid IPv6 CIDR network'),
  ipv4mask: when((v) => IPV4.test(v), () => 'value does not look like a valid IP netmask'),
  'pve-fw-addr-spec': when((v) => /^[+!]?[\w.:/,\-+]+$/.test(v), (v) => `invalid address '${v}'`),
  'pve-fw-dport-spec': when((v) => /^[\w:,\-]+$/.test(v), (v) => `invalid port '${v}'`),
  'pve-fw-sport-spec': when((v) => /^[\w:,\-]+$/.test(v), (v) => `invalid port '${v}'`),
  'pve-fw-protocol-spec': when((v) => /^[a-z0-9\-]+$/i.test(v), (v) => `unknown protocol '${v}'`),
};
