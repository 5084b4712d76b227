import { createHash } from 'node:crypto';
import { fail, paramError } from '../errors.js';
import type { Firewall, FirewallAlias, IpSet, IpSetEntry } from '../model/types.js';
import { PveSpec } from '../schema/spec.js';
import { flag, num, str, type Ctx, type Register } from './types.js';

/**
 * Firewall IP sets and the `refs` list at datacenter and guest level (pve-firewall
 * API2/Firewall/IPSet.pm, Helpers.pm `collect_refs`): entries are inserted at the top, lists carry
 * the digest of `copy_list_with_digest`, and an entry is addressed by its CIDR as the rest of the
 * path (`.../ipset/servers/10.0.0.0/24`).
 */

const spec = PveSpec.load();

/** SHA1 over `key:value\n` of every entry's keys in sorted order, as `copy_list_with_digest` does. */
function listDigest(list: object[]): string {
  const sha = createHash('sha1');
  for (const entry of list) {
    for (const [k, v] of Object.entries(entry).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (v !== undefined && typeof v !== 'object') sha.update(`${k}:${String(v)}\n`);
    }
  }
  return sha.digest('hex');
}

function withDigest<T extends object>(list: T[]): (T & { digest: string })[] {
  const digest = listDigest(list);
  return list.map((e) => ({ ...e, digest }));
}

function checkDigest(ctx: Ctx, current: string): void {
  const d = str(ctx.params, 'digest');
  if (d !== undefined && d !== current) throw fail('detected modified configuration - file changed by other user? Try again.');
}

const ALIAS = /^(dc\/|guest\/)?([A-Za-z][A-Za-z0-9\-_]+)$/;

/** Where a scope's IP sets live and which aliases an entry may name. */
interface IpSetScope {
  firewall: (ctx: Ctx) => Firewall;
  /** The guest's own aliases (undefined at datacenter level). */
  localAliases: (ctx: Ctx) => FirewallAlias[] | undefined;
}

const ipsetsOf = (fw: Firewall) => (fw.ipsets ??= []);
const listEntry = (s: IpSet) => ({ name: s.name, ...(s.comment ? { comment: s.comment } : {}) });

function registerIpSets(on: Register, base: string, scope: IpSetScope): void {
  const find = (ctx: Ctx): IpSet => {
    const name = str(ctx.params, 'name')!;
    const set = ipsetsOf(scope.firewall(ctx)).find((s) => s.name === name);
    if (!set) throw fail(`no such IPSet '${name}'`);
    return set;
  };
  const sortedSets = (ctx: Ctx) => [...ipsetsOf(scope.firewall(ctx))].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  on('GET', `${base}/ipset`, (ctx) => withDigest(sortedSets(ctx).map(listEntry)));

  on('POST', `${base}/ipset`, (ctx) => {
    const sets = ipsetsOf(scope.firewall(ctx));
    const name = str(ctx.params, 'name')!;
    const rename = str(ctx.params, 'rename');
    const comment = str(ctx.params, 'comment');
    if (rename) {
      checkDigest(ctx, listDigest(sortedSets(ctx).map(listEntry)));
      const set = sets.find((s) => s.name === rename);
      if (!set) throw paramError({ name: `IPSet '${rename}' does not exist` });
      if (name !== rename && sets.some((s) => s.name === name)) throw paramError({ name: `IPSet '${name}' does already exist` });
      set.name = name;
      if (comment !== undefined) set.comment = comment;
      return null;
    }
    if (sets.some((s) => s.name === name)) throw paramError({ name: `IPSet '${name}' already exists` });
    sets.push({ name, ...(comment ? { comment } : {}), entries: [] });
    return null;
  });

  on('GET', `${base}/ipset/{name}`, (ctx) => withDigest(find(ctx).entries.map((e) => ({ ...e }))));

  on('POST', `${base}/ipset/{name}`, (ctx) => {
    const set = find(ctx);
    let cidr = str(ctx.params, 'cidr')!;
    const alias = ALIAS.exec(cidr);
    if (alias) resolveAlias(ctx, scope, alias[2]!, alias[1] ?? '', cidr);
    else cidr = cidr.trim().toLowerCase();
    if (set.entries.some((e) => e.cidr === cidr)) throw paramError({ cidr: `address '${cidr}' already exists` });
    if (/\/0+$/.test(cidr)) throw paramError({ cidr: 'a zero prefix is not allowed in ipset entries' });
    const entry: IpSetEntry = { cidr };
    if (flag(ctx.params, 'nomatch')) entry.nomatch = 1;
    const comment = str(ctx.params, 'comment');
    if (comment) entry.comment = comment;
    set.entries.unshift(entry);
    return null;
  });

  on('DELETE', `${base}/ipset/{name}`, (ctx) => {
    const set = find(ctx);
    if (set.entries.length && !flag(ctx.params, 'force')) throw fail(`IPSet '${set.name}' is not empty`);
    const sets = ipsetsOf(scope.firewall(ctx));
    sets.splice(sets.indexOf(set), 1);
    return null;
  });

  const entryOf = (set: IpSet, cidr: string) => set.entries.find((e) => e.cidr === cidr);

  on('GET', `${base}/ipset/{name}/{cidr*}`, (ctx) => {
    const set = find(ctx);
    const found = entryOf(set, str(ctx.params, 'cidr')!);
    if (!found) throw paramError({ cidr: 'no such IP/Network' });
    return { ...found, digest: listDigest(set.entries) };
  });

  on('PUT', `${base}/ipset/{name}/{cidr*}`, (ctx) => {
    const set = find(ctx);
    checkDigest(ctx, listDigest(set.entries));
    const found = entryOf(set, str(ctx.params, 'cidr')!);
    if (!found) throw paramError({ cidr: 'no such IP/Network' });
    // update_ip replaces both fields: what is not given is cleared.
    if (flag(ctx.params, 'nomatch')) found.nomatch = 1;
    else delete found.nomatch;
    const comment = str(ctx.params, 'comment');
    if (comment) found.comment = comment;
    else delete found.comment;
    return null;
  });

  on('DELETE', `${base}/ipset/{name}/{cidr*}`, (ctx) => {
    const set = find(ctx);
    checkDigest(ctx, listDigest(set.entries));
    const cidr = str(ctx.params, 'cidr')!;
    set.entries = set.entries.filter((e) => e.cidr !== cidr); // a missing entry is no error
    return null;
  });

  if (spec.has('GET', `${base}/refs`)) {
    on('GET', `${base}/refs`, (ctx) => {
      const type = str(ctx.params, 'type');
      const dc = ctx.cluster.state.firewall;
      const local = scope.localAliases(ctx) !== undefined ? scope.firewall(ctx) : undefined;
      return [...collectRefs(dc, 'dc', type), ...(local ? collectRefs(local, 'guest', type) : [])];
    });
  }
}

function resolveAlias(ctx: Ctx, scope: IpSetScope, name: string, prefix: string, text: string): void {
  const has = (list: FirewallAlias[] | undefined) => !!list?.some((a) => a.name.toLowerCase() === name.toLowerCase());
  const local = scope.localAliases(ctx);
  const found = (prefix !== 'dc/' && has(local)) || (prefix !== 'guest/' && has(ctx.cluster.state.firewall.aliases));
  if (!found) throw fail(`no such alias '${text}'`);
}

/** Helpers.pm `collect_refs`: IP sets as `+name`, aliases by their (lower-case) name, per scope. */
function collectRefs(fw: Firewall, scope: 'dc' | 'guest', type: string | undefined) {
  const out: Record<string, string>[] = [];
  if (!type || type === 'ipset') {
    for (const s of fw.ipsets ?? []) out.push({ type: 'ipset', name: s.name, ref: `+${s.name}`, scope, ...(s.comment ? { comment: s.comment } : {}) });
  }
  if (!type || type === 'alias') {
    for (const a of fw.aliases) {
      const name = a.name.toLowerCase();
      out.push({ type: 'alias', name, ref: name, scope, ...(a.comment ? { comment: a.comment } : {}) });
    }
  }
  return out;
}

export function registerFirewallIpSets(on: Register): void {
  registerIpSets(on, '/cluster/firewall', { firewall: (ctx) => ctx.cluster.state.firewall, localAliases: () => undefined });
  for (const type of ['qemu', 'lxc'] as const) {
    const guestFirewall = (ctx: Ctx) => {
      const node = str(ctx.params, 'node')!;
      ctx.cluster.node(node);
      return ctx.cluster.requireGuest(node, num(ctx.params, 'vmid')!, type).firewall;
    };
    registerIpSets(on, `/nodes/{node}/${type}/{vmid}/firewall`, { firewall: guestFirewall, localAliases: (ctx) => guestFirewall(ctx).aliases });
  }
}
