import type { Cluster } from '../model/cluster.js';
import type { Guest } from '../model/types.js';
import { keyFormat } from './guest-config.js';
import { parsePropertyString } from '../schema/property-string.js';

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

export function bridgeExists(cluster: Cluster, node: string, bridge: string): boolean {
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
