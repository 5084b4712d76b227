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

/**
 * The generic runners' body: the ping body plus `extra_vars`, whose keys become extra vars of the
 * run, checked against the bundle's or scenario's `vars.schema.json` when it has one.
 */
export const RunnerRequest = Type.Object(
  {
    ...DebugPingRequest.properties,
    extra_vars: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 64 }), Type.Unknown(), {
        maxProperties: 64,
        description: "variables of the run (checked against the playbook's vars.schema.json); the service's own variables are refused: connection and credentials (ansible_*, proxmox_api_*, proxmox_validate_certs, hosts) and the roles' safety switches (r42_allow_*); at most 32 levels deep and 256 KiB serialised; nested keys are data like values (never templated)",
        examples: [{ proxmox_vm_action: 'vm_stop' }],
      }),
    ),
  },
  { examples: [{ proxmox_node: 'px-testing', hosts: 'px-testing' }] },
);
