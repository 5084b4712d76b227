import { Type, type TSchema } from 'typebox';

/**
 * Building blocks for request bodies. Patterns are the original API's, full-anchored.
 * A "required but nullable" field (pydantic `X | None` without default) must be present and may be
 * null: `requiredNullable()` expresses it as a required property whose type admits null.
 */
export const NODE_PATTERN = '^[A-Za-z0-9-]*$';
export const VM_ID_PATTERN = '^[0-9]+$';

export const ProxmoxNode = Type.String({ pattern: NODE_PATTERN, description: 'Proxmox node name', examples: ['px-testing'] });
export const AsJson = Type.Optional(Type.Boolean({ default: true, description: 'true: answer {rc, result}; false: {rc, log_multiline}' }));
export const VmId = Type.String({ pattern: VM_ID_PATTERN, description: 'Proxmox VM id (a string of digits)', examples: ['1000'] });

/** The typed string pattern helper: `str(pattern, extra)`. */
export const str = (pattern: string, extra: Record<string, unknown> = {}) => Type.String({ pattern, ...extra });

export function requiredNullable<T extends TSchema>(schema: T, extra: Record<string, unknown> = {}) {
  const { type, ...rest } = schema as unknown as { type: string; [k: string]: unknown };
  return Type.Unsafe<unknown>({ ...rest, ...extra, type: [type, 'null'] });
}

export function optionalNullable<T extends TSchema>(schema: T, defaultValue: unknown = null, extra: Record<string, unknown> = {}) {
  return Type.Optional(requiredNullable(schema, { default: defaultValue, ...extra }));
}

/** The envelope every playbook-running route answers with (200 when rc is 0, 500 otherwise). */
export const RunResponse = Type.Object(
  {
    rc: Type.Integer({ description: 'ansible-playbook exit code' }),
    result: Type.Optional(Type.Array(Type.Unknown(), { description: 'values published by the playbook for the action (as_json mode)' })),
    log_multiline: Type.Optional(Type.Array(Type.String(), { description: 'Ansible output, one line per item, ANSI codes removed' })),
    error: Type.Optional(Type.String({ description: 'first failing line of the log (failed as_json runs)' })),
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

/** The same schema with another example (per route: what curl_utils and the docs show). */
export const withExample = <T extends object>(schema: T, example: Record<string, unknown>): T => ({ ...schema, examples: [example] });
