import path from 'node:path';
import { requireFile } from '../engine/names.js';
import { DebugPingRequest } from '../schemas/debug.js';
import type { RouteDef } from './types.js';

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
    plan(body, { config }) {
      const playbook = requireFile(path.join(config.localPlaybooksDir, 'ping.yml'), ':: MISSING PLAYBOOK');
      const inventory = requireFile(path.join(config.inventoryDir, 'hosts.yml'), ':: MISSING INVENTORY');
      return {
        playbook,
        inventory,
        limit: (body.hosts as string | null) ?? null,
        extravars: body.proxmox_node ? { proxmox_node: body.proxmox_node } : null,
        label: 'debug_ping',
      };
    },
  },
];
