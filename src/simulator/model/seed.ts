import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Guest, NodeState, SimState, Volume } from './types.js';
import { driveSize, hasCdromMedia, isVolumeKey, sizeOption, volidOf } from './drives.js';

/** The demo cluster shipped with the simulator; `--seed FILE` replaces it. */
export const DEFAULT_SEED_FILE = fileURLToPath(new URL('../seed.json', import.meta.url));

type Partial1<T> = { [K in keyof T]?: T[K] };
type SeedGuest = Partial1<Guest> & Pick<Guest, 'vmid' | 'type' | 'node' | 'config'>;
type SeedNode = Partial1<NodeState> & Pick<NodeState, 'name'>;
export type Seed = Partial1<Omit<SimState, 'guests' | 'nodes'>> & { guests?: SeedGuest[]; nodes?: SeedNode[] };

export function readSeed(file = DEFAULT_SEED_FILE): SimState {
  return normalizeState(JSON.parse(readFileSync(file, 'utf8')) as Seed);
}

/**
 * Fills in what a seed may leave out, so that a hand-written seed and a persisted state load the
 * same way. Disks named in guest configs are registered as volumes of their storage.
 */
export function normalizeState(seed: Seed, now = Date.now()): SimState {
  const nodes = (seed.nodes ?? [{ name: 'pve' }]).map((n): NodeState => ({
    online: true,
    cpus: 8,
    memory: 32 * 1024 ** 3,
    bootedAt: now - 86_400_000,
    network: [],
    pendingNetwork: null,
    firewall: { options: {}, rules: [] },
    ...n,
  }));
  const guests = (seed.guests ?? []).map((g): Guest => {
    const status = g.status ?? 'stopped';
    return {
      pending: {},
      pendingDelete: [],
      snapshots: [],
      status,
      qmpstatus: status,
      // A seeded running guest has been up for a while already (0.5 to 3.5 hours).
      startedAt: status === 'running' ? now - Math.round((0.5 + (g.vmid % 7) / 2) * 3_600_000) : null,
      firewall: { options: {}, rules: [], aliases: [] },
      ...g,
    };
  });
  const state: SimState = {
    clusterName: seed.clusterName ?? 'range42-sim',
    options: { ...(seed.options ?? {}) },
    users: seed.users ?? [],
    groups: seed.groups ?? [],
    nodes,
    storages: seed.storages ?? [],
    volumes: structuredClone(seed.volumes ?? {}),
    guests,
    firewall: seed.firewall ?? { options: {}, rules: [], aliases: [] },
  };
  for (const g of guests) registerGuestVolumes(state, g, now);
  return state;
}

const CLOUDINIT_VOLUME = /[:/]vm-\d+-cloudinit(\.\w+)?$/;

function registerGuestVolumes(state: SimState, g: Guest, now: number): void {
  for (const [key, value] of Object.entries(g.config)) {
    if (!isVolumeKey(key)) continue;
    let text = String(value);
    // PVE allocates every cloud-init drive with 4 MiB and prints it (`size=4M`); older states lack it.
    if (CLOUDINIT_VOLUME.test(volidOf(text)) && sizeOption(text) === undefined) {
      text = `${text},size=4M`;
      g.config[key] = text;
    }
    const volid = volidOf(text);
    const storageId = volid.split(':', 1)[0]!;
    const storage = state.storages.find((s) => s.storage === storageId);
    if (!storage || !volid.includes(':') || hasCdromMedia(value)) continue;
    const listKey = storage.shared ? storageId : `${g.node}/${storageId}`;
    const list = (state.volumes[listKey] ??= []);
    if (list.some((v) => v.volid === volid)) continue;
    const vol: Volume = {
      volid,
      content: g.type === 'lxc' ? 'rootdir' : 'images',
      format: storage.type === 'dir' ? 'qcow2' : 'raw',
      size: driveSize(text),
      ctime: Math.floor(now / 1000) - 86_400,
      vmid: g.vmid,
    };
    list.push(vol);
  }
}
