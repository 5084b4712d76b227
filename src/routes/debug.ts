import path from 'node:path';
import { requireFile } from '../engine/names.js';
import { DebugPingRequest } from '../schemas/debug.js';
import { checkedLimit } from './plans.js';
import type { RouteContext, RouteDef } from './types.js';

function pingFiles(ctx: RouteContext) {
  const playbook = requireFile(path.join(ctx.config.localPlaybooksDir, 'ping.yml'), ':: MISSING PLAYBOOK');
  const inventory = requireFile(path.join(ctx.config.inventoryDir, 'hosts.yml'), ':: MISSING INVENTORY', 'INVENTORY_NOT_FOUND');
  return { playbook, inventory };
}

export const debugRoutes: RouteDef[] = [
  {
    method: 'POST',
    url: '/v0/admin/debug/ping',
    operationId: 'debug_ping',
    tags: ['runner'],
    summary: 'Ping the inventory hosts',
    description: 'Runs playbooks/ping.yml (ansible.builtin.ping) on `hosts` (an Ansible --limit), or on every host when null.',
    body: DebugPingRequest,
    output: 'log',
    plan(body, ctx) {
      return {
        ...pingFiles(ctx),
        limit: checkedLimit(body, ctx),
        extravars: body.proxmox_node ? { proxmox_node: body.proxmox_node } : null,
        label: 'debug_ping',
      };
    },
  },
  {
    method: 'POST',
    url: '/v0/admin/debug/func_test',
    operationId: 'debug_func_test',
    tags: ['__tmp_testing'],
    summary: 'temp stuff',
    description: 'Kept for compatibility: looks up VM 1000 on node px-testing and answers null (404 when it does not exist).',
    output: 'log',
    plan: () => [],
    async respond(_body, ctx) {
      pingFiles(ctx);
      await ctx.resolveVmName('px-testing', '1000');
      return null;
    },
  },
];
