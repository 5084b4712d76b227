import { fail } from '../errors.js';
import { guestUsage } from '../model/metrics.js';
import type { Config, Guest, Value } from '../model/types.js';
import { configView, normalizeValue, pendingView, updateConfig } from './guest-config.js';
import { powerOff, powerOn } from './qemu.js';
import { containerInterfaces, nicWithMissingBridge } from './guest-network.js';
import { flag, num, str, who, type Ctx, type Register } from './types.js';
import { driveSize } from '../model/drives.js';

/** LXC containers: the same life cycle as QEMU guests with container names and rules. */

const C = '/nodes/{node}/lxc';
const V = `${C}/{vmid}`;

const ids = (ctx: Ctx) => {
  const node = str(ctx.params, 'node')!;
  ctx.cluster.node(node);
  return { node, vmid: num(ctx.params, 'vmid')! };
};

function ctStatus(g: Guest) {
  const u = guestUsage(g);
  const out: Record<string, unknown> = {
    vmid: g.vmid, name: String(g.config.hostname ?? `CT${g.vmid}`), status: g.status, type: 'lxc',
    cpus: u.cpus, maxmem: u.maxmem, maxswap: Number(g.config.swap ?? 512) * 1024 * 1024, maxdisk: u.maxdisk, disk: u.disk,
    mem: u.mem, swap: 0, cpu: u.cpu, uptime: u.uptime, netin: u.netin, netout: u.netout, diskread: u.diskread, diskwrite: u.diskwrite,
  };
  if (g.status === 'running') out.pid = 200000 + g.vmid;
  if (g.config.template === 1) out.template = 1;
  if (g.config.tags !== undefined) out.tags = g.config.tags;
  if (g.config.lock !== undefined) out.lock = g.config.lock;
  return out;
}

const CREATE_CONTROL = new Set(['node', 'vmid', 'start', 'ostemplate', 'password', 'ssh-public-keys', 'storage', 'pool', 'restore', 'force', 'unique', 'ignore-unpack-errors', 'bwlimit']);
const NOT_CLONED = /^(parent|snaptime|snapstate|lock|template|unused\d+|digest)$/;

export function registerLxc(on: Register): void {
  on('GET', C, (ctx) => {
    const { node } = ids(ctx);
    return ctx.cluster.guestsOf(node, 'lxc').map(ctStatus);
  });

  on('GET', `${V}/status/current`, (ctx) => {
    const { node, vmid } = ids(ctx);
    return { ...ctStatus(ctx.cluster.requireGuest(node, vmid, 'lxc')), ha: { managed: 0 } };
  });

  on('POST', C, (ctx) => {
    const { node, vmid } = ids(ctx);
    const existing = ctx.cluster.guest(vmid);
    if (existing) throw fail(`CT ${vmid} already exists on node '${existing.node}'`);
    const ostemplate = str(ctx.params, 'ostemplate')!;
    if (!ctx.cluster.findVolume(node, ostemplate)) throw fail(`volume '${ostemplate}' does not exist`);
    const requested: Config = {};
    for (const [k, v] of Object.entries(ctx.params)) if (!CREATE_CONTROL.has(k)) requested[k] = v as Value;
    requested.rootfs ??= `${str(ctx.params, 'storage') ?? 'local'}:4`;
    const g: Guest = {
      vmid, type: 'lxc', node, config: { lock: 'create' }, pending: {}, pendingDelete: [], snapshots: [],
      status: 'stopped', qmpstatus: 'stopped', startedAt: null, firewall: { options: {}, rules: [], aliases: [] },
    };
    ctx.cluster.addGuest(g);
    const start = flag(ctx.params, 'start');
    return ctx.tasks.start({
      node, type: 'vzcreate', id: String(vmid), user: who(ctx),
      work: (log) => {
        try {
          const config: Config = { arch: 'amd64', ostype: /ubuntu/.test(ostemplate) ? 'ubuntu' : 'debian' };
          for (const [k, v] of Object.entries(requested)) config[k] = normalizeValue(ctx.cluster, g, k, v);
          log(`extracting archive '${ostemplate}'`);
          log(`Total bytes read: ${ctx.cluster.findVolume(node, ostemplate)!.size * 3}`);
          g.config = config;
        } catch (err) {
          ctx.cluster.removeGuest(vmid);
          throw err;
        }
        if (start) powerOn(g);
      },
    });
  });

  on('DELETE', V, (ctx) => {
    const { node, vmid } = ids(ctx);
    const g = ctx.cluster.requireGuest(node, vmid, 'lxc');
    ctx.cluster.assertUnlocked(g);
    if (g.config.protection === 1) throw fail(`can't remove CT ${vmid} - protection mode enabled`);
    if (g.status === 'running') throw fail(`CT ${vmid} is running - destroy failed`);
    return ctx.tasks.start({ node, type: 'vzdestroy', id: String(vmid), user: who(ctx), work: () => ctx.cluster.removeGuest(vmid) });
  });

  const power = (verb: string, type: string, check: (g: Guest) => void, effect: (g: Guest) => void) =>
    on('POST', `${V}/status/${verb}`, (ctx) => {
      const { node, vmid } = ids(ctx);
      const g = ctx.cluster.requireGuest(node, vmid, 'lxc');
      check(g);
      return ctx.tasks.start({ node, type, id: String(vmid), user: who(ctx), work: () => effect(g) });
    });
  const mustRun = (g: Guest) => { if (g.status !== 'running') throw fail(`CT ${g.vmid} not running`); };
  on('POST', `${V}/status/start`, (ctx) => {
    const { node, vmid } = ids(ctx);
    const g = ctx.cluster.requireGuest(node, vmid, 'lxc');
    if (g.status === 'running') throw fail(`CT ${g.vmid} already running`);
    return ctx.tasks.start({
      node, type: 'vzstart', id: String(vmid), user: who(ctx),
      work: (log) => {
        if (g.config.template === 1) throw fail("you can't start a CT if it's a template");
        assertCtUnlocked(g);
        // pve-container's lxcnetaddbr hook dies for a missing bridge, lxc-start aborts, and
        // monitor_start reports "startup for container '<id>' failed" (src/PVE/LXC.pm).
        const nic = nicWithMissingBridge(ctx.cluster, g);
        if (nic) {
          log(`bridge '${nic.bridge}' does not exist`);
          throw fail(`startup for container '${vmid}' failed`);
        }
        powerOn(g);
      },
    });
  });
  power('stop', 'vzstop', () => undefined, (g) => powerOff(g));
  power('shutdown', 'vzshutdown', () => undefined, (g) => powerOff(g));
  power('reboot', 'vzreboot', mustRun, (g) => powerOn(g));
  power('suspend', 'vzsuspend', mustRun, (g) => { g.qmpstatus = 'paused'; });
  power('resume', 'vzresume', mustRun, (g) => { g.qmpstatus = 'running'; });

  // pve-container `ip`: what `ip --json a` shows inside a running container; a stopped (or unknown)
  // one has no namespace to enter and the handler returns nothing.
  on('GET', `${V}/interfaces`, (ctx) => {
    const { node, vmid } = ids(ctx);
    const g = ctx.cluster.guestOf(node, vmid, 'lxc');
    if (!g || g.status !== 'running') return null;
    return containerInterfaces(g);
  });

  on('GET', `${V}/config`, (ctx) => {
    const { node, vmid } = ids(ctx);
    return configView(ctx.cluster, ctx.cluster.requireGuest(node, vmid, 'lxc'), flag(ctx.params, 'current'));
  });

  on('GET', `${V}/pending`, (ctx) => {
    const { node, vmid } = ids(ctx);
    return pendingView(ctx.cluster.requireGuest(node, vmid, 'lxc'));
  });

  on('PUT', `${V}/config`, (ctx) => {
    const { node, vmid } = ids(ctx);
    updateConfig(ctx.cluster, ctx.cluster.requireGuest(node, vmid, 'lxc'), ctx.params);
    return null;
  });

  on('POST', `${V}/clone`, (ctx) => cloneCt(ctx));

  on('POST', `${V}/template`, (ctx) => {
    const { node, vmid } = ids(ctx);
    const g = ctx.cluster.requireGuest(node, vmid, 'lxc');
    ctx.cluster.assertUnlocked(g);
    if (g.config.template === 1) throw fail("you can't convert a template to a template");
    if (g.status === 'running') throw fail("you can't convert a CT to template if the CT is running");
    g.config.template = 1;
    return null;
  });
}

function assertCtUnlocked(g: Guest): void {
  if (g.config.lock !== undefined) throw fail(`CT is locked (${g.config.lock})`);
}

/**
 * `POST .../lxc/{vmid}/clone` as pve-container's clone_vm: the source gets `lock: disk` and the
 * new container `lock: create` for the task's duration; every check below runs before the task
 * (HTTP 500, no UPID). A full clone (the default for a non-template) of a running container
 * needs a snapshot to copy from.
 */
function cloneCt(ctx: Ctx): string {
  const { node, vmid } = ids(ctx);
  const src = ctx.cluster.requireGuest(node, vmid, 'lxc');
  const newid = num(ctx.params, 'newid')!;
  const snapname = str(ctx.params, 'snapname');
  const storage = str(ctx.params, 'storage');
  assertCtUnlocked(src);
  if (ctx.cluster.guest(newid)) throw fail(`unable to create CT ${newid}: config file already exists`);
  const isTemplate = src.config.template === 1;
  const full = ctx.params.full === undefined ? !isTemplate : flag(ctx.params, 'full');
  if (storage !== undefined && !full) throw fail("parameter 'storage' not allowed for linked clones");
  const snap = snapname ? src.snapshots.find((s) => s.name === snapname) : undefined;
  if (snapname && !snap) throw fail(`snapshot '${snapname}' does not exist`);
  if (storage !== undefined) ctx.cluster.requireStorage(node, storage);
  const base = snap ? snap.config : src.config;
  const volumeKeys = Object.keys(base).filter((k) => k === 'rootfs' || /^mp\d+$/.test(k)).sort();
  for (const k of volumeKeys) {
    const volid = String(base[k]).split(',', 1)[0]!;
    if (full && src.status === 'running' && !snapname) throw fail('Cannot do full clones on a running container without snapshots');
    if (!full && !isTemplate) throw fail(`Linked clone feature for '${volid}' is not available`);
  }
  const clone: Guest = {
    vmid: newid, type: 'lxc', node, config: { lock: 'create' }, pending: {}, pendingDelete: [], snapshots: [],
    status: 'stopped', qmpstatus: 'stopped', startedAt: null, firewall: structuredClone(src.firewall),
  };
  ctx.cluster.addGuest(clone);
  const hostname = str(ctx.params, 'hostname');
  const description = str(ctx.params, 'description');
  src.config.lock = 'disk';
  return ctx.tasks.start({
    node, type: 'vzclone', id: String(vmid), user: who(ctx), kind: 'clone',
    end: () => { if (src.config.lock === 'disk') delete src.config.lock; },
    work: (log) => {
      const config: Config = {};
      for (const [k, v] of Object.entries(base)) if (!NOT_CLONED.test(k)) config[k] = v;
      if (hostname !== undefined) config.hostname = hostname;
      if (description !== undefined) config.description = description;
      for (const k of Object.keys(config)) {
        if (/^net\d+$/.test(k)) config[k] = String(config[k]).replace(/hwaddr=[0-9A-F:]{17}/i, `hwaddr=${ctx.cluster.newMac()}`);
      }
      for (const k of volumeKeys) {
        const text = String(base[k]);
        const volid = text.split(',', 1)[0]!;
        const bytes = driveSize(text);
        const size = bytes > 0 ? String(Math.ceil(bytes / 1024 ** 3)) : '4'; // GiB, never smaller than the source
        if (full) {
          log(`create full clone of mountpoint ${k} (${volid})`);
          config[k] = normalizeValue(ctx.cluster, clone, k, `${storage ?? volid.split(':', 1)[0]}:${size}`);
        } else {
          log(`create linked clone of mount point ${k} (${volid})`);
          const linked = `${volid}/vm-${newid}-disk-${volumeKeys.indexOf(k)}`;
          ctx.cluster.volumes(node, volid.split(':', 1)[0]!).push({ volid: linked, content: 'rootdir', format: 'raw', size: Number(size) * 1024 ** 3, ctime: Math.floor(Date.now() / 1000), vmid: newid });
          config[k] = text.replace(volid, linked);
        }
      }
      clone.config = config;
    },
  });
}
