import type { Cluster } from '../model/cluster.js';
import type { Guest } from '../model/types.js';
import { keyFormat } from './guest-config.js';
import { parsePropertyString } from '../schema/validate.js';

/**
 * What a guest's NICs attach to on its node. A bridge exists once the node's *applied* network
 * configuration has it (a bridge still in `interfaces.new` does not exist in the kernel yet).
 */

const BRIDGE_TYPES = new Set(['bridge', 'OVSBridge']);

export interface Nic {
  key: string;
  values: Record<string, string>;
}

/** The guest's `netN` entries as a starting guest sees them (pending values applied). */
export function nics(g: Guest): Nic[] {
  const config = { ...g.config, ...g.pending };
  for (const k of g.pendingDelete) delete config[k];
  return Object.keys(config)
    .filter((k) => /^net\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))
    .map((key) => ({ key, values: parsePropertyString(keyFormat(g.type, key)!, String(config[key])) }));
}

function bridgeExists(cluster: Cluster, node: string, bridge: string): boolean {
  return !!cluster.findNode(node)?.network.some((i) => i.iface === bridge && BRIDGE_TYPES.has(i.type));
}

/** The first NIC whose bridge is missing on the guest's node, if any (a NIC without bridge is QEMU user networking). */
export function nicWithMissingBridge(cluster: Cluster, g: Guest): (Nic & { bridge: string }) | undefined {
  for (const nic of nics(g)) {
    const bridge = nic.values.bridge;
    if (bridge !== undefined && !bridgeExists(cluster, g.node, bridge)) return { ...nic, bridge };
  }
  return undefined;
}

interface IpAddress {
  'ip-address-type': 'inet' | 'inet6';
  'ip-address': string;
  prefix: number;
}

function ifaceEntry(name: string, mac: string, addresses: IpAddress[]) {
  const entry: Record<string, unknown> = { name };
  // The old single-address keys hold the last address of each family, as pve-container fills them.
  for (const a of addresses) entry[a['ip-address-type']] = `${a['ip-address']}/${a.prefix}`;
  return { ...entry, 'ip-addresses': addresses, 'hardware-address': mac, hwaddr: mac };
}

/** A container's interfaces as `ip --json a` lists them: `lo`, then each NIC with its static addresses. */
export function containerInterfaces(g: Guest) {
  const out = [ifaceEntry('lo', '00:00:00:00:00:00', [
    { 'ip-address-type': 'inet', 'ip-address': '127.0.0.1', prefix: 8 },
    { 'ip-address-type': 'inet6', 'ip-address': '::1', prefix: 128 },
  ])];
  for (const nic of nics(g)) {
    const addresses: IpAddress[] = [];
    for (const [key, family] of [['ip', 'inet'], ['ip6', 'inet6']] as const) {
      const m = /^([^/]+)\/(\d+)$/.exec(nic.values[key] ?? '');
      if (m) addresses.push({ 'ip-address-type': family, 'ip-address': m[1]!, prefix: Number(m[2]) });
    }
    out.push(ifaceEntry(nic.values.name ?? `eth${nic.key.slice(3)}`, (nic.values.hwaddr ?? '').toLowerCase(), addresses));
  }
  return out;
}
