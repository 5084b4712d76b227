import { createHash, randomBytes } from 'node:crypto';
import { fail, noConfig, PveError } from '../errors.js';
import type { Guest, GuestType, NodeState, SimState, StorageConfig, Volume } from './types.js';

/**
 * The simulated cluster: state plus the lookups and rules every handler shares. Handlers never
 * touch HTTP; they read and change this object and throw `PveError`s.
 */
export class Cluster {
  constructor(public state: SimState) {}

  // ---- nodes -------------------------------------------------------------------------------

  /** A node for a `/nodes/{node}/...` call: unknown names fail like PVE's hostname lookup. */
  node(name: string): NodeState {
    const node = this.state.nodes.find((n) => n.name === name);
    if (!node) {
      throw fail(`hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known`);
    }
    // PVE proxies the call to the node; an unreachable node surfaces as AnyEvent's 595.
    if (!node.online) throw new PveError(595, 'No route to host');
    return node;
  }

  findNode(name: string): NodeState | undefined {
    return this.state.nodes.find((n) => n.name === name);
  }

  // ---- guests ------------------------------------------------------------------------------

  guest(vmid: number): Guest | undefined {
    return this.state.guests.find((g) => g.vmid === vmid);
  }

  /**
   * The guest as the `qemu` or `lxc` API of `node` sees it: the one whose config file
   * (`nodes/<node>/qemu-server/<vmid>.conf` or `nodes/<node>/lxc/<vmid>.conf`) exists. A guest of
   * the other type, or on another node, has no such file: to that API it is a missing guest, with
   * the missing guest's errors (qemu-server and pve-container only ever load their own config
   * files). Every guest verb looks its guest up here (or through requireGuest).
   */
  guestOf(node: string, vmid: number, type: GuestType): Guest | undefined {
    const g = this.guest(vmid);
    return g && g.node === node && g.type === type ? g : undefined;
  }

  /** The guest whose config lives on `node` (guestOf), or PVE's "does not exist" 500. */
  requireGuest(node: string, vmid: number, type: GuestType): Guest {
    const g = this.guestOf(node, vmid, type);
    if (!g) throw noConfig(node, vmid, type);
    return g;
  }

  guestsOf(node: string, type?: GuestType): Guest[] {
    return this.state.guests.filter((g) => g.node === node && (!type || g.type === type)).sort((a, b) => a.vmid - b.vmid);
  }

  addGuest(guest: Guest): void {
    this.state.guests.push(guest);
  }

  removeGuest(vmid: number): void {
    this.state.guests = this.state.guests.filter((g) => g.vmid !== vmid);
    for (const list of Object.values(this.state.volumes)) {
      for (let i = list.length - 1; i >= 0; i--) if (list[i]!.vmid === vmid) list.splice(i, 1);
    }
  }

  /** `/cluster/nextid`: the lowest free id from 100 (datacenter `next-id` lower bound if set). */
  nextId(): number {
    const used = new Set(this.state.guests.map((g) => g.vmid));
    let id = lowerBound(this.state.options['next-id']);
    while (used.has(id)) id++;
    return id;
  }

  /** Throws PVE's lock error when a guest is locked (`suspended` is allowed where `allowSuspended`). */
  assertUnlocked(g: Guest, allowSuspended = false): void {
    const lock = g.config.lock;
    if (lock !== undefined && !(allowSuspended && lock === 'suspended')) {
      throw fail(`${g.type === 'qemu' ? 'VM' : 'CT'} is locked (${lock})`);
    }
  }

  /** The SHA1 PVE prints as `digest`: of the config file text, so any change changes it. */
  digest(g: Guest): string {
    const h = createHash('sha1');
    h.update(JSON.stringify([g.config, g.pending, g.pendingDelete, g.snapshots.map((s) => [s.name, s.config])]));
    return h.digest('hex');
  }

  // ---- network identities --------------------------------------------------------------------

  /** A fresh MAC with the datacenter prefix (Proxmox's OUI `BC:24:11` by default). */
  newMac(): string {
    const prefix = String(this.state.options.mac_prefix ?? 'BC:24:11').toUpperCase();
    const parts = prefix.split(':').filter(Boolean);
    const bytes = randomBytes(6 - parts.length);
    return [...parts, ...[...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, '0'))].join(':');
  }

  // ---- storage -----------------------------------------------------------------------------

  storage(id: string): StorageConfig | undefined {
    return this.state.storages.find((s) => s.storage === id);
  }

  /** A storage as seen from a node: unknown or not available there → PVE's error. */
  requireStorage(node: string, id: string): StorageConfig {
    const s = this.storage(id);
    if (!s) throw fail(`storage '${id}' does not exist`);
    if (s.nodes && !s.nodes.split(',').includes(node)) throw fail(`storage '${id}' is not available on node '${node}'`);
    return s;
  }

  volumes(node: string, storage: string): Volume[] {
    const s = this.storage(storage);
    const key = s?.shared ? storage : `${node}/${storage}`;
    let list = this.state.volumes[key];
    if (!list) {
      list = [];
      this.state.volumes[key] = list;
    }
    return list;
  }

  findVolume(node: string, volid: string): Volume | undefined {
    const storage = volid.split(':', 1)[0]!;
    if (!this.storage(storage)) return undefined;
    return this.volumes(node, storage).find((v) => v.volid === volid);
  }

  usedBytes(node: string, storage: string): number {
    return this.volumes(node, storage).reduce((sum, v) => sum + v.size, 0);
  }
}

function lowerBound(nextIdOption: unknown): number {
  const m = typeof nextIdOption === 'string' ? /lower=(\d+)/.exec(nextIdOption) : null;
  return m ? Number(m[1]) : 100;
}

