import { randomUUID } from 'node:crypto';
import { fail, noConfig, paramError } from '../errors.js';
import type { Cluster } from '../model/cluster.js';
import { guestUsage } from '../model/metrics.js';
import type { Config, Guest, Value } from '../model/types.js';
import { listParam } from './cluster.js';
import { applyPending, configView, importsDisk, normalizeValue, pendingView, updateConfig } from './guest-config.js';
import { nicWithMissingBridge } from './guest-network.js';
import { flag, num, str, who, type Ctx, type Register } from './types.js';
import { driveSize, hasCdromMedia, isBusDrive, isQemuDrive, isQemuVolumeKey, optionsWithoutSize, sizeOption, withSize } from '../model/drives.js';

/** QEMU guests: list, create, destroy, status and power, config, clone, template, resize. */

const Q = '/nodes/{node}/qemu';
const V = `${Q}/{vmid}`;

const ids = (ctx: Ctx) => {
  const node = str(ctx.params, 'node')!;
  ctx.cluster.node(node);
  return { node, vmid: num(ctx.params, 'vmid')! };
};

/** Power transitions shared by the power calls, rollback and clone/create `start`. */
export function powerOn(g: Guest): void {
  applyPending(g);
  g.status = 'running';
  g.qmpstatus = 'running';
  g.startedAt = Date.now();
}

export function powerOff(g: Guest): void {
  g.status = 'stopped';
  g.qmpstatus = 'stopped';
  g.startedAt = null;
  applyPending(g);
}

const missingFile = (node: string, vmid: number) => fail(`unable to find configuration file for VM ${vmid} on node '${node}'`);

function vmStatus(g: Guest, full: boolean) {
  const u = guestUsage(g);
  const out: Record<string, unknown> = {
    vmid: g.vmid, name: String(g.config.name ?? `VM ${g.vmid}`), status: g.status,
    cpus: u.cpus, maxmem: u.maxmem, maxdisk: u.maxdisk, disk: u.disk, mem: u.mem, cpu: u.cpu, uptime: u.uptime,
    netin: u.netin, netout: u.netout, diskread: u.diskread, diskwrite: u.diskwrite,
  };
  if (g.status === 'running') out.pid = 100000 + g.vmid;
  if (g.config.template === 1) out.template = 1;
  if (g.config.tags !== undefined) out.tags = g.config.tags;
  if (g.config.lock !== undefined) out.lock = g.config.lock;
  if (full) {
    out.qmpstatus = g.qmpstatus;
    out.ha = { managed: 0 };
    if (String(g.config.agent ?? '0').replace(/^enabled=/, '').startsWith('1')) out.agent = 1;
    if (g.status === 'running') {
      out['running-machine'] = 'pc-i440fx-9.2+pve1';
      out['running-qemu'] = '9.2.0';
    }
  }
  return out;
}

/** Keys copied by clone: everything but snapshot bookkeeping, unused disks, locks and the template flag. */
const NOT_CLONED = /^(parent|snaptime|vmstate|lock|template|unused\d+|digest)$/;

export function registerQemu(on: Register): void {
  on('GET', Q, (ctx) => {
    const { node } = ids(ctx);
    const full = flag(ctx.params, 'full');
    return ctx.cluster.guestsOf(node, 'qemu').map((g) => vmStatus(g, full));
  });

  on('GET', V, (ctx) => {
    const { node, vmid } = ids(ctx);
    ctx.cluster.requireGuest(node, vmid, 'qemu');
    return ['config', 'pending', 'status', 'snapshot', 'firewall', 'rrd', 'rrddata', 'agent', 'cloudinit']
      .map((subdir) => ({ subdir }));
  });

  on('GET', `${V}/status/current`, (ctx) => {
    const { node, vmid } = ids(ctx);
    return vmStatus(ctx.cluster.requireGuest(node, vmid, 'qemu'), true);
  });

  on('POST', Q, (ctx) => createVm(ctx));

  on('DELETE', V, (ctx) => {
    const { node, vmid } = ids(ctx);
    const g = ctx.cluster.requireGuest(node, vmid, 'qemu');
    if (!flag(ctx.params, 'skiplock')) ctx.cluster.assertUnlocked(g);
    if (g.config.protection === 1) throw fail(`can't remove VM ${vmid} - protection mode enabled`);
    if (g.status === 'running') throw fail(`VM ${vmid} is running - destroy failed`);
    return ctx.tasks.start({
      node, type: 'qmdestroy', id: String(vmid), user: who(ctx),
      begin: () => { g.config.lock = 'destroyed'; },
      work: (log) => {
        for (const k of Object.keys(g.config)) if (isQemuVolumeKey(k) && !hasCdromMedia(g.config[k])) log(`Removing image: 100% complete...done.`);
        ctx.cluster.removeGuest(vmid);
        log(`purging VM ${vmid} from related configurations..`);
      },
    });
  });

  power(on, 'start', 'qmstart', (ctx, node, vmid) => {
    const g = ctx.cluster.guestOf(node, vmid, 'qemu');
    return (log) => {
      if (!g) throw noConfig(node, vmid);
      if (g.config.template === 1) throw fail("you can't start a vm if it's a template");
      ctx.cluster.assertUnlocked(g, true);
      if (g.status === 'running' && g.config.lock !== 'suspended') throw fail(`VM ${vmid} already running`);
      failOnMissingBridge(ctx, g, log);
      if (g.config.lock === 'suspended') {
        delete g.config.lock;
        log('resuming suspended VM');
      }
      powerOn(g);
    };
  });

  const stopWork = (ctx: Ctx, node: string, vmid: number) => () => {
    const g = ctx.cluster.guestOf(node, vmid, 'qemu');
    if (!g) throw missingFile(node, vmid);
    if (g.status === 'stopped') return; // stopping a stopped VM succeeds
    powerOff(g);
  };
  power(on, 'stop', 'qmstop', stopWork);
  power(on, 'shutdown', 'qmshutdown', (ctx, node, vmid) => {
    const g = ctx.cluster.guestOf(node, vmid, 'qemu');
    if (g && g.qmpstatus === 'paused' && !flag(ctx.params, 'forceStop')) throw fail('VM is paused - cannot shutdown');
    return stopWork(ctx, node, vmid);
  });

  const running = (ctx: Ctx, node: string, vmid: number): Guest => {
    const g = ctx.cluster.guestOf(node, vmid, 'qemu');
    if (!g) throw missingFile(node, vmid);
    return g;
  };
  power(on, 'reboot', 'qmreboot', (ctx, node, vmid) => {
    const g = running(ctx, node, vmid);
    if (g.qmpstatus === 'paused') throw fail('VM is paused - cannot shutdown');
    if (g.status !== 'running') throw fail(`VM ${vmid} not running`);
    return () => powerOn(g);
  });
  power(on, 'reset', 'qmreset', (ctx, node, vmid) => {
    const g = running(ctx, node, vmid);
    if (g.status !== 'running') throw fail(`VM ${vmid} not running`);
    return () => undefined;
  });
  power(on, 'suspend', (ctx) => (flag(ctx.params, 'todisk') ? 'qmsuspend' : 'qmpause'), (ctx, node, vmid) => {
    const g = running(ctx, node, vmid);
    if (g.status !== 'running') throw fail(`VM ${vmid} not running`);
    const todisk = flag(ctx.params, 'todisk');
    return () => {
      if (todisk) {
        powerOff(g);
        g.config.lock = 'suspended';
        g.config.vmstate = `local-lvm:vm-${vmid}-state-suspend-${new Date().toISOString().slice(0, 10)}`;
      } else g.qmpstatus = 'paused';
    };
  });
  power(on, 'resume', 'qmresume', (ctx, node, vmid) => {
    const g = running(ctx, node, vmid);
    if (g.status !== 'running' && g.config.lock !== 'suspended') throw fail(`VM ${vmid} not running`);
    return () => {
      if (g.config.template === 1) throw fail("you can't resume a template");
      if (g.config.lock === 'suspended') {
        delete g.config.lock;
        delete g.config.vmstate;
        powerOn(g);
      } else g.qmpstatus = 'running';
    };
  });

  on('GET', `${V}/status`, (ctx) => {
    const { node, vmid } = ids(ctx);
    ctx.cluster.requireGuest(node, vmid, 'qemu');
    return ['current', 'start', 'stop', 'reset', 'shutdown', 'suspend', 'reboot', 'resume'].map((subdir) => ({ subdir }));
  });

  // ---- config ------------------------------------------------------------------------------

  on('GET', `${V}/config`, (ctx) => {
    const { node, vmid } = ids(ctx);
    const g = ctx.cluster.requireGuest(node, vmid, 'qemu');
    const snapname = str(ctx.params, 'snapshot');
    if (snapname !== undefined) {
      if (flag(ctx.params, 'current')) throw paramError({ snapshot: 'cannot use \'snapshot\' parameter with \'current\'', current: 'cannot use \'current\' parameter with \'snapshot\'' });
      const snap = g.snapshots.find((s) => s.name === snapname);
      if (!snap) throw fail(`snapshot '${snapname}' does not exist`);
      return { ...snap.config, snaptime: snap.snaptime, ...(snap.description ? { description: snap.description } : {}), digest: ctx.cluster.digest(g) };
    }
    return configView(ctx.cluster, g, flag(ctx.params, 'current'));
  });

  on('GET', `${V}/pending`, (ctx) => {
    const { node, vmid } = ids(ctx);
    return pendingView(ctx.cluster.requireGuest(node, vmid, 'qemu'));
  });

  on('PUT', `${V}/config`, (ctx) => {
    const { node, vmid } = ids(ctx);
    updateConfig(ctx.cluster, ctx.cluster.requireGuest(node, vmid, 'qemu'), ctx.params);
    return null;
  });

  on('POST', `${V}/config`, (ctx) => {
    const { node, vmid } = ids(ctx);
    const g = ctx.cluster.requireGuest(node, vmid, 'qemu');
    // The asynchronous variant: the same checks run at once, the change itself in a `qmconfig` task.
    const { background_delay: _delay, ...params } = ctx.params;
    updateConfig(ctx.cluster, g, params);
    const kind = Object.values(params).some(importsDisk) ? 'import' : undefined;
    return ctx.tasks.start({ node, type: 'qmconfig', id: String(vmid), user: who(ctx), kind, work: () => undefined });
  });

  on('PUT', `${V}/cloudinit`, (ctx) => {
    const { node, vmid } = ids(ctx);
    const g = ctx.cluster.requireGuest(node, vmid, 'qemu');
    ctx.cluster.assertUnlocked(g);
    return null;
  });

  on('PUT', `${V}/resize`, (ctx) => {
    const { node, vmid } = ids(ctx);
    const g = ctx.cluster.requireGuest(node, vmid, 'qemu');
    const disk = str(ctx.params, 'disk')!;
    const value = g.config[disk];
    if (value === undefined) throw fail(`disk '${disk}' does not exist`);
    if (!flag(ctx.params, 'skiplock')) ctx.cluster.assertUnlocked(g);
    return ctx.tasks.start({
      node, type: 'resize', id: String(vmid), user: who(ctx),
      work: () => resizeDisk(ctx.cluster, g, disk, String(value), str(ctx.params, 'size')!),
    });
  });

  // ---- clone and template ------------------------------------------------------------------

  on('POST', `${V}/clone`, (ctx) => cloneVm(ctx));

  on('POST', `${V}/template`, (ctx) => {
    const { node, vmid } = ids(ctx);
    const g = ctx.cluster.requireGuest(node, vmid, 'qemu');
    ctx.cluster.assertUnlocked(g);
    if (g.snapshots.length) throw fail('unable to create template, because VM contains snapshots');
    if (g.config.template === 1) throw fail("you can't convert a template to a template");
    if (g.status === 'running') throw fail("you can't convert a VM to template if VM is running");
    return ctx.tasks.start({
      node, type: 'qmtemplate', id: String(vmid), user: who(ctx),
      work: () => {
        for (const [k, v] of Object.entries(g.config)) {
          const text = String(v);
          if (!isQemuDrive(k) || hasCdromMedia(text)) continue;
          const renamed = text.replace(/(^[^:]+:(?:\d+\/)?)vm-(\d+)-disk/, '$1base-$2-disk');
          const oldVolid = text.split(',', 1)[0]!;
          const vol = ctx.cluster.findVolume(node, oldVolid);
          if (vol) vol.volid = renamed.split(',', 1)[0]!;
          g.config[k] = renamed;
        }
        g.config.template = 1;
      },
    });
  });
}

/**
 * QEMU runs the `pve-bridge` script for each tap device; pve-common's `read_bridge_mtu` dies with
 * "bridge '<b>' does not exist", the script fails, QEMU exits and vm_start reports
 * "start failed: QEMU exited with code 1" (qemu-server QemuServer.pm `vm_start_nolock`). The VM
 * stays stopped.
 */
function failOnMissingBridge(ctx: Ctx, g: Guest, log: (line: string) => void): void {
  const nic = nicWithMissingBridge(ctx.cluster, g);
  if (!nic) return;
  const index = nic.key.slice(3);
  log(`bridge '${nic.bridge}' does not exist`);
  log(`kvm: -netdev type=tap,id=${nic.key},ifname=tap${g.vmid}i${index},script=/usr/libexec/qemu-server/pve-bridge,downscript=/usr/libexec/qemu-server/pve-bridgedown,vhost=on: network script /usr/libexec/qemu-server/pve-bridge failed with status 512`);
  throw fail('start failed: QEMU exited with code 1');
}

type PowerWork = (ctx: Ctx, node: string, vmid: number) => (log: (line: string) => void) => void;

/** A power call: synchronous checks in `prepare` (they may throw), the rest in a task. */
function power(on: Register, verb: string, type: string | ((ctx: Ctx) => string), prepare: PowerWork): void {
  on('POST', `${V}/status/${verb}`, (ctx) => {
    const { node, vmid } = ids(ctx);
    const work = prepare(ctx, node, vmid);
    return ctx.tasks.start({ node, type: typeof type === 'string' ? type : type(ctx), id: String(vmid), user: who(ctx), work });
  });
}

/** Parameters of `POST /nodes/{node}/qemu` that are not config keys. */
const CREATE_CONTROL = new Set(['node', 'vmid', 'start', 'archive', 'pool', 'storage', 'unique', 'force', 'live-restore', 'bwlimit']);

function createVm(ctx: Ctx): string {
  const { node, vmid } = ids(ctx);
  const existing = ctx.cluster.guest(vmid);
  if (existing) throw fail(`unable to create VM ${vmid} - VM ${vmid} already exists on node '${existing.node}'`);
  if (str(ctx.params, 'archive') !== undefined) throw fail('restore from backup archives is not simulated');
  const requested: Config = {};
  for (const [k, v] of Object.entries(ctx.params)) if (!CREATE_CONTROL.has(k)) requested[k] = v as Value;
  const g: Guest = {
    vmid, type: 'qemu', node, config: { lock: 'create' }, pending: {}, pendingDelete: [], snapshots: [],
    status: 'stopped', qmpstatus: 'stopped', startedAt: null, firewall: { options: {}, rules: [], aliases: [] },
  };
  ctx.cluster.addGuest(g);
  const start = flag(ctx.params, 'start');
  return ctx.tasks.start({
    node, type: 'qmcreate', id: String(vmid), user: who(ctx), kind: Object.values(requested).some(importsDisk) ? 'import' : undefined,
    work: (log) => {
      try {
        const config: Config = {};
        for (const [k, v] of Object.entries(requested)) {
          config[k] = normalizeValue(ctx.cluster, g, k, v);
          if (String(v) !== String(config[k]) && isBusDrive(k) && /^[^:]+:\d+/.test(String(v))) {
            log(`${k}: successfully created disk '${String(config[k]).split(',').filter((p) => !p.startsWith('iothread') && !p.startsWith('cache')).join(',')}'`);
          }
        }
        config.smbios1 ??= `uuid=${randomUUID()}`;
        config.vmgenid ??= randomUUID();
        config.meta = `creation-qemu=9.2.0,ctime=${Math.floor(Date.now() / 1000)}`;
        config.boot ??= `order=${Object.keys(config).filter(isBusDrive).concat(Object.keys(config).filter((k) => /^net\d+$/.test(k))).join(';')}`;
        if (config.boot === 'order=') delete config.boot;
        g.config = config;
      } catch (err) {
        ctx.cluster.removeGuest(vmid);
        throw err;
      }
      if (start) powerOn(g);
    },
  });
}

function cloneVm(ctx: Ctx): string {
  const { node, vmid } = ids(ctx);
  const src = ctx.cluster.requireGuest(node, vmid, 'qemu');
  const newid = num(ctx.params, 'newid')!;
  const target = str(ctx.params, 'target') ?? node;
  const snapname = str(ctx.params, 'snapname');
  const isTemplate = src.config.template === 1;
  const full = ctx.params.full === undefined ? !isTemplate : flag(ctx.params, 'full');
  const storage = str(ctx.params, 'storage');
  if (!full && storage !== undefined) throw paramError({ storage: "parameter 'storage' not allowed for linked clones" });
  if (!full && str(ctx.params, 'format') !== undefined) throw paramError({ format: "parameter 'format' not allowed for linked clones" });
  ctx.cluster.assertUnlocked(src);
  const snap = snapname ? src.snapshots.find((s) => s.name === snapname) : undefined;
  if (snapname && !snap) throw fail(`snapshot '${snapname}' does not exist`);
  if (target !== node) {
    ctx.cluster.node(target);
    throw fail(`can't clone VM to node '${target}' (VM uses local storage)`);
  }
  if (ctx.cluster.guest(newid)) throw fail(`unable to create VM ${newid}: config file already exists`);
  if (storage !== undefined) ctx.cluster.requireStorage(node, storage);
  const base = snap ? snap.config : { ...src.config, ...src.pending };
  const diskKeys = Object.keys(base).filter((k) => isQemuDrive(k) && !hasCdromMedia(base[k]));
  if (!full && !isTemplate && diskKeys.length) {
    const k = diskKeys[0]!;
    throw fail(`Linked clone feature is not supported for '${String(base[k]).split(',', 1)[0]}' (${k})`);
  }
  const clone: Guest = {
    vmid: newid, type: 'qemu', node, config: { lock: 'clone' }, pending: {}, pendingDelete: [], snapshots: [],
    status: 'stopped', qmpstatus: 'stopped', startedAt: null, firewall: structuredClone(src.firewall),
  };
  ctx.cluster.addGuest(clone);
  const name = str(ctx.params, 'name') ?? `Copy-of-VM-${String(src.config.name ?? vmid)}`;
  const description = str(ctx.params, 'description');
  return ctx.tasks.start({
    node, type: 'qmclone', id: String(vmid), user: who(ctx), kind: 'clone',
    begin: () => { src.config.lock = 'clone'; },
    end: () => { if (src.config.lock === 'clone') delete src.config.lock; },
    work: (log) => {
      const config: Config = {};
      for (const [k, v] of Object.entries(base)) if (!NOT_CLONED.test(k)) config[k] = v;
      config.name = name;
      if (description !== undefined) config.description = description;
      for (const k of Object.keys(config)) {
        if (/^net\d+$/.test(k)) config[k] = String(config[k]).replace(/^([a-z0-9-]+)=[0-9A-F:]{17}/i, `$1=${ctx.cluster.newMac()}`);
      }
      config.smbios1 = String(config.smbios1 ?? '').replace(/uuid=[0-9a-f-]+/i, `uuid=${randomUUID()}`) || `uuid=${randomUUID()}`;
      if (config.vmgenid !== undefined) config.vmgenid = randomUUID();
      for (const k of diskKeys) {
        const text = String(base[k]);
        const volid = text.split(',', 1)[0]!;
        const size = sizeOption(text) ?? '0';
        const sizeGiB = Math.max(1, Math.ceil(Number(/^\d+/.exec(size)?.[0] ?? '1') / (size.endsWith('M') ? 1024 : 1)));
        const targetStorage = storage ?? volid.split(':', 1)[0]!;
        if (full) {
          const opts = optionsWithoutSize(text);
          config[k] = normalizeValue(ctx.cluster, clone, k, [`${targetStorage}:${sizeGiB}`, ...opts].join(','));
          log(`drive '${k}': successfully created disk '${String(config[k]).split(',', 1)[0]}'`);
        } else {
          const linked = `${volid}/vm-${newid}-disk-${diskKeys.indexOf(k)}`;
          const vol = ctx.cluster.findVolume(node, volid);
          ctx.cluster.volumes(node, volid.split(':', 1)[0]!).push({ volid: linked, content: 'images', format: vol?.format ?? 'raw', size: vol?.size ?? 0, ctime: Math.floor(Date.now() / 1000), vmid: newid });
          config[k] = text.replace(volid, linked);
        }
      }
      for (const k of Object.keys(config)) {
        if (/^ide\d+$/.test(k) && String(config[k]).includes('cloudinit')) config[k] = normalizeValue(ctx.cluster, clone, k, `${String(config[k]).split(':', 1)[0]}:cloudinit`);
      }
      clone.config = config;
    },
  });
}

function resizeDisk(cluster: Cluster, g: Guest, disk: string, value: string, size: string): void {
  const m = /^(\+)?(\d+(?:\.\d+)?)([KMGT])?$/.exec(size);
  if (!m) throw fail(`invalid size '${size}'`);
  const unit = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[3] ?? ''] ?? 1;
  const currentBytes = driveSize(value);
  const wanted = m[1] ? currentBytes + Number(m[2]) * unit : Number(m[2]) * unit;
  if (wanted < currentBytes) throw fail('shrinking disks is not supported');
  const gib = wanted / 1024 ** 3;
  const text = Number.isInteger(gib) ? `${gib}G` : `${wanted}`;
  g.config[disk] = withSize(value, text);
  const vol = cluster.findVolume(g.node, value.split(',', 1)[0]!);
  if (vol) vol.size = wanted;
}

export { listParam };
