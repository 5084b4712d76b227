import { randomUUID } from 'node:crypto';
import { fail, paramError } from '../errors.js';
import type { Cluster } from '../model/cluster.js';
import type { Config, Guest, GuestType, Value } from '../model/types.js';
import { formatSize, printPropertyString } from '../schema/property-string.js';
import { paramSchema, PveSpec, type ParamSchema } from '../schema/spec.js';
import { parsePropertyString } from '../schema/validate.js';
import { listParam } from './cluster.js';
import { isQemuDrive } from '../model/drives.js';

/**
 * Guest configuration rules shared by QEMU and LXC: how values are normalised before they are
 * stored (canonical property strings, generated MACs, allocated disks, sorted tags), and how an
 * update is applied (at once when stopped; "pending" for what cannot change on a running guest).
 */

const spec = PveSpec.load();
const CONFIG_METHOD = {
  qemu: spec.method('PUT', '/nodes/{node}/qemu/{vmid}/config')!,
  lxc: spec.method('PUT', '/nodes/{node}/lxc/{vmid}/config')!,
};

/** The inline property-string format of a config key, if it has one. */
export function keyFormat(type: GuestType, key: string): Record<string, ParamSchema> | undefined {
  const schema = paramSchema(CONFIG_METHOD[type], key);
  const format = schema?.format;
  return format && typeof format === 'object' ? (format as Record<string, ParamSchema>) : undefined;
}

export const isConfigKey = (type: GuestType, key: string): boolean =>
  paramSchema(CONFIG_METHOD[type], key) !== undefined && !CONTROL_KEYS.has(key);

/** Parameters of config calls that are not config keys. */
const CONTROL_KEYS = new Set(['node', 'vmid', 'delete', 'revert', 'force', 'digest', 'skiplock', 'background_delay']);

const TAG = /^[a-z0-9_][a-z0-9_\-+.]*$/i;

/** Tags as PVE stores them: split on `;`, `,` or spaces, lower-cased, de-duplicated, sorted, `;`-joined. */
function normalizeTags(text: string): string {
  const tags = text.split(/[;,\s]+/).filter(Boolean);
  for (const t of tags) if (!TAG.test(t)) throw paramError({ tags: `invalid format - invalid tag '${t}'` });
  return [...new Set(tags.map((t) => t.toLowerCase()))].sort().join(';');
}

/** Normalises one value before it is stored; disks may be allocated (so only call it when committing). */
export function normalizeValue(cluster: Cluster, g: Pick<Guest, 'vmid' | 'type' | 'node'>, key: string, value: Value): Value {
  if (key === 'tags') return normalizeTags(String(value));
  if (key === 'vmgenid' && String(value) === '1') return randomUUID();
  if (/^net\d+$/.test(key)) return normalizeNic(cluster, g.type, key, String(value));
  if (g.type === 'qemu' && isQemuDrive(key)) return normalizeDisk(cluster, g, key, String(value));
  if (g.type === 'lxc' && (key === 'rootfs' || /^mp\d+$/.test(key))) return normalizeDisk(cluster, g, key, String(value));
  return value;
}

function normalizeNic(cluster: Cluster, type: GuestType, key: string, text: string): string {
  const format = keyFormat(type, key)!;
  const values = parsePropertyString(format, text);
  if (type === 'qemu') {
    values.macaddr ??= cluster.newMac();
  } else {
    values.hwaddr ??= cluster.newMac();
    values.type ??= 'veth';
  }
  return printPropertyString(format, values);
}

/**
 * A drive value: `<storage>:<GiB>` allocates a new volume, `<storage>:cloudinit` the cloud-init
 * drive, an existing volume gets its `size=`; `none` and paths stay as they are.
 */
function normalizeDisk(cluster: Cluster, g: Pick<Guest, 'vmid' | 'type' | 'node'>, key: string, text: string): string {
  const format = keyFormat(g.type, key)!;
  const values = parsePropertyString(format, text);
  const fileKey = g.type === 'lxc' ? 'volume' : 'file';
  const file = values[fileKey] ?? '';
  const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.exec(file);
  if (!m || file === 'none') return printPropertyString(format, values);
  const [, storageId, rest] = m as unknown as [string, string, string];
  const storage = cluster.storage(storageId);
  if (!storage) throw fail(`storage '${storageId}' does not exist`);
  if (/^\d+(\.\d+)?$/.test(rest) || rest === 'cloudinit') {
    const fmt = values.format ?? (storage.type === 'dir' ? 'qcow2' : 'raw');
    delete values.format;
    const cloudinit = rest === 'cloudinit';
    const importFrom = values['import-from'];
    delete values['import-from'];
    // qemu-server allocates the cloud-init drive with 4 MiB; an imported disk gets its source's size.
    const bytes = cloudinit ? 4 * 1024 * 1024 : importFrom !== undefined ? importedSize(cluster, g.node, importFrom, Number(rest)) : Number(rest) * 1024 ** 3;
    const volid = allocateVolume(cluster, g, storageId, cloudinit ? 'cloudinit' : 'disk', fmt, bytes);
    values[fileKey] = volid;
    if (cloudinit) values.media = 'cdrom';
    values.size = formatSize(bytes);
    return printPropertyString(format, values);
  }
  const volume = cluster.findVolume(g.node, file);
  if (!volume) throw fail(`volume '${file}' does not exist`);
  values.size ??= formatSize(volume.size);
  return printPropertyString(format, values);
}

/** The size of an `import-from` source: a volume's own size; a host path is taken at the requested GiB. */
function importedSize(cluster: Cluster, node: string, source: string, requestedGiB: number): number {
  if (source.startsWith('/')) return Math.max(1, requestedGiB) * 1024 ** 3;
  const volume = cluster.findVolume(node, source);
  if (!volume) throw fail(`volume '${source}' does not exist`);
  return volume.size;
}

/** True when a config value asks for a disk to be imported (`<storage>:0,import-from=...`). */
export const importsDisk = (value: unknown): boolean => /(?:^|,)import-from=/.test(String(value));

function allocateVolume(cluster: Cluster, g: Pick<Guest, 'vmid' | 'type' | 'node'>, storageId: string, kind: 'disk' | 'cloudinit', fmt: string, bytes: number): string {
  const storage = cluster.storage(storageId)!;
  if (!storage.content.split(',').includes(g.type === 'lxc' ? 'rootdir' : 'images')) {
    throw fail(`storage '${storageId}' does not support vm images`);
  }
  const list = cluster.volumes(g.node, storageId);
  const dir = storage.type === 'dir' || storage.type === 'nfs' || storage.type === 'cifs';
  const name = (n: number | null) => {
    const base = kind === 'cloudinit' ? `vm-${g.vmid}-cloudinit` : `vm-${g.vmid}-disk-${n}`;
    return dir ? `${storageId}:${g.vmid}/${base}.${fmt}` : `${storageId}:${base}`;
  };
  let volid = name(0);
  for (let n = 1; kind === 'disk' && list.some((v) => v.volid === volid); n++) volid = name(n);
  if (list.some((v) => v.volid === volid)) return volid; // the cloud-init drive already exists
  list.push({ volid, content: g.type === 'lxc' ? 'rootdir' : 'images', format: dir ? fmt : 'raw', size: bytes, ctime: Math.floor(Date.now() / 1000), vmid: g.vmid });
  return volid;
}

/** Keys a running QEMU guest takes at once (fast-plug, cloud-init, and the default hotplug set). */
function appliesLive(type: GuestType, key: string): boolean {
  if (type === 'lxc') return !/^(rootfs|mp\d+|arch|ostype|unprivileged)$/.test(key);
  return /^(name|description|tags|onboot|protection|startup|hookscript|lock|shares|vmstatestorage|migrate_\w+)$/.test(key)
    || /^(ci\w+|ipconfig\d+|nameserver|searchdomain|sshkeys)$/.test(key)
    || /^(net|usb)\d+$|^(scsi|virtio|sata)\d+$/.test(key);
}

/** `PUT|POST .../config`: sets, deletes and reverts, with PVE's checks and apply semantics. */
export function updateConfig(cluster: Cluster, g: Guest, params: Record<string, unknown>): void {
  const set: Config = {};
  for (const [k, v] of Object.entries(params)) if (!CONTROL_KEYS.has(k)) set[k] = v as Value;
  const deletes = listParam(params.delete).map((k) => (k === 'cdrom' && g.type === 'qemu' ? 'ide2' : k));
  const reverts = listParam(params.revert);
  if (!Object.keys(set).length && !deletes.length && !reverts.length) throw fail('no options specified');
  if (params.digest !== undefined && params.digest !== cluster.digest(g)) throw fail('checksum mismatch (file change by other user?)');
  if (params.skiplock === undefined || Number(params.skiplock) !== 1) cluster.assertUnlocked(g);
  for (const k of deletes) {
    if (!isConfigKey(g.type, k)) throw paramError({ delete: `unknown option '${k}'` });
    if (k in set) throw paramError({ delete: `you can't use '-${k}' and -delete ${k}' at the same time` });
  }
  for (const k of reverts) {
    if (k in set || deletes.includes(k)) throw paramError({ revert: `you can't use '-${k}' and '-revert ${k}' at the same time` });
  }
  const normalized: Config = {};
  for (const [k, v] of Object.entries(set)) normalized[k] = normalizeValue(cluster, g, k, v);

  for (const k of reverts) {
    delete g.pending[k];
    g.pendingDelete = g.pendingDelete.filter((d) => d !== k);
  }
  const live = g.status !== 'running';
  for (const [k, v] of Object.entries(normalized)) {
    if (live || appliesLive(g.type, k)) {
      g.config[k] = v;
      delete g.pending[k];
    } else g.pending[k] = v;
  }
  for (const k of deletes) {
    if (live || appliesLive(g.type, k)) {
      delete g.config[k];
      delete g.pending[k];
    } else if (!g.pendingDelete.includes(k)) g.pendingDelete.push(k);
  }
}

/** Applies what was pending (on a power cycle). */
export function applyPending(g: Guest): void {
  Object.assign(g.config, g.pending);
  for (const k of g.pendingDelete) delete g.config[k];
  g.pending = {};
  g.pendingDelete = [];
}

/** The config as `GET .../config` shows it: pending values applied unless `current`. */
export function configView(cluster: Cluster, g: Guest, current: boolean): Config {
  const view: Config = { ...g.config };
  if (!current) {
    Object.assign(view, g.pending);
    for (const k of g.pendingDelete) delete view[k];
  }
  if (view.cipassword !== undefined) view.cipassword = '**********';
  view.digest = cluster.digest(g);
  return view;
}

/** `GET .../pending`: one entry per key, with the pending value or deletion. */
export function pendingView(g: Guest): Record<string, unknown>[] {
  const keys = new Set([...Object.keys(g.config), ...Object.keys(g.pending), ...g.pendingDelete]);
  return [...keys].sort().map((key) => {
    const entry: Record<string, unknown> = { key };
    if (key in g.config) entry.value = key === 'cipassword' ? '**********' : g.config[key];
    if (key in g.pending) entry.pending = g.pending[key];
    if (g.pendingDelete.includes(key)) entry.delete = 1;
    return entry;
  });
}

