import type { ProxmoxClient } from './client.js';

/**
 * What the service reads from Proxmox itself to choose the right operation before anything runs:
 * what kind of guest an id is (`/cluster/resources`: QEMU VM or LXC container, its node
 * and name), a node's network interfaces, and its container templates. Pure reads over a
 * ProxmoxClient (the VM-name lookup's client, with its read retries); the caller maps failures.
 */

export type GuestKind = 'qemu' | 'lxc';

export interface GuestRef {
  vmid: number;
  kind: GuestKind;
  node: string;
  name: string;
}

interface ClusterResource {
  id?: string;
  type?: string;
  vmid?: number | string;
  node?: string;
  name?: string;
}

/**
 * Every guest of the cluster, VMs and containers, and the nodes that are offline, from one
 * `/cluster/resources` (any node of a cluster answers it, and still lists the guests of a node
 * that is down: the node's own entry says `offline`).
 */
export async function clusterGuests(client: ProxmoxClient): Promise<{ guests: GuestRef[]; offlineNodes: Set<string> }> {
  const rows = await client.get<Array<ClusterResource & { status?: string }>>('/cluster/resources');
  const guests: GuestRef[] = [];
  const offlineNodes = new Set<string>();
  for (const r of rows ?? []) {
    if (r.type === 'node' && r.status === 'offline') offlineNodes.add(String(r.node ?? ''));
    const vmid = Number(r.vmid);
    if ((r.type !== 'qemu' && r.type !== 'lxc') || !Number.isInteger(vmid)) continue;
    guests.push({ vmid, kind: r.type, node: String(r.node ?? ''), name: String(r.name ?? '') });
  }
  return { guests, offlineNodes };
}

/** One node interface as `GET /nodes/{node}/network` shows it (the staged configuration when there is one). */
export type NodeInterface = Record<string, unknown> & { iface: string; type?: string };

export function nodeInterfaces(client: ProxmoxClient, node: string): Promise<NodeInterface[]> {
  return client.get<NodeInterface[]>(`/nodes/${encodeURIComponent(node)}/network`);
}

/**
 * The container templates of a node: every `vztmpl` volume of every storage of the node that
 * holds templates, storages in Proxmox's order (by name), volumes by volume id.
 */
export async function containerTemplates(client: ProxmoxClient, node: string): Promise<string[]> {
  const n = encodeURIComponent(node);
  const storages = await client.get<Array<{ storage: string; enabled?: number; active?: number }>>(`/nodes/${n}/storage?content=vztmpl`);
  const out: string[] = [];
  for (const s of [...(storages ?? [])].sort((a, b) => a.storage.localeCompare(b.storage))) {
    if (s.enabled === 0 || s.active === 0) continue;
    const volumes = await client.get<Array<{ volid: string; content?: string }>>(`/nodes/${n}/storage/${encodeURIComponent(s.storage)}/content?content=vztmpl`);
    out.push(...(volumes ?? []).filter((v) => v.content === undefined || v.content === 'vztmpl').map((v) => v.volid).sort());
  }
  return out;
}
