import { fail, paramError } from '../errors.js';
import type { Cluster } from '../model/cluster.js';
import type { Guest } from '../model/types.js';
import { listParam } from './cluster.js';
import { isConfigKey, normalizeValue } from './guest-config.js';
import { flag, num, str, who, type Ctx, type Register } from './types.js';
import { driveSize, isCdrom, isCloudinit, isQemuVolumeKey, optionsWithoutSize, volidOf } from '../model/drives.js';

/**
 * Disk moves and unlinks of QEMU guests (qemu-server API2/Qemu.pm `move_vm_disk`, `unlink`): a
 * move copies the volume to another storage in a `qmmove` task (the old one stays as `unusedN`
 * unless `delete=1`) or hands it to another VM on the same node; an unlink takes disks out of
 * the config, keeping their volumes as `unusedN` unless `force=1` destroys them.
 */

const V = '/nodes/{node}/qemu/{vmid}';

function nextUnused(g: Guest): string {
  let n = 0;
  while (g.config[`unused${n}`] !== undefined) n++;
  return `unused${n}`;
}

function dropVolume(cluster: Cluster, g: Guest, volid: string): void {
  const storage = volid.split(':', 1)[0]!;
  if (!cluster.storage(storage)) return;
  const list = cluster.volumes(g.node, storage);
  const at = list.findIndex((v) => v.volid === volid);
  if (at >= 0) list.splice(at, 1);
}

function checkDigest(ctx: Ctx, g: Guest): void {
  const digest = str(ctx.params, 'digest');
  if (digest !== undefined && digest !== ctx.cluster.digest(g)) throw fail('detected modified configuration - file changed by other user? Try again.');
}

export function registerDisks(on: Register): void {
  on('POST', `${V}/move_disk`, (ctx) => {
    const node = str(ctx.params, 'node')!;
    ctx.cluster.node(node);
    const vmid = num(ctx.params, 'vmid')!;
    const targetVmid = num(ctx.params, 'target-vmid');
    const storage = str(ctx.params, 'storage');
    if (targetVmid !== undefined && storage !== undefined) {
      const msg = "either set 'storage' or 'target-vmid', but not both";
      throw paramError({ 'target-vmid': msg, storage: msg });
    }
    if (targetVmid !== undefined) return reassignDisk(ctx, node, vmid, targetVmid);
    if (storage === undefined) {
      const msg = "both 'storage' and 'target-vmid' missing, either needs to be set";
      throw paramError({ 'target-vmid': msg, storage: msg });
    }
    return moveDisk(ctx, node, vmid, storage);
  });

  on('PUT', `${V}/unlink`, (ctx) => {
    const node = str(ctx.params, 'node')!;
    ctx.cluster.node(node);
    const g = ctx.cluster.requireGuest(node, num(ctx.params, 'vmid')!, 'qemu');
    ctx.cluster.assertUnlocked(g);
    const ids = listParam(ctx.params.idlist);
    for (const k of ids) if (!isConfigKey('qemu', k)) throw paramError({ delete: `unknown option '${k}'` });
    const force = flag(ctx.params, 'force');
    for (const k of ids) {
      const value = g.config[k];
      if (value === undefined) continue; // unsetting an unset key only warns in PVE
      delete g.config[k];
      if (!isQemuVolumeKey(k) || isCdrom(value) || volidOf(value) === 'none') continue;
      // An unused disk and the cloud-init drive are always destroyed (`vmconfig_register_unused_drive`);
      // another drive only with force, else it becomes unusedN.
      if (force || isCloudinit(value) || /^unused\d+$/.test(k)) dropVolume(ctx.cluster, g, volidOf(value));
      else g.config[nextUnused(g)] = volidOf(value);
    }
    return null;
  });
}

function moveDisk(ctx: Ctx, node: string, vmid: number, storageId: string): string {
  const g = ctx.cluster.requireGuest(node, vmid, 'qemu');
  ctx.cluster.assertUnlocked(g);
  checkDigest(ctx, g);
  const disk = str(ctx.params, 'disk')!;
  const value = g.config[disk];
  if (value === undefined) throw fail(`disk '${disk}' does not exist`);
  if (volidOf(value) === 'none') throw fail(`disk '${disk}' has no associated volume`);
  if (isCdrom(value)) throw fail("you can't move a cdrom");
  const oldVolid = volidOf(value);
  const oldFormat = /\.(raw|qcow2|vmdk)$/.exec(oldVolid)?.[1];
  const format = str(ctx.params, 'format');
  if (oldVolid.split(':', 1)[0] === storageId && (!format || !oldFormat || oldFormat === format)) {
    throw fail("you can't move to the same storage with same format");
  }
  const target = ctx.cluster.requireStorage(node, storageId);
  if (!target.content.split(',').includes('images')) throw paramError({ storage: `storage '${storageId}' does not support vm images` });
  const snapshotted = g.snapshots.some((s) => s.config[disk] !== undefined && volidOf(s.config[disk]) === oldVolid);
  const remove = flag(ctx.params, 'delete');
  if (snapshotted && remove) throw fail("you can't move a disk with snapshots and delete the source");
  return ctx.tasks.start({
    node, type: 'qmmove', id: String(vmid), user: who(ctx), kind: 'clone',
    work: (log) => {
      if (snapshotted) log('moving disk with snapshots, snapshots will not be moved!');
      log(`create full clone of drive ${disk} (${oldVolid})`);
      const current = String(g.config[disk]);
      const options = optionsWithoutSize(current);
      const size = isCloudinit(current) ? 'cloudinit' : String(driveSize(current) / 1024 ** 3);
      const request = [`${storageId}:${size}`, ...options, ...(format ? [`format=${format}`] : [])].join(',');
      g.config[disk] = normalizeValue(ctx.cluster, g, disk, request);
      if (remove) dropVolume(ctx.cluster, g, oldVolid);
      else g.config[nextUnused(g)] = oldVolid;
    },
  });
}

/** Handing a disk to another VM on the same node (`target-vmid`): the volume is renamed to the new owner. */
function reassignDisk(ctx: Ctx, node: string, vmid: number, targetVmid: number): string {
  if (targetVmid === vmid) throw paramError({ 'target-vmid': 'must be different than source VMID to reassign disk' });
  const src = ctx.cluster.guest(vmid);
  const dst = ctx.cluster.guest(targetVmid);
  if (!src) throw fail(`could not find VM ${vmid}`);
  if (!dst) throw fail(`could not find target VM ${targetVmid}`);
  if (src.node !== dst.node) throw fail(`Both VMs need to be on the same node (${src.node} != ${dst.node})`);
  // qemu-server loads both configs: a container on either side is a missing VM config.
  ctx.cluster.requireGuest(node, vmid, 'qemu');
  ctx.cluster.requireGuest(dst.node, targetVmid, 'qemu');
  ctx.cluster.assertUnlocked(src);
  ctx.cluster.assertUnlocked(dst);
  if (src.config.template === 1 || dst.config.template === 1) throw fail("Can't move disks from or to template VMs");
  const disk = str(ctx.params, 'disk')!;
  const targetDisk = str(ctx.params, 'target-disk') ?? disk;
  const value = src.config[disk];
  if (value === undefined) throw fail(`Disk '${disk}' for VM '${vmid}' does not exist`);
  if (dst.config[targetDisk] !== undefined) throw fail(`Target disk key '${targetDisk}' is already in use for VM '${targetVmid}'`);
  if (isCdrom(value)) throw fail("CD drive contents can't be moved to another VM");
  if (src.status === 'running' && !/^unused\d+$/.test(disk)) throw fail('Cannot move disk to another VM while the source VM is running - detach first');
  return ctx.tasks.start({
    node, type: 'qmmove', id: `${vmid}-${disk}>${targetVmid}-${targetDisk}`, user: who(ctx),
    work: (log) => {
      const oldVolid = volidOf(value);
      const storage = oldVolid.split(':', 1)[0]!;
      const list = ctx.cluster.volumes(node, storage);
      let n = 0;
      const nameFor = (i: number) => oldVolid.replace(new RegExp(`(^[^:]+:(?:${vmid}/)?)vm-${vmid}-disk-\\d+`), `$1vm-${targetVmid}-disk-${i}`).replace(`:${vmid}/`, `:${targetVmid}/`);
      while (list.some((v) => v.volid === nameFor(n))) n++;
      const newVolid = nameFor(n);
      const vol = list.find((v) => v.volid === oldVolid);
      if (vol) Object.assign(vol, { volid: newVolid, vmid: targetVmid });
      delete src.config[disk];
      dst.config[targetDisk] = /^unused\d+$/.test(targetDisk) ? newVolid : String(value).replace(oldVolid, newVolid);
      log(`renamed volume '${oldVolid}' to '${newVolid}'`);
    },
  });
}
