import { Type } from 'typebox';
import { LIMITS, ProxmoxNode, UiExtras, nullable, optionalNullable } from './common.js';

export const DebugPingRequest = Type.Object(
  {
    proxmox_node: ProxmoxNode,
    inventory: UiExtras.inventory,
    hosts: nullable(Type.String({ pattern: '^[A-Za-z0-9\\._-]+$', maxLength: LIMITS.id }), {
      description: 'Ansible --limit (host or group); null runs on every host of the inventory',
      examples: ['px-testing'],
    }),
    as_json: optionalNullable(Type.Boolean(), false, { description: 'Accepted for compatibility; ping always answers in log mode' }),
  },
  { examples: [{ proxmox_node: 'px-testing', hosts: 'px-testing' }] },
);
