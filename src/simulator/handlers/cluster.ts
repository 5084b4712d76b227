import { paramError } from '../errors.js';
import { guestUsage, nodeUsage } from '../model/metrics.js';
import { UPID_PATTERN, type Task } from '../model/tasks.js';
import type { Guest } from '../model/types.js';
import { Envelope, num, str, type Ctx, type Register } from './types.js';

/** Version, nodes, cluster-wide views, datacenter options, tasks and ticket login. */

const PVE_VERSION = { version: '8.4.1', release: '8.4', repoid: '2a5fa54a8503f96d' };

function guestResource(g: Guest, now: number) {
  const u = guestUsage(g, now);
  const entry: Record<string, unknown> = {
    id: `${g.type}/${g.vmid}`, type: g.type, vmid: g.vmid, node: g.node,
    name: String(g.config.name ?? g.config.hostname ?? `${g.type === 'qemu' ? 'VM' : 'CT'} ${g.vmid}`),
    status: g.status, template: g.config.template === 1 ? 1 : 0,
    maxcpu: u.cpus, cpu: u.cpu, maxmem: u.maxmem, mem: u.mem, maxdisk: u.maxdisk, disk: u.disk,
    netin: u.netin, netout: u.netout, diskread: u.diskread, diskwrite: u.diskwrite, uptime: u.uptime,
  };
  if (g.config.tags !== undefined) entry.tags = g.config.tags;
  if (g.config.lock !== undefined) entry.lock = g.config.lock;
  return entry;
}

function nodeEntry(ctx: Ctx, name: string, now: number) {
  const node = ctx.cluster.findNode(name)!;
  const base = { id: `node/${node.name}`, type: 'node', node: node.name, level: '' };
  if (!node.online) return { ...base, status: 'offline' };
  const u = nodeUsage(node, ctx.cluster.guestsOf(node.name), now);
  return { ...base, status: 'online', ...u, disk: 12 * 1024 ** 3, maxdisk: 100 * 1024 ** 3 };
}

function storageResources(ctx: Ctx) {
  const out: Record<string, unknown>[] = [];
  for (const node of ctx.cluster.state.nodes) {
    for (const s of ctx.cluster.state.storages) {
      if (s.nodes && !s.nodes.split(',').includes(node.name)) continue;
      out.push({
        id: `storage/${node.name}/${s.storage}`, type: 'storage', storage: s.storage, node: node.name,
        plugintype: s.type, status: node.online ? 'available' : 'unknown', shared: s.shared, content: s.content,
        disk: ctx.cluster.usedBytes(node.name, s.storage), maxdisk: s.total,
      });
    }
  }
  return out;
}

export function registerCluster(on: Register): void {
  on('GET', '/version', () => PVE_VERSION);

  on('GET', '/nodes', (ctx) => {
    const now = Date.now();
    return ctx.cluster.state.nodes.map((n) => nodeEntry(ctx, n.name, now));
  });

  on('GET', '/nodes/{node}/status', (ctx) => {
    const node = ctx.cluster.node(str(ctx.params, 'node')!);
    const u = nodeUsage(node, ctx.cluster.guestsOf(node.name));
    return {
      uptime: u.uptime, cpu: u.cpu, wait: 0.0012, idle: 0,
      loadavg: [(u.cpu * node.cpus).toFixed(2), (u.cpu * node.cpus * 0.9).toFixed(2), (u.cpu * node.cpus * 0.8).toFixed(2)],
      memory: { total: u.maxmem, used: u.mem, free: u.maxmem - u.mem },
      swap: { total: 8 * 1024 ** 3, used: 0, free: 8 * 1024 ** 3 },
      rootfs: { total: 100 * 1024 ** 3, used: 12 * 1024 ** 3, free: 88 * 1024 ** 3, avail: 83 * 1024 ** 3 },
      ksm: { shared: 0 },
      cpuinfo: { model: 'Simulated CPU @ 3.00GHz', cpus: node.cpus, sockets: 1, cores: node.cpus, mhz: '3000.000', hvm: '1', flags: 'fpu vme de pse' },
      kversion: 'Linux 6.8.12-9-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9 (2025-03-16T19:18Z) x86_64',
      pveversion: `pve-manager/${PVE_VERSION.version}/${PVE_VERSION.repoid}`,
      'current-kernel': { sysname: 'Linux', release: '6.8.12-9-pve', machine: 'x86_64', version: '#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9' },
      'boot-info': { mode: 'efi', secureboot: 0 },
    };
  });

  on('GET', '/nodes/{node}/version', (ctx) => {
    ctx.cluster.node(str(ctx.params, 'node')!);
    return PVE_VERSION;
  });

  on('GET', '/cluster/resources', (ctx) => {
    const type = str(ctx.params, 'type');
    const now = Date.now();
    const out: Record<string, unknown>[] = [];
    if (!type || type === 'vm') {
      for (const g of [...ctx.cluster.state.guests].sort((a, b) => a.vmid - b.vmid)) out.push(guestResource(g, now));
    }
    if (!type || type === 'node') for (const n of ctx.cluster.state.nodes) out.push(nodeEntry(ctx, n.name, now));
    if (!type || type === 'storage') out.push(...storageResources(ctx));
    if (!type || type === 'sdn') {
      for (const n of ctx.cluster.state.nodes) out.push({ id: `sdn/${n.name}/localnetwork`, type: 'sdn', sdn: 'localnetwork', node: n.name, status: 'ok' });
    }
    return out;
  });

  on('GET', '/cluster/status', (ctx) => [
    { id: 'cluster', type: 'cluster', name: ctx.cluster.state.clusterName, nodes: ctx.cluster.state.nodes.length, quorate: 1, version: 3 },
    ...ctx.cluster.state.nodes.map((n, i) => ({
      id: `node/${n.name}`, type: 'node', name: n.name, nodeid: i + 1, online: n.online ? 1 : 0, local: i === 0 ? 1 : 0,
      ip: `192.168.1.${10 + i}`, level: '',
    })),
  ]);

  on('GET', '/cluster/nextid', (ctx) => {
    const wanted = num(ctx.params, 'vmid');
    if (wanted !== undefined) {
      if (ctx.cluster.guest(wanted)) throw paramError({ vmid: `VM ${wanted} already exists` });
      return String(wanted);
    }
    // A string in practice (Perl scalar), although the schema says integer.
    return String(ctx.cluster.nextId());
  });

  on('GET', '/cluster/options', (ctx) => ({ ...ctx.cluster.state.options }));
  on('PUT', '/cluster/options', (ctx) => {
    const { delete: del, ...set } = ctx.params;
    Object.assign(ctx.cluster.state.options, set);
    for (const k of listParam(del)) delete ctx.cluster.state.options[k];
    return null;
  });

  // ---- tasks -------------------------------------------------------------------------------

  on('GET', '/nodes/{node}/tasks', (ctx) => {
    const node = str(ctx.params, 'node')!;
    ctx.cluster.node(node);
    const start = num(ctx.params, 'start') ?? 0;
    const limit = num(ctx.params, 'limit') ?? 50;
    const matches = taskFilter(ctx.params);
    const source = str(ctx.params, 'source') ?? 'archive';
    // Running tasks come from the `active` file, finished ones from the archive (`index`), newest first.
    const listed = ctx.tasks.list(node);
    const all = [
      ...(source === 'archive' ? [] : listed.filter((t) => t.status === 'running')),
      ...(source === 'active' ? [] : listed.filter((t) => t.status === 'stopped')),
    ].filter(matches);
    const page = all.slice(start, limit <= 0 ? start : start + limit).map((t) => ({
      upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime, type: t.type, id: t.id, ...taskOwner(t),
      ...(t.status === 'stopped' ? { status: t.exitstatus, endtime: t.endtime } : { status: 'RUNNING' }),
    }));
    return new Envelope(page, { total: all.length });
  });

  const task = (ctx: Ctx) => {
    const node = str(ctx.params, 'node')!;
    ctx.cluster.node(node);
    const upid = str(ctx.params, 'upid')!;
    if (!UPID_PATTERN.test(upid)) throw paramError({ upid: 'unable to parse worker upid' });
    const t = ctx.tasks.get(upid);
    if (!t || t.node !== node) throw paramError({ upid: 'no such task' });
    return t;
  };

  on('GET', '/nodes/{node}/tasks/{upid}/status', (ctx) => {
    const t = task(ctx);
    return {
      upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime, type: t.type, id: t.id, ...taskOwner(t),
      status: t.status, ...(t.status === 'stopped' ? { exitstatus: t.exitstatus } : {}),
    };
  });

  on('GET', '/nodes/{node}/tasks/{upid}/log', (ctx) => {
    const t = task(ctx);
    const start = num(ctx.params, 'start') ?? 0;
    const limit = num(ctx.params, 'limit') ?? 50;
    const lines = t.log.length ? t.log : ['no content'];
    const page = lines.slice(start, limit === 0 ? undefined : start + limit).map((text, i) => ({ n: start + i + 1, t: text }));
    return new Envelope(page, { total: lines.length });
  });

  on('DELETE', '/nodes/{node}/tasks/{upid}', (ctx) => {
    ctx.tasks.stop(task(ctx).upid);
    return null;
  });

  on('GET', '/nodes/{node}/tasks/{upid}', (ctx) => {
    task(ctx);
    return [{ name: 'log' }, { name: 'status' }];
  });
}

/** A token's task names the user and the token apart (pve-manager Tasks.pm `$convert_token_task`). */
function taskOwner(t: Task): { user: string; tokenid?: string } {
  const bang = t.user.indexOf('!');
  return bang > 0 ? { user: t.user.slice(0, bang), tokenid: t.user.slice(bang + 1) } : { user: t.user };
}

/** `upid_normalize_status_type` (pve-common Tools.pm): what `statusfilter` matches against. */
function statusType(t: Task): 'ok' | 'warning' | 'error' | 'unknown' {
  const status = t.status === 'stopped' ? t.exitstatus : undefined;
  if (!status || status === 'unexpected status') return 'unknown';
  if (status === 'OK') return 'ok';
  return /^WARNINGS: \d+$/.test(status) ? 'warning' : 'error';
}

/**
 * The filters of `GET /nodes/{node}/tasks` as pve-manager's API2/Tasks.pm `node_tasks` applies
 * them: `userfilter` is a case-insensitive substring, `typefilter` and `vmid` exact, `since` and
 * `until` bound the start time (inclusive), `statusfilter` lists ok/warning/error/unknown (a running
 * task is "unknown"), and `errors=1` drops the OK ones (it wins over `statusfilter`).
 */
function taskFilter(params: Record<string, unknown>): (t: Task) => boolean {
  const userfilter = str(params, 'userfilter')?.toLowerCase();
  const typefilter = str(params, 'typefilter');
  const vmid = str(params, 'vmid');
  const since = num(params, 'since');
  const until = num(params, 'until');
  const errors = num(params, 'errors') === 1;
  const wanted = new Set(['ok', 'warning', 'error', 'unknown']);
  const statusfilter = str(params, 'statusfilter');
  if (errors) wanted.delete('ok');
  else if (statusfilter !== undefined) {
    wanted.clear();
    for (const s of listParam(statusfilter)) wanted.add(s.toLowerCase());
  }
  return (t) => (!userfilter || taskOwner(t).user.toLowerCase().includes(userfilter))
    && (!typefilter || t.type === typefilter)
    && (!vmid || vmid === '0' || t.id === vmid)
    && (since === undefined || t.starttime >= since)
    && (until === undefined || t.starttime <= until)
    && wanted.has(statusType(t));
}

/** A `*-list` parameter: comma, semicolon or space separated. */
export function listParam(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return String(v).split(/[,;\s]+/).filter(Boolean);
}
