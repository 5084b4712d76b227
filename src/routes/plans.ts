import path from 'node:path';
import { ApiError } from '../errors.js';
import { requireFile, resolveCatalogPlaybook, resolveInventory } from '../engine/names.js';
import type { RunSpec } from '../engine/types.js';
import type { Body, RouteContext } from './types.js';

/** Shared steps of the route plans: which playbook, which inventory, which extravars. */

export const genericPlaybook = (ctx: RouteContext) =>
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
  return {
    playbook,
    inventory: hostsInventory(ctx),
    limit: 'proxmox',
    extravars: { proxmox_vm_action: action, hosts: 'proxmox', ...vars },
    label: action,
  };
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
