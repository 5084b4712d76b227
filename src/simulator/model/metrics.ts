import type { Guest, NodeState } from './types.js';
import { driveSize, hasCdromMedia, isBusDrive } from './drives.js';

/**
 * Usage figures that move. They are computed from the clock at read time (no background timer):
 * a running guest's uptime grows, its counters grow with it, and CPU and memory wander around a
 * level of their own, so a status stream always has something to show. Stopped guests read 0.
 */
export interface GuestUsage {
  cpus: number;
  cpu: number;
  maxmem: number;
  mem: number;
  maxdisk: number;
  disk: number;
  uptime: number;
  netin: number;
  netout: number;
  diskread: number;
  diskwrite: number;
}

const MIB = 1024 * 1024;


function configuredMemory(g: Guest): number {
  const raw = g.config.memory;
  if (raw === undefined) return 512 * MIB;
  const m = /(?:current=)?(\d+)/.exec(String(raw));
  return (m ? Number(m[1]) : 512) * MIB;
}

function configuredCpus(g: Guest): number {
  const cores = Number(g.config.cores ?? 1);
  return g.type === 'qemu' ? cores * Number(g.config.sockets ?? 1) : cores;
}

/** Size of the boot disk (QEMU: lowest-numbered disk that is not a CD-ROM; LXC: rootfs). */
function configuredDisk(g: Guest): number {
  if (g.type === 'lxc') return driveSize(g.config.rootfs ?? '');
  let best = '';
  let bestSize = 0;
  for (const k in g.config) {
    if (!isBusDrive(k)) continue;
    const v = g.config[k]!;
    if (hasCdromMedia(v)) continue;
    if (best === '' || k < best) {
      best = k;
      bestSize = driveSize(v);
    }
  }
  return bestSize;
}

/** A stable per-guest number in [0, 1) so that each VM has its own level. */
function seedOf(vmid: number): number {
  const x = Math.sin(vmid * 12.9898) * 43758.5453;
  return x - Math.floor(x);
}

export function guestUsage(g: Guest, now = Date.now()): GuestUsage {
  const cpus = configuredCpus(g);
  const maxmem = configuredMemory(g);
  const maxdisk = configuredDisk(g);
  if (g.status !== 'running' || g.startedAt === null) {
    return { cpus, cpu: 0, maxmem, mem: 0, maxdisk, disk: 0, uptime: 0, netin: 0, netout: 0, diskread: 0, diskwrite: 0 };
  }
  const s = seedOf(g.vmid);
  const up = Math.max(0, (now - g.startedAt) / 1000);
  const phase = s * 6.283;
  const cpu = g.qmpstatus === 'paused' ? 0 : g.cpuLoad !== undefined ? g.cpuLoad : round4(Math.min(1, 0.02 + 0.3 * s * wave(now, 7000, phase) + 0.03 * wave(now, 1300, phase)));
  return {
    cpus,
    cpu,
    maxmem,
    mem: Math.round(maxmem * (0.2 + 0.4 * s + 0.1 * wave(now, 11000, phase))),
    maxdisk,
    disk: g.type === 'lxc' ? Math.round(maxdisk * (0.1 + 0.3 * s)) : 0,
    uptime: Math.floor(up),
    netin: counter(up, s, now, phase, 9000, 5000),
    netout: counter(up, s, now, phase, 4000, 6000),
    diskread: counter(up, s, now, phase, 50000, 9000),
    diskwrite: counter(up, s, now, phase, 20000, 8000),
  };
}

/** A slow oscillation in [0, 1] with the guest's own phase. */
function wave(now: number, period: number, phase: number): number {
  return 0.5 + 0.5 * Math.sin(now / period + phase);
}

/** Bytes counted since start: a per-guest rate times uptime, plus a wave so the rate does not look constant. */
function counter(up: number, s: number, now: number, phase: number, rate: number, period: number): number {
  return Math.round(up * rate * (0.8 + 0.4 * s) + (rate * period * wave(now, period, phase)) / 1000);
}

export function nodeUsage(node: NodeState, guests: Guest[], now = Date.now()) {
  const running = guests.filter((g) => g.status === 'running');
  const usage = running.map((g) => guestUsage(g, now));
  const cpu = Math.min(1, 0.01 + usage.reduce((sum, u) => sum + u.cpu * u.cpus, 0) / node.cpus);
  const mem = Math.min(node.memory, 2 * 1024 * MIB + usage.reduce((sum, u) => sum + u.mem, 0));
  return {
    cpu: round4(cpu),
    maxcpu: node.cpus,
    mem,
    maxmem: node.memory,
    uptime: Math.floor((now - node.bootedAt) / 1000),
  };
}

const round4 = (n: number) => Math.round(n * 10000) / 10000;
