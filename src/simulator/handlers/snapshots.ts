import { fail } from '../errors.js';
import type { Guest, GuestType } from '../model/types.js';
import { powerOff, powerOn } from './qemu.js';
import { flag, num, str, who, type Ctx, type Register } from './types.js';

/** Snapshots of QEMU and LXC guests, with the `current` pseudo-entry and PVE's reserved names. */

const RESERVED = new Set(['current', 'pending']);

export function registerSnapshots(on: Register): void {
  for (const type of ['qemu', 'lxc'] as const) {
    const base = `/nodes/{node}/${type}/{vmid}/snapshot`;
    const guest = (ctx: Ctx): Guest => {
      const node = str(ctx.params, 'node')!;
      ctx.cluster.node(node);
      return ctx.cluster.requireGuest(node, num(ctx.params, 'vmid')!, type);
    };
    const task = (ctx: Ctx, g: Guest, kind: string, lock: string, work: () => void) =>
      ctx.tasks.start({
        node: g.node, type: kind, id: String(g.vmid), user: who(ctx),
        begin: () => { g.config.lock = lock; },
        end: () => { if (g.config.lock === lock) delete g.config.lock; },
        work,
      });
    const snapshot = (g: Guest, name: string) => {
      const s = g.snapshots.find((x) => x.name === name);
      if (!s) throw fail(`snapshot '${name}' does not exist`);
      return s;
    };

    on('GET', base, (ctx) => {
      const g = guest(ctx);
      const list: Record<string, unknown>[] = g.snapshots.map((s) => ({
        name: s.name, snaptime: s.snaptime, description: s.description ?? '',
        ...(type === 'qemu' ? { vmstate: s.vmstate } : {}), ...(s.parent ? { parent: s.parent } : {}),
      }));
      const current: Record<string, unknown> = { name: 'current', digest: ctx.cluster.digest(g), running: g.status === 'running' ? 1 : 0, description: 'You are here!' };
      if (g.config.parent !== undefined) current.parent = g.config.parent;
      list.push(current);
      return list;
    });

    on('POST', base, (ctx) => {
      const g = guest(ctx);
      const name = str(ctx.params, 'snapname')!;
      if (RESERVED.has(name)) throw fail(`unable to use snapshot name '${name}' (reserved name)`);
      const description = str(ctx.params, 'description');
      const vmstate = type === 'qemu' && flag(ctx.params, 'vmstate') && g.status === 'running' ? 1 : 0;
      return task(ctx, g, type === 'qemu' ? 'qmsnapshot' : 'vzsnapshot', 'snapshot', () => {
        if (g.snapshots.some((s) => s.name === name)) throw fail(`snapshot name '${name}' already used`);
        if (g.config.lock !== undefined && g.config.lock !== 'snapshot') ctx.cluster.assertUnlocked(g);
        const { lock: _l, parent, ...config } = g.config;
        g.snapshots.push({
          name, snaptime: Math.floor(Date.now() / 1000), vmstate,
          ...(description !== undefined ? { description } : {}),
          ...(parent !== undefined ? { parent: String(parent) } : {}),
          config: { ...config, ...(parent !== undefined ? { parent } : {}) },
        });
        g.config.parent = name;
      });
    });

    on('GET', `${base}/{snapname}`, (ctx) => {
      snapshot(guest(ctx), str(ctx.params, 'snapname')!);
      return [{ rel: 'child', href: 'config' }, { rel: 'child', href: 'rollback' }];
    });

    on('GET', `${base}/{snapname}/config`, (ctx) => {
      const s = snapshot(guest(ctx), str(ctx.params, 'snapname')!);
      return { ...s.config, snaptime: s.snaptime, ...(s.description ? { description: s.description } : {}) };
    });

    on('PUT', `${base}/{snapname}/config`, (ctx) => {
      const s = snapshot(guest(ctx), str(ctx.params, 'snapname')!);
      const description = str(ctx.params, 'description');
      if (description !== undefined) s.description = description;
      return null;
    });

    on('DELETE', `${base}/{snapname}`, (ctx) => {
      const g = guest(ctx);
      const name = str(ctx.params, 'snapname')!;
      return task(ctx, g, type === 'qemu' ? 'qmdelsnapshot' : 'vzdelsnapshot', 'snapshot-delete', () => {
        const s = snapshot(g, name);
        for (const child of g.snapshots) if (child.parent === name) child.parent = s.parent;
        if (g.config.parent === name) {
          if (s.parent !== undefined) g.config.parent = s.parent;
          else delete g.config.parent;
        }
        g.snapshots = g.snapshots.filter((x) => x !== s);
      });
    });

    on('POST', `${base}/{snapname}/rollback`, (ctx) => {
      const g = guest(ctx);
      const name = str(ctx.params, 'snapname')!;
      const start = flag(ctx.params, 'start');
      return task(ctx, g, type === 'qemu' ? 'qmrollback' : 'vzrollback', 'rollback', () => {
        const s = snapshot(g, name);
        if (g.config.template === 1) throw fail(`you can't rollback if ${type === 'qemu' ? 'vm' : 'ct'} is a template`);
        if (g.status === 'running') powerOff(g);
        const { parent: _p, ...restored } = s.config;
        g.config = { ...restored, parent: name, lock: 'rollback' };
        g.pending = {};
        g.pendingDelete = [];
        if (s.vmstate === 1 || start) powerOn(g);
      });
    });
  }
}

export type { GuestType };
