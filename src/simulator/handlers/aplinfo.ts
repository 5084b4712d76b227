import { createHash } from 'node:crypto';
import { fail, paramError } from '../errors.js';
import { CONTENT_DIR, fileFormat } from './storage.js';
import { str, who, type Register } from './types.js';

/**
 * The appliance index (`pveam available`) and its download (pve-manager API2/Nodes.pm `aplinfo`
 * and `apl_download`). Real nodes read it from download.proxmox.com's aplinfo-pve-8.dat; the
 * simulator ships a few entries of that index, in its shape.
 */

const SOURCE = 'http://download.proxmox.com/images/aplinfo-pve-8.dat';
const MAINTAINER = 'Proxmox Support Team <support@proxmox.com>';

interface Appliance {
  os: string;
  package: string;
  version: string;
  headline: string;
  template: string;
  description: string;
  /** Bytes the download produces. */
  size: number;
}

const APPLIANCES: Appliance[] = [
  { os: 'alpine', package: 'alpine-3.21-default', version: '3.21-1', headline: 'Alpine Linux 3.21', template: 'alpine-3.21-default_20241217_amd64.tar.xz', description: 'Alpine Linux is a security-oriented, lightweight Linux distribution based on musl and BusyBox.', size: 3_145_728 },
  { os: 'debian-12', package: 'debian-12-standard', version: '12.7-1', headline: 'Debian 12 Bookworm (standard)', template: 'debian-12-standard_12.7-1_amd64.tar.zst', description: 'A small Debian Bookworm system including all standard packages.', size: 126_156_143 },
  { os: 'rockylinux-9', package: 'rockylinux-9-default', version: '9-1', headline: 'Rocky Linux 9', template: 'rockylinux-9-default_20240912_amd64.tar.xz', description: 'Rocky Linux is a community enterprise operating system designed to be downstream compatible with RHEL.', size: 108_003_328 },
  { os: 'ubuntu-24.04', package: 'ubuntu-24.04-standard', version: '24.04-2', headline: 'Ubuntu 24.04 Noble (standard)', template: 'ubuntu-24.04-standard_24.04-2_amd64.tar.zst', description: 'A small Ubuntu 24.04 Noble Numbat system including all standard packages.', size: 141_557_064 },
];

const location = (a: Appliance) => `http://download.proxmox.com/images/system/${a.template}`;

function entry(a: Appliance) {
  return {
    type: 'lxc', section: 'system', os: a.os, package: a.package, version: a.version, headline: a.headline,
    description: a.description, template: a.template, location: location(a), source: SOURCE, maintainer: MAINTAINER,
    architecture: 'amd64', infopage: 'https://pve.proxmox.com/wiki/Linux_Container#pct_supported_distributions',
    sha512sum: createHash('sha512').update(a.template).digest('hex'),
  };
}

export function registerAplinfo(on: Register): void {
  on('GET', '/nodes/{node}/aplinfo', (ctx) => {
    ctx.cluster.node(str(ctx.params, 'node')!);
    return APPLIANCES.map(entry);
  });

  on('POST', '/nodes/{node}/aplinfo', (ctx) => {
    const node = ctx.cluster.node(str(ctx.params, 'node')!).name;
    const template = str(ctx.params, 'template')!;
    const appliance = APPLIANCES.find((a) => a.template === template);
    if (!appliance) throw paramError({ template: 'no such template' });
    const storage = ctx.cluster.requireStorage(node, str(ctx.params, 'storage')!);
    if (storage.disable) throw fail(`storage '${storage.storage}' is disabled`);
    if (!storage.content.split(',').includes('vztmpl')) throw fail(`storage '${storage.storage}' does not support templates`);
    const target = `${storage.path ?? ''}/${CONTENT_DIR.vztmpl}/${template}`;
    const volid = `${storage.storage}:vztmpl/${template}`;
    const list = ctx.cluster.volumes(node, storage.storage);
    return ctx.tasks.start({
      node, type: 'download', id: template, user: who(ctx), kind: 'download',
      work: (log) => {
        log(`downloading ${location(appliance)} to ${target}`);
        log(`calculating checksum of ${target}...OK, checksum verified`);
        const existing = list.findIndex((v) => v.volid === volid);
        if (existing >= 0) list.splice(existing, 1);
        list.push({ volid, content: 'vztmpl', format: fileFormat('vztmpl', template), size: appliance.size, ctime: Math.floor(Date.now() / 1000) });
        log(`download of '${location(appliance)}' to '${target}' finished`);
      },
    });
  });
}
