import { Type, type TSchema } from 'typebox';
import { component } from './components.js';

/**
 * Building blocks for request bodies. Patterns are the original API's, full-anchored; the bounds
 * are this service's additions (the original had none), taken from Proxmox VE's own API schema
 * where it has one, so that absurd input is a 422 before anything runs.
 *
 * A field the original declares nullable (pydantic `X | None`, with or without a default) may be
 * left out here: it is then null, and plans pass nothing for it (a superset of the original,
 * which answered 422 "Field required" to the deployer UI's bodies).
 */
export const NODE_PATTERN = '^[A-Za-z0-9-]*$';
const VM_ID_PATTERN = '^[0-9]+$';
/** The JSON Schema keyword marking a VM id field (see http/validation.ts: canonical number). */
export const VMID_KEYWORD = 'x-vmid';

/** Bounds shared by many fields. */
export const LIMITS = {
  /** A DNS label (node, VM and container names): 63 characters. */
  label: 63,
  /** Identifiers, storage names, hosts patterns, file names: 255 characters. */
  id: 255,
  /** Proxmox VE's own limit on descriptions (qemu-server `description`, maxLength 8192). */
  text: 8192,
  /** SSH public keys (several keys of 4 KiB RSA). */
  keys: 16384,
  /** Proxmox VE's VM id range (`pve-vmid`). */
  vmidMin: 100,
  vmidMax: 999_999_999,
  /** VM ids in one request (mass operations). */
  vmsPerRequest: 1000,
} as const;

export const ProxmoxNode = Type.String({ pattern: NODE_PATTERN, maxLength: LIMITS.label, description: 'Proxmox node name', examples: ['px-testing'] });
export const AsJson = Type.Optional(Type.Boolean({ default: true, description: 'true: answer {rc, result}; false: {rc, log_multiline}' }));

/**
 * A VM id: a string of digits (the original's rule) or a number (what the deployer UI sends on
 * several calls), in Proxmox VE's range. It is a number from validation onwards.
 */
export const VmId = Type.Unsafe<number>({
  type: ['string', 'integer'],
  pattern: VM_ID_PATTERN,
  maxLength: 16,
  minimum: LIMITS.vmidMin,
  maximum: LIMITS.vmidMax,
  [VMID_KEYWORD]: true,
  description: 'Proxmox VM id: a string of digits or a number, 100 to 999999999',
  examples: ['1000'],
});

/** A string field with its pattern and, unless told otherwise, at most LIMITS.id characters. */
export const str = (pattern: string, extra: Record<string, unknown> = {}) => Type.String({ pattern, maxLength: LIMITS.id, ...extra });

/** Bounded numbers: every integer and number field has both ends. */
export const int = (minimum: number, maximum: number, extra: Record<string, unknown> = {}) => Type.Integer({ minimum, maximum, ...extra });
export const num = (minimum: number, maximum: number, extra: Record<string, unknown> = {}) => Type.Number({ minimum, maximum, ...extra });

/** A field that may be null or left out (then null). */
export function optionalNullable<T extends TSchema>(schema: T, defaultValue: unknown = null, extra: Record<string, unknown> = {}) {
  const { type, ...rest } = schema as unknown as { type: string | string[]; [k: string]: unknown };
  const types = Array.isArray(type) ? type : [type];
  return Type.Optional(Type.Unsafe<unknown>({ ...rest, ...extra, default: defaultValue, type: [...types, 'null'] }));
}

/** The original's "required but nullable" fields: accepted when left out, as null (see above). */
export const nullable = <T extends TSchema>(schema: T, extra: Record<string, unknown> = {}) => optionalNullable(schema, null, extra);

/**
 * What the deployer UI adds to every body (`hosts`, `inventory`): declared, bounded, and not used
 * by the Proxmox routes, which always run on the inventory's `proxmox` group.
 */
export const UiExtras = {
  hosts: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:-]+$', maxLength: LIMITS.id, description: 'added by the deployer UI; ignored by this route' })),
  inventory: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]+$', maxLength: LIMITS.id, description: 'added by the deployer UI; ignored by this route' })),
};

/** The envelope every playbook-running route answers with (200 when rc is 0, 500 otherwise). */
export const RunResponse = Type.Object(
  {
    rc: Type.Integer({ description: 'ansible-playbook exit code' }),
    result: Type.Optional(Type.Array(Type.Unknown(), { description: 'values published by the playbook for the action (as_json mode)' })),
    log_multiline: Type.Optional(Type.Array(Type.String(), { description: 'Ansible output, one line per item, ANSI codes removed' })),
    error: Type.Optional(Type.String({ description: 'first failing line of the log (failed as_json runs)' })),
    detail: Type.Optional(Type.String({ description: 'failed runs: what happened, in words (with Proxmox\'s message)' })),
  },
  { description: 'Result of a playbook run' },
);

export const DetailResponse = Type.Object({ detail: Type.Unknown() }, { description: 'Refused request' });

export const ValidationErrorResponse = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        field: Type.String(),
        msg: Type.String(),
        type: Type.String(),
        input: Type.Unknown(),
        ctx: Type.Unknown(),
      }),
    ),
  },
  { description: 'Request body failed validation' },
);

const Run = component('RunResponse', RunResponse);
const Detail = component('DetailResponse', DetailResponse);

/**
 * The response schemas every playbook route shares, as components (`app.addSchema`): routes
 * refer to them with `.ref`, so each is compiled into one serializer and named once in the document.
 */
export const Responses = {
  Run,
  Detail,
  ValidationError: component('ValidationErrorResponse', ValidationErrorResponse),
  /** The 500 of a playbook route: the run's envelope (rc ≠ 0), or a refusal once the run was planned. */
  RunFailure: component('RunFailureResponse', Type.Union([Run.ref, Detail.ref])),
} as const;

/**
 * The building blocks of the request bodies, as components. The bodies keep them inline (the
 * validator, src/http/validation.ts, checks exactly the schema it is given); the document refers
 * to these wherever a body field is the same schema (src/http/openapi-components.ts).
 */
export const BodyBlocks = {
  ProxmoxNode: component('ProxmoxNode', ProxmoxNode),
  VmId: component('VmId', VmId),
  AsJson: component('AsJson', AsJson),
  UiHosts: component('UiHosts', UiExtras.hosts),
  UiInventory: component('UiInventory', UiExtras.inventory),
} as const;

/** The same schema with another example (per route: what curl_utils and the docs show). */
export const withExample = <T extends object>(schema: T, example: Record<string, unknown>): T => ({ ...schema, examples: [example] });
