import { fail } from '../errors.js';
import { guestUsage, nodeUsage } from '../model/metrics.js';
import type { Guest, GuestType } from '../model/types.js';
import { num, str, type Ctx, type Register } from './types.js';

/**
 * `rrddata` of nodes and guests: the 70 rows pve-cluster's PVE::RRD `create_rrd_data` fetches for
 * a timeframe (step 1 min for an hour, 30 min for a day, 3 h for a week, 12 h for a month, 7 days
 * for a year), each `{time, <field>: value}`. Values come from the same clock-driven figures as the
 * status calls; rows from before a guest was last started carry only `time`, as RRD rows without
 * data do. Network and disk fields are rates (bytes/s), as pvestatd stores them.
 */

const STEP_SECONDS: Record<string, number> = { hour: 60, day: 1800, week: 10800, month: 43200, year: 604800 };
const ROWS = 70;

function rowTimes(timeframe: string, now: number): number[] {
  const step = STEP_SECONDS[timeframe]!;
  const end = step * Math.floor(now / 1000 / step);
  return Array.from({ length: ROWS }, (_, i) => end - step * (ROWS - i));
}

function guestRow(g: Guest, time: number, step: number): Record<string, number> {
  const at = time * 1000;
  if (g.status !== 'running' || g.startedAt === null || at < g.startedAt) return { time };
  const u = guestUsage(g, at);
  const before = guestUsage(g, Math.max(g.startedAt, at - step * 1000));
  const rate = (k: 'netin' | 'netout' | 'diskread' | 'diskwrite') => Math.max(0, (u[k] - before[k]) / step);
  return {
    time, cpu: u.cpu, maxcpu: u.cpus, mem: u.mem, maxmem: u.maxmem, disk: u.disk, maxdisk: u.maxdisk,
    netin: rate('netin'), netout: rate('netout'), diskread: rate('diskread'), diskwrite: rate('diskwrite'),
  };
}

export function registerRrd(on: Register): void {
  on('GET', '/nodes/{node}/rrddata', (ctx) => {
    const node = ctx.cluster.node(str(ctx.params, 'node')!);
    const timeframe = str(ctx.params, 'timeframe')!;
    const guests = ctx.cluster.guestsOf(node.name);
    const step = STEP_SECONDS[timeframe]!;
    return rowTimes(timeframe, Date.now()).map((time) => {
      if (time * 1000 < node.bootedAt) return { time };
      const u = nodeUsage(node, guests, time * 1000);
      const net = guests.reduce((sum, g) => sum + (guestRow(g, time, step).netin ?? 0), 0);
      return {
        time, cpu: u.cpu, iowait: 0.0012, loadavg: Math.round(u.cpu * node.cpus * 100) / 100, maxcpu: u.maxcpu,
        memtotal: u.maxmem, memused: u.mem, swaptotal: 8 * 1024 ** 3, swapused: 0,
        roottotal: 100 * 1024 ** 3, rootused: 12 * 1024 ** 3, netin: net, netout: net * 0.6,
      };
    });
  });

  for (const type of ['qemu', 'lxc'] as GuestType[]) {
    on('GET', `/nodes/{node}/${type}/{vmid}/rrddata`, (ctx: Ctx) => {
      const node = str(ctx.params, 'node')!;
      ctx.cluster.node(node);
      const vmid = num(ctx.params, 'vmid')!;
      const g = ctx.cluster.guest(vmid);
      // The handler reads the guest's RRD file (kept cluster-wide) without looking at its config (qemu-server / pve-container `rrddata`).
      if (!g) throw fail(`RRD error: opening '/var/lib/rrdcached/db/pve2-vm/${vmid}': No such file or directory`);
      const timeframe = str(ctx.params, 'timeframe')!;
      return rowTimes(timeframe, Date.now()).map((time) => guestRow(g, time, STEP_SECONDS[timeframe]!));
    });
  }
}
