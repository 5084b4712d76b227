import { fail, paramError } from '../errors.js';
import { num, str, who, type Ctx, type Register } from './types.js';

/** Storage configuration, per-node status, volumes and download-url (the node fetches, we record). */

const FILE_BASED = new Set(['dir', 'nfs', 'cifs', 'cephfs', 'glusterfs', 'btrfs']);
const EXTENSIONS: Record<string, RegExp> = {
  iso: /\.(iso|img)$/i,
  vztmpl: /\.tar\.(gz|xz|zst)$/i,
  import: /\.(ova|ovf|qcow2|raw|vmdk|img)$/i,
};

/** Where a file-based storage keeps each content type (pve-storage `get_iso_dir`, `get_vztmpl_dir`, `get_import_dir`). */
export const CONTENT_DIR: Record<string, string> = { iso: 'template/iso', vztmpl: 'template/cache', import: 'import' };

/** The `format` a volume of these contents lists with. */
export function fileFormat(content: string, filename: string): string {
  if (content === 'iso') return 'iso';
  const tar = /\.tar\.(gz|xz|zst|bz2)$/i.exec(filename);
  if (tar) return `t${tar[1]!.toLowerCase().replace('bz2', 'bz')}`;
  return /\.(ova|ovf|qcow2|raw|vmdk)$/i.exec(filename)?.[1]?.toLowerCase() ?? 'raw';
}

const UPLOAD_EXTENSIONS: Record<string, [RegExp, string]> = {
  iso: [/^[^/]+\.(?:iso|img)$/i, 'wrong file extension'],
  vztmpl: [/^[^/]+\.tar\.(gz|xz|zst|bz2)$/i, 'wrong file extension'],
  import: [/^[a-zA-Z0-9_.-]+\.(ova|qcow2|raw|vmdk)$/, 'invalid filename or wrong extension'],
};

export function registerStorage(on: Register): void {
  on('GET', '/storage', (ctx) => {
    const type = str(ctx.params, 'type');
    return ctx.cluster.state.storages.filter((s) => !type || s.type === type).map(({ total: _t, ...s }) => ({ ...s, digest: 'a3f0c1e2b4d5' }));
  });

  on('GET', '/storage/{storage}', (ctx) => {
    const s = ctx.cluster.storage(str(ctx.params, 'storage')!);
    if (!s) throw fail(`storage '${str(ctx.params, 'storage')}' does not exist`);
    const { total: _t, ...config } = s;
    return { ...config, digest: 'a3f0c1e2b4d5' };
  });

  on('GET', '/nodes/{node}/storage', (ctx) => {
    const node = ctx.cluster.node(str(ctx.params, 'node')!).name;
    const content = str(ctx.params, 'content');
    const only = str(ctx.params, 'storage');
    return ctx.cluster.state.storages
      .filter((s) => (!s.nodes || s.nodes.split(',').includes(node)) && (!only || s.storage === only))
      .filter((s) => !content || content.split(',').some((c) => s.content.split(',').includes(c)))
      .map((s) => {
        const used = ctx.cluster.usedBytes(node, s.storage);
        return {
          storage: s.storage, type: s.type, content: s.content, active: 1, enabled: s.disable ? 0 : 1, shared: s.shared,
          total: s.total, used, avail: s.total - used, used_fraction: Math.round((used / s.total) * 1e6) / 1e6,
        };
      });
  });

  on('GET', '/nodes/{node}/storage/{storage}/status', (ctx) => {
    const node = ctx.cluster.node(str(ctx.params, 'node')!).name;
    const s = ctx.cluster.requireStorage(node, str(ctx.params, 'storage')!);
    const used = ctx.cluster.usedBytes(node, s.storage);
    return { storage: s.storage, type: s.type, content: s.content, active: 1, enabled: 1, shared: s.shared, total: s.total, used, avail: s.total - used };
  });

  const storageOf = (ctx: Ctx) => {
    const node = ctx.cluster.node(str(ctx.params, 'node')!).name;
    return { node, storage: ctx.cluster.requireStorage(node, str(ctx.params, 'storage')!) };
  };

  on('GET', '/nodes/{node}/storage/{storage}/content', (ctx) => {
    const { node, storage } = storageOf(ctx);
    const content = str(ctx.params, 'content');
    const vmid = num(ctx.params, 'vmid');
    return ctx.cluster.volumes(node, storage.storage)
      .filter((v) => (!content || v.content === content) && (vmid === undefined || v.vmid === vmid))
      .map((v) => ({ ...v }));
  });

  const volume = (ctx: Ctx) => {
    const { node, storage } = storageOf(ctx);
    let volid = str(ctx.params, 'volume')!;
    if (!volid.includes(':')) volid = `${storage.storage}:${volid}`;
    const v = ctx.cluster.volumes(node, storage.storage).find((x) => x.volid === volid);
    if (!v) throw fail(`volume '${volid}' does not exist`);
    return { node, storage, v };
  };

  on('GET', '/nodes/{node}/storage/{storage}/content/{volume*}', (ctx) => {
    const { v, storage } = volume(ctx);
    return { path: `${storage.path ?? '/dev/pve'}/${v.volid.split(':')[1]}`, size: v.size, used: v.size, format: v.format };
  });

  on('DELETE', '/nodes/{node}/storage/{storage}/content/{volume*}', (ctx) => {
    const { node, storage, v } = volume(ctx);
    const list = ctx.cluster.volumes(node, storage.storage);
    if (v.vmid !== undefined && ctx.cluster.guest(v.vmid)) {
      const g = ctx.cluster.guest(v.vmid)!;
      if (Object.values(g.config).some((val) => String(val).split(',', 1)[0] === v.volid)) {
        throw fail(`unable to delete '${v.volid}' - volume is still in use (referenced by VM ${v.vmid})`);
      }
    }
    return ctx.tasks.start({ node, type: 'imgdel', id: '', user: who(ctx), work: () => { list.splice(list.indexOf(v), 1); } });
  });

  // pve-storage API2/Storage/Status.pm `upload`: the file arrives as multipart and is copied into place in an `imgcopy` task.
  on('POST', '/nodes/{node}/storage/{storage}/upload', (ctx) => {
    const { node, storage } = storageOf(ctx);
    if (storage.disable) throw fail(`storage '${storage.storage}' is disabled`);
    if (!FILE_BASED.has(storage.type)) throw fail(`can't upload to storage type '${storage.type}'`);
    const tmpfilename = str(ctx.params, 'tmpfilename');
    if (!tmpfilename || !ctx.upload) throw fail('missing temporary file name');
    const content = str(ctx.params, 'content')!;
    const filename = str(ctx.params, 'filename')!.trim().replace(/^.*[/\\]/, '').replace(/[^a-zA-Z0-9_.-]/g, '_');
    const [pattern, message] = UPLOAD_EXTENSIONS[content]!;
    if (!pattern.test(filename)) throw paramError({ filename: message });
    if (!storage.content.split(',').includes(content)) throw fail(`storage '${storage.storage}' does not support '${content}' content`);
    const size = ctx.upload.size;
    const dest = `${storage.path ?? ''}/${CONTENT_DIR[content]}/${filename}`;
    const volid = `${storage.storage}:${content}/${filename}`;
    const list = ctx.cluster.volumes(node, storage.storage);
    return ctx.tasks.start({
      node, type: 'imgcopy', id: '', user: who(ctx), kind: 'download',
      work: (log) => {
        log(`starting file import from: ${tmpfilename}`);
        log(`target node: ${node}`);
        log(`target file: ${dest}`);
        log(`file size is: ${size}`);
        log(`command: cp -- ${tmpfilename} ${dest}`);
        const existing = list.findIndex((x) => x.volid === volid);
        if (existing >= 0) list.splice(existing, 1);
        list.push({ volid, content, format: fileFormat(content, filename), size, ctime: Math.floor(Date.now() / 1000) });
        log('finished file import successfully');
      },
    });
  });

  on('POST', '/nodes/{node}/storage/{storage}/download-url', (ctx) => {
    const { node, storage } = storageOf(ctx);
    const content = str(ctx.params, 'content')!;
    const filename = str(ctx.params, 'filename')!;
    if (storage.disable) throw fail(`storage '${storage.storage}' is disabled`);
    if (!FILE_BASED.has(storage.type)) throw fail(`can't upload to storage type '${storage.type}', not a file based storage!`);
    if (!storage.content.split(',').includes(content)) throw fail(`storage '${storage.storage}' is not configured for content-type '${content}'`);
    if (EXTENSIONS[content] && !EXTENSIONS[content]!.test(filename)) throw paramError({ filename: 'wrong file extension' });
    const url = str(ctx.params, 'url')!;
    const volid = `${storage.storage}:${content}/${filename}`;
    const list = ctx.cluster.volumes(node, storage.storage);
    return ctx.tasks.start({
      node, type: 'download', id: filename.replace(/[:\s/]/g, '_'), user: who(ctx), kind: 'download',
      work: (log) => {
        log(`downloading ${url} to ${storage.path ?? ''}/template/${content}/${filename}`);
        const size = 50 * 1024 * 1024 + (filename.length * 7919 % 1000) * 1024 * 1024;
        const existing = list.find((x) => x.volid === volid);
        if (existing) list.splice(list.indexOf(existing), 1);
        list.push({ volid, content, format: fileFormat(content, filename), size, ctime: Math.floor(Date.now() / 1000) });
        log(`download of '${url}' to '${volid}' finished`);
      },
    });
  });
}
