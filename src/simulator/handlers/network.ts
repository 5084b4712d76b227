import { paramError } from '../errors.js';
import type { NetworkInterface, NodeState } from '../model/types.js';
import { listParam } from './cluster.js';
import { Envelope, str, who, type Ctx, type Register } from './types.js';

/**
 * Node network configuration (pve-manager API2/Network.pm): edits go to a pending copy
 * (`interfaces.new`), reported through the envelope's `changes`, until `PUT` applies them.
 */

const CONTROL = new Set(['node', 'iface', 'type', 'delete', 'digest']);

function render(list: NetworkInterface[]): string {
  return list.map((i) => {
    const lines = [`iface ${i.iface} inet ${String(i.method ?? 'manual')}`];
    for (const [k, v] of Object.entries(i)) {
      if (['iface', 'type', 'method', 'families', 'active', 'exists', 'priority', 'method6'].includes(k) || v === undefined) continue;
      lines.push(`\t${k} ${Array.isArray(v) ? v.join(' ') : String(v)}`);
    }
    return lines.join('\n');
  }).join('\n\n');
}

/** A unified-diff-looking text of what would change, as `diff -u interfaces interfaces.new`. */
function changes(node: NodeState): string | undefined {
  if (!node.pendingNetwork) return undefined;
  const before = render(node.network).split('\n');
  const after = render(node.pendingNetwork).split('\n');
  const removed = before.filter((l) => !after.includes(l)).map((l) => `-${l}`);
  const added = after.filter((l) => !before.includes(l)).map((l) => `+${l}`);
  if (!removed.length && !added.length) return undefined;
  return `--- /etc/network/interfaces\n+++ /etc/network/interfaces.new\n${[...removed, ...added].join('\n')}\n`;
}

/** `255.255.255.0` → 24 (pve-common JSONSchema `get_netmask_bits`); a prefix length stays as it is. */
function netmaskBits(netmask: string): number | undefined {
  if (/^\d+$/.test(netmask)) return Number(netmask);
  const octets = netmask.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return undefined;
  const bits = octets.reduce((n, o) => n * 256 + o, 0).toString(2).padStart(32, '0');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') < 0 ? 32 : bits.indexOf('0') : undefined;
}

/**
 * The address as PVE reads it back from /etc/network/interfaces (pve-common INotify.pm
 * `read_etc_network_interfaces`): `cidr` is `address/<prefix length>` and `netmask` the prefix
 * length, whether the netmask was given dotted or as bits; an address without one is a /32.
 */
function applyAddress(i: NetworkInterface, params: Record<string, unknown>): void {
  const cidr = str(params, 'cidr');
  if (cidr !== undefined) {
    const [address, netmask] = cidr.split('/');
    i.address = address!;
    i.netmask = netmask!;
  }
  if (i.address !== undefined) {
    const bits = i.netmask !== undefined ? netmaskBits(String(i.netmask)) : undefined;
    if (bits !== undefined) {
      i.netmask = String(bits);
      i.cidr = `${String(i.address)}/${bits}`;
    } else i.cidr = `${String(i.address)}/32`;
  }
  i.method = i.address !== undefined ? 'static' : 'manual';
  i.families = ['inet'];
  if (typeof i.bridge_vids === 'string') i.bridge_vids = i.bridge_vids.split(/[,;\s]+/).join(' ');
}

export function registerNetwork(on: Register): void {
  const node = (ctx: Ctx) => ctx.cluster.node(str(ctx.params, 'node')!);
  const pending = (n: NodeState) => (n.pendingNetwork ??= structuredClone(n.network));

  on('GET', '/nodes/{node}/network', (ctx) => {
    const n = node(ctx);
    const list = n.pendingNetwork ?? n.network;
    const type = str(ctx.params, 'type');
    const shown = list.filter((i) => !type || i.type === type || (type.startsWith('any_') && /bridge/i.test(i.type)));
    const diff = changes(n);
    return diff ? new Envelope(shown, { changes: diff }) : shown;
  });

  on('GET', '/nodes/{node}/network/{iface}', (ctx) => {
    const n = node(ctx);
    const i = (n.pendingNetwork ?? n.network).find((x) => x.iface === str(ctx.params, 'iface'));
    if (!i) throw paramError({ iface: 'interface does not exist' });
    return { ...i, method: i.method ?? 'manual' };
  });

  on('POST', '/nodes/{node}/network', (ctx) => {
    const n = node(ctx);
    const list = pending(n);
    const name = str(ctx.params, 'iface')!;
    if (list.some((i) => i.iface === name)) throw paramError({ iface: 'interface already exists' });
    const iface: NetworkInterface = { iface: name, type: str(ctx.params, 'type')! };
    for (const [k, v] of Object.entries(ctx.params)) if (!CONTROL.has(k) && v !== undefined) iface[k] = v as string;
    if (iface.type === 'bridge') iface.bridge_fd ??= '0';
    if (iface.type === 'bridge') iface.bridge_stp ??= 'off';
    applyAddress(iface, ctx.params);
    list.push(iface);
    return null;
  });

  on('PUT', '/nodes/{node}/network/{iface}', (ctx) => {
    const n = node(ctx);
    const list = pending(n);
    const i = list.find((x) => x.iface === str(ctx.params, 'iface'));
    if (!i) throw paramError({ iface: 'interface does not exist' });
    for (const [k, v] of Object.entries(ctx.params)) if (!CONTROL.has(k) && v !== undefined) i[k] = v as string;
    for (const k of listParam(ctx.params.delete)) delete i[k];
    applyAddress(i, ctx.params);
    return null;
  });

  on('DELETE', '/nodes/{node}/network/{iface}', (ctx) => {
    const n = node(ctx);
    const list = pending(n);
    const at = list.findIndex((x) => x.iface === str(ctx.params, 'iface'));
    if (at < 0) throw paramError({ iface: 'interface does not exist' });
    list.splice(at, 1);
    return null;
  });

  on('PUT', '/nodes/{node}/network', (ctx) => {
    const n = node(ctx);
    return ctx.tasks.start({
      node: n.name, type: 'srvreload', id: 'networking', user: who(ctx),
      work: (log) => {
        if (n.pendingNetwork) {
          n.network = n.pendingNetwork.map((i) => ({ ...i, active: 1, ...(i.type === 'eth' ? { exists: 1 } : {}), autostart: 1 }));
          n.pendingNetwork = null;
        }
        log('ifreload -a: done');
      },
    });
  });

  on('DELETE', '/nodes/{node}/network', (ctx) => {
    node(ctx).pendingNetwork = null;
    return null;
  });

  on('GET', '/nodes/{node}/sdn/zones', (ctx) => {
    node(ctx);
    return [{ zone: 'localnetwork', status: 'available' }];
  });
}
