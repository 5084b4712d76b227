import path from 'node:path';
import { ApiError } from '../http/api-error.js';
import { controllerRole, type ControllerRole } from '../catalog/role-actions.js';
import { actionInputs } from '../catalog/role-inputs.js';
import { isServiceVar } from './service-vars.js';
import { inventoryNames } from '../proxmox/credentials.js';
import { requireFile, resolveCatalogPlaybook, resolveInventory } from '../engine/names.js';
import type { RunSpec } from '../engine/types.js';
import type { GuestRef } from '../proxmox/guests.js';
import type { Body, ProxmoxReads, RouteContext } from './types.js';

/** Shared steps of the route plans: which playbook, which inventory, which extravars. */

const genericPlaybook = (ctx: RouteContext) =>
  requireFile(path.join(ctx.config.localPlaybooksDir, 'generic.yml'), ':: err - MISSING PLAYBOOK');

export const hostsInventory = (ctx: RouteContext) => resolveInventory(ctx.config.inventoryDir, 'hosts');

export const bundlePlaybook = (ctx: RouteContext, name: string, file = 'main.yml') =>
  resolveCatalogPlaybook(ctx.config.publicPlaybooksDir, 'bundles', name, file);

/** Body fields copied when not null (`nonNull`) or when truthy (`truthy`: also skips "", 0, false). */
export function pick(body: Body, keys: readonly string[], rule: 'nonNull' | 'truthy' = 'nonNull'): Body {
  const out: Body = {};
  for (const k of keys) {
    const v = body[k];
    if (rule === 'nonNull' ? v !== null && v !== undefined : Boolean(v)) out[k] = v;
  }
  return out;
}

/** One action of the Proxmox controller role through playbooks/generic.yml on the `proxmox` group. */
export function roleRun(ctx: RouteContext, action: string, vars: Body): RunSpec {
  const playbook = genericPlaybook(ctx); // checked before the inventory, as in the original
  const role = controllerRole(ctx.config.projectRootDir); // read once for both checks
  requireRoleAction(role, action);
  const extravars = { proxmox_vm_action: action, hosts: 'proxmox', ...vars };
  requireRoleInputs(ctx, role, action, extravars);
  return { playbook, inventory: hostsInventory(ctx), limit: 'proxmox', extravars, label: action };
}

/** Node for a name lookup: the request's, or the inventory's when the request leaves it empty. */
export const nodeOrNull = (body: Body) => (typeof body.proxmox_node === 'string' && body.proxmox_node !== '' ? body.proxmox_node : null);

export function requireNode(body: Body): string {
  const node = nodeOrNull(body);
  if (node === null) throw new ApiError(400, ':: err - proxmox_node must not be empty for this operation');
  return node;
}

/** The node and VM id every single-VM action takes. */
export const vmVars = (body: Body): Body => ({ proxmox_node: body.proxmox_node, vm_id: body.vm_id });

/** The Proxmox reads of the context (every context the service builds has them). */
export function proxmoxReads(ctx: RouteContext): ProxmoxReads {
  if (!ctx.proxmox) throw new Error('this route context cannot read the Proxmox API');
  return ctx.proxmox;
}

/**
 * The guest a per-guest request names: a VM or a container, looked up once (`/cluster/resources`);
 * a 404 naming the id and the node when it is neither.
 */
export const guestOf = (body: Body, ctx: RouteContext): Promise<GuestRef> => proxmoxReads(ctx).guest(nodeOrNull(body), String(body.vm_id));

/**
 * One role action on a guest: `qemuAction` for a VM, `lxcAction` (with `lxcVars`) for a container,
 * whose published values then make the answer's `result` (the answer's shape is the route's).
 */
export function guestRun(ctx: RouteContext, guest: GuestRef, qemuAction: string, vars: Body, lxcAction: string, lxcVars: Body = vars): RunSpec {
  if (guest.kind === 'qemu') return roleRun(ctx, qemuAction, vars);
  return { ...roleRun(ctx, lxcAction, lxcVars), resultKey: lxcAction };
}

/** `vm_x` → `lxc_x`: the container spelling of a VM action or variable of the role. */
export const lxcName = (vmName: string): string => vmName.replace(/^vm_/, 'lxc_');

/**
 * A refusal that needs the configuration to decide (not the schema alone): a 422 in the usual
 * validation format, raised by a plan before anything runs.
 */
export function fieldError(field: string, msg: string, input: unknown): ApiError {
  return new ApiError(422, [{ field: `body.${field}`, msg, type: 'value_error', input, ctx: null }]);
}

/**
 * `proxmox_api_host` (the original's datacenter-firewall field) may only name a Proxmox API host
 * the configuration already has: the run sends the API token to that host.
 */
export function checkedApiHost(body: Body, ctx: RouteContext): Body {
  const host = body.proxmox_api_host;
  if (typeof host !== 'string' || host === '') return {};
  const known = ctx.proxmoxApiHosts();
  if (!known.includes(host)) {
    throw fieldError('proxmox_api_host', `Value error, not a Proxmox API host of this service's configuration (known: ${known.join(', ') || 'none'})`, host);
  }
  return { proxmox_api_host: host };
}

/**
 * An Ansible `--limit` from a request (`hosts`): every name in it (`,` or `:` separated) must be a
 * host or group of the inventory. Ansible would run on nothing for an unknown name, but a name
 * such as `localhost` would reach the implicit local host: the service's own machine.
 */
export function checkedLimit(body: Body, ctx: RouteContext, field = 'hosts'): string | null {
  const value = body[field];
  if (value === null || value === undefined || value === '') return null;
  const limit = String(value);
  const names = inventoryNames(hostsInventory(ctx));
  const unknown = limit.split(/[,:]/).filter((n) => n !== '' && !names.has(n));
  if (unknown.length > 0) throw fieldError(field, `Value error, not a host or group of the inventory: ${unknown.join(', ')}`, value);
  return limit;
}

/**
 * 422 when the controller role's task file for `action` reads a variable without a default that
 * neither the run's extra vars nor the configuration (inventory, vault file) give: the run would
 * start, then fail on "'<name>' is undefined". Only for a role that does not declare its actions
 * (an upstream-shaped one: see catalog/role-inputs.ts); the service's own variables are the
 * configuration's business, never the request's, and are not asked for.
 */
function requireRoleInputs(ctx: RouteContext, role: ControllerRole | null, action: string, extravars: Body): void {
  const inputs = actionInputs(role, action);
  if (!inputs || inputs.required.length === 0) return;
  const configured = ctx.configuredVarNames();
  if (configured === null) return;
  const given = (name: string) => extravars[name] !== undefined && extravars[name] !== null;
  const missing = inputs.required.filter((name) => !given(name) && !configured.has(name) && !isServiceVar(name));
  if (missing.length === 0) return;
  const file = path.relative(ctx.config.projectRootDir, inputs.file);
  throw new ApiError(422, missing.map((name) => ({
    field: 'body',
    msg: `Value error, the controller role's ${action} (${file}) needs ${name}, which this request does not give and the inventory does not set`,
    type: 'missing',
    input: null,
    ctx: { variable: name, action, role_file: file },
  })));
}

/**
 * 501 before anything is read from Proxmox when the role has neither the VM nor the container
 * spelling of an action: which one a guest needs is only known after the lookup, but a role with
 * neither can run nothing whatever the guest is.
 */
export function requireGuestAction(ctx: RouteContext, qemuAction: string, lxcAction = lxcName(qemuAction)): void {
  const role = controllerRole(ctx.config.projectRootDir);
  if (role?.actions && !role.actions.has(lxcAction)) requireRoleAction(role, qemuAction);
}

/**
 * 501 when the controller role on the roles path has no such action (a third-party role may lack
 * the newer ones, such as vm_set_name): it would run nothing and answer an empty success.
 */
function requireRoleAction(role: ControllerRole | null, action: string): void {
  if (role?.actions && !role.actions.has(action)) {
    throw new ApiError(501, `:: err - the Proxmox controller role at ${role.roleDir} has no action '${action}'`);
  }
}
