import { fail } from '../errors.js';
import type { Group } from '../model/types.js';
import { num, str, type Register } from './types.js';

/** Access control as far as clients read it: realms, ticket login, users, groups (no ACLs). */

export function registerAccess(on: Register): void {
  on('GET', '/access/domains', () => [
    { realm: 'pam', type: 'pam', comment: 'Linux PAM standard authentication' },
    { realm: 'pve', type: 'pve', comment: 'Proxmox VE authentication server' },
  ]);

  on('GET', '/access/ticket', () => null);

  on('POST', '/access/ticket', (ctx) => {
    const { ticket, csrf, userid } = ctx.auth.login(str(ctx.params, 'username')!, str(ctx.params, 'password')!, str(ctx.params, 'realm'));
    return {
      username: userid, ticket, CSRFPreventionToken: csrf, clustername: ctx.cluster.state.clusterName,
      cap: { vms: { 'VM.Audit': 1, 'VM.PowerMgmt': 1, 'VM.Allocate': 1 }, storage: { 'Datastore.Audit': 1 }, nodes: { 'Sys.Audit': 1 }, access: {}, dc: {}, sdn: {}, mapping: {} },
    };
  });

  on('GET', '/access/users', (ctx) => ctx.cluster.state.users.map((u) => ({
    userid: u.userid, enable: u.enable ?? 1, expire: 0, realm_type: u.userid.split('@')[1] ?? 'pam',
    ...(num(ctx.params, 'full') === 1 ? { tokens: (u.tokens ?? []).map((t) => ({ tokenid: t.id, privsep: t.privsep ?? 1, expire: t.expire ?? 0 })) } : {}),
  })));

  on('GET', '/access/users/{userid}', (ctx) => {
    const u = ctx.cluster.state.users.find((x) => x.userid === str(ctx.params, 'userid'));
    if (!u) throw fail(`no such user ('${str(ctx.params, 'userid')}')`);
    return { enable: u.enable ?? 1, expire: 0, tokens: Object.fromEntries((u.tokens ?? []).map((t) => [t.id, { privsep: t.privsep ?? 1, expire: t.expire ?? 0 }])) };
  });

  // pve-access-control API2/Group.pm: `users` is the sorted members joined with commas.
  on('GET', '/access/groups', (ctx) => ctx.cluster.state.groups.map((g) => groupEntry(g)));

  on('GET', '/access/groups/{groupid}', (ctx) => {
    const id = str(ctx.params, 'groupid')!;
    const g = ctx.cluster.state.groups.find((x) => x.groupid === id);
    if (!g) throw fail(`group '${id}' does not exist`);
    return { members: [...g.members], ...(g.comment !== undefined ? { comment: g.comment } : {}) };
  });
}

function groupEntry(g: Group) {
  return { groupid: g.groupid, ...(g.comment !== undefined ? { comment: g.comment } : {}), users: [...g.members].sort().join(',') };
}
