import { createHash } from 'node:crypto';
import { fail, paramError } from '../errors.js';
import type { Config, FirewallAlias, FirewallRule, Value } from '../model/types.js';
import { listParam } from './cluster.js';
import { num, str, type Ctx, type Register } from './types.js';

/**
 * Firewall options, rules and aliases at datacenter, node and guest level (pve-firewall): rules are
 * positional (new ones go to the top), every list item carries the list's digest, and aliases are
 * looked up case-insensitively.
 */

interface Scope {
  options: Config;
  rules: FirewallRule[];
  aliases?: FirewallAlias[];
}

const digestOf = (value: unknown) => createHash('sha1').update(JSON.stringify(value)).digest('hex');
const RULE_FIELDS = ['type', 'action', 'macro', 'source', 'dest', 'proto', 'dport', 'sport', 'iface', 'log', 'comment', 'icmp-type', 'enable'];
const NOT_OPTIONS = new Set(['node', 'vmid', 'delete', 'digest']);

function checkDigest(ctx: Ctx, current: string): void {
  const d = str(ctx.params, 'digest');
  if (d !== undefined && d !== current) throw fail('detected modified configuration - file changed by other user? Try again.');
}

function rule(scope: Scope, pos: number): FirewallRule {
  const r = scope.rules[pos];
  if (!r) throw fail(`no rule at position ${pos}`);
  return r;
}

/**
 * An alias reference in a rule's source or dest: `name`, or scoped `dc/name` (a datacenter alias)
 * or `guest/name` (an alias of the guest the rule belongs to). IP sets (`+name`, `+dc/name`,
 * `+guest/name`) in rules pass unchecked (pve-firewall would refuse an unknown set).
 */
const ALIAS_REF = /^(?:(dc|guest)\/)?([A-Za-z][A-Za-z0-9\-_]+)$/;

/**
 * Where a rule's alias references resolve: the aliases of the rule's own guest (none at datacenter
 * and node level) and the datacenter's.
 */
interface AliasScopes {
  guest?: FirewallAlias[];
  dc: FirewallAlias[];
}

/**
 * `verify_rule`'s alias check (pve-firewall): an unscoped name is looked up in the guest's aliases,
 * then the datacenter's; `guest/` and `dc/` only in that scope. Unknown → 400 `no such alias`.
 */
function checkAliasRefs(r: FirewallRule, scopes: AliasScopes): void {
  const errors: Record<string, string> = {};
  const has = (list: FirewallAlias[] | undefined, name: string) => !!list?.some((a) => a.name.toLowerCase() === name.toLowerCase());
  for (const key of ['source', 'dest'] as const) {
    const value = r[key];
    const m = typeof value === 'string' ? ALIAS_REF.exec(value) : null;
    if (!m) continue;
    const [, scope, name] = m;
    const found = (scope !== 'dc' && has(scopes.guest, name!)) || (scope !== 'guest' && has(scopes.dc, name!));
    if (!found) errors[key] = `no such alias '${String(value)}'`;
  }
  if (Object.keys(errors).length > 0) throw paramError(errors);
}

function ruleView(r: FirewallRule, pos: number, digest: string) {
  return { ...r, pos, ipversion: String(r.source ?? r.dest ?? '').includes(':') ? 6 : undefined, digest };
}

function registerScope(on: Register, base: string, scope: (ctx: Ctx) => Scope, withAliases: boolean, aliasScopes: (ctx: Ctx) => AliasScopes): void {
  on('GET', `${base}/options`, (ctx) => {
    const s = scope(ctx);
    return { ...s.options, digest: digestOf(s.options) };
  });
  on('PUT', `${base}/options`, (ctx) => {
    const s = scope(ctx);
    checkDigest(ctx, digestOf(s.options));
    for (const [k, v] of Object.entries(ctx.params)) if (!NOT_OPTIONS.has(k)) s.options[k] = v as Value;
    for (const k of listParam(ctx.params.delete)) delete s.options[k];
    return null;
  });

  on('GET', `${base}/rules`, (ctx) => {
    const s = scope(ctx);
    const digest = digestOf(s.rules);
    return s.rules.map((r, pos) => JSON.parse(JSON.stringify(ruleView(r, pos, digest))) as unknown);
  });
  on('POST', `${base}/rules`, (ctx) => {
    const s = scope(ctx);
    checkDigest(ctx, digestOf(s.rules));
    const r: FirewallRule = {};
    for (const k of RULE_FIELDS) if (ctx.params[k] !== undefined) r[k] = ctx.params[k] as Value;
    checkAliasRefs(r, aliasScopes(ctx));
    r.enable ??= 0;
    s.rules.unshift(r); // PVE 8.4 always inserts at the top; `pos` is ignored on create
    return null;
  });
  on('GET', `${base}/rules/{pos}`, (ctx) => {
    const s = scope(ctx);
    const pos = num(ctx.params, 'pos')!;
    return JSON.parse(JSON.stringify(ruleView(rule(s, pos), pos, digestOf(s.rules)))) as unknown;
  });
  on('PUT', `${base}/rules/{pos}`, (ctx) => {
    const s = scope(ctx);
    checkDigest(ctx, digestOf(s.rules));
    const pos = num(ctx.params, 'pos')!;
    const r = rule(s, pos);
    const moveto = num(ctx.params, 'moveto');
    if (moveto !== undefined && moveto !== pos) {
      // pve-firewall's update_rule: the rule is re-inserted *before* the rule that was at index
      // <moveto> (counted with the moved rule still in place), or appended when <moveto> is past
      // the end. Moving up it lands at <moveto>, moving down at <moveto> - 1. Other arguments are
      // ignored; moveto equal to pos is an ordinary update.
      const target = s.rules[moveto];
      s.rules.splice(pos, 1);
      s.rules.splice(target ? s.rules.indexOf(target) : s.rules.length, 0, r);
      return null;
    }
    const next: FirewallRule = { ...r };
    for (const k of RULE_FIELDS) {
      const v = ctx.params[k];
      if (v === undefined) continue;
      if (v === '' || v === '-') delete next[k];
      else next[k] = v as Value;
    }
    for (const k of listParam(ctx.params.delete)) delete next[k];
    checkAliasRefs(next, aliasScopes(ctx));
    for (const k of Object.keys(r)) delete r[k];
    Object.assign(r, next);
    return null;
  });
  on('DELETE', `${base}/rules/{pos}`, (ctx) => {
    const s = scope(ctx);
    checkDigest(ctx, digestOf(s.rules));
    const pos = num(ctx.params, 'pos')!;
    rule(s, pos);
    s.rules.splice(pos, 1);
    return null;
  });

  if (!withAliases) return;
  const aliases = (ctx: Ctx) => scope(ctx).aliases!;
  const find = (list: FirewallAlias[], name: string) => {
    const a = list.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!a) throw paramError({ name: 'no such alias' });
    return a;
  };
  on('GET', `${base}/aliases`, (ctx) => {
    const list = aliases(ctx);
    const digest = digestOf(list);
    return [...list].sort((a, b) => a.name.localeCompare(b.name)).map((a) => ({ ...a, ipversion: a.cidr.includes(':') ? 6 : 4, digest }));
  });
  on('POST', `${base}/aliases`, (ctx) => {
    const list = aliases(ctx);
    const name = str(ctx.params, 'name')!;
    if (list.some((a) => a.name.toLowerCase() === name.toLowerCase())) throw paramError({ name: `alias '${name}' already exists` });
    const comment = str(ctx.params, 'comment');
    list.push({ name, cidr: str(ctx.params, 'cidr')!, ...(comment !== undefined ? { comment } : {}) });
    return null;
  });
  on('GET', `${base}/aliases/{name}`, (ctx) => {
    const list = aliases(ctx);
    const a = find(list, str(ctx.params, 'name')!);
    return { ...a, ipversion: a.cidr.includes(':') ? 6 : 4, digest: digestOf(list) };
  });
  on('PUT', `${base}/aliases/{name}`, (ctx) => {
    const list = aliases(ctx);
    checkDigest(ctx, digestOf(list));
    const a = find(list, str(ctx.params, 'name')!);
    const rename = str(ctx.params, 'rename');
    if (rename !== undefined && rename.toLowerCase() !== a.name.toLowerCase() && list.some((x) => x.name.toLowerCase() === rename.toLowerCase())) {
      throw paramError({ name: `alias '${rename}' already exists` });
    }
    if (rename !== undefined) a.name = rename;
    a.cidr = str(ctx.params, 'cidr')!;
    const comment = str(ctx.params, 'comment');
    if (comment !== undefined) a.comment = comment;
    return null;
  });
  on('DELETE', `${base}/aliases/{name}`, (ctx) => {
    const list = aliases(ctx);
    checkDigest(ctx, digestOf(list));
    const a = list.find((x) => x.name.toLowerCase() === str(ctx.params, 'name')!.toLowerCase());
    if (a) list.splice(list.indexOf(a), 1); // deleting a missing alias is not an error in PVE
    return null;
  });
}

export function registerFirewall(on: Register): void {
  const dc = (ctx: Ctx) => ctx.cluster.state.firewall.aliases;
  registerScope(on, '/cluster/firewall', (ctx) => ctx.cluster.state.firewall, true, (ctx) => ({ dc: dc(ctx) }));
  registerScope(on, '/nodes/{node}/firewall', (ctx) => ctx.cluster.node(str(ctx.params, 'node')!).firewall, false, (ctx) => ({ dc: dc(ctx) }));
  for (const type of ['qemu', 'lxc'] as const) {
    const guestFirewall = (ctx: Ctx) => {
      const node = str(ctx.params, 'node')!;
      ctx.cluster.node(node);
      return ctx.cluster.requireGuest(node, num(ctx.params, 'vmid')!, type).firewall;
    };
    registerScope(on, `/nodes/{node}/${type}/{vmid}/firewall`, guestFirewall, true, (ctx) => ({ guest: guestFirewall(ctx).aliases, dc: dc(ctx) }));
  }
}
