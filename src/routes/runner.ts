import { Type } from 'typebox';
import { resolveCatalogPlaybook, type PlaybookKind } from '../engine/names.js';
import { checkBundleVars } from '../catalog/bundle-vars.js';
import { ApiError } from '../http/api-error.js';
import { RunnerRequest } from '../schemas/debug.js';
import { checkedLimit, hostsInventory, pick } from './plans.js';
import { refuseServiceVars } from './service-vars.js';
import type { Body } from './types.js';
import type { RouteDef } from './types.js';

const runner = (kind: Extract<PlaybookKind, 'bundles' | 'scenarios'>, param: string, url: string, operationId: string, hidden: boolean): RouteDef => ({
  method: 'POST',
  url,
  operationId,
  hidden,
  tags: ['runner'],
  summary: kind === 'bundles' ? 'Run bundles' : 'Run scenario',
  description:
    `Run generic ${kind === 'bundles' ? 'bundles' : 'scenario'} with default (and static) extras_vars. ` +
    'Nested names work percent-encoded in one segment (core%2Flinux%2Fubuntu%2Finstall%2Fdocker) or as plain path segments.',
  body: RunnerRequest,
  ...(hidden ? {} : { params: Type.Object({ [param]: Type.String({ description: `${kind} name, e.g. core/linux/ubuntu/install/docker` }) }) }),
  output: 'log',
  plan: (b, ctx, params) => {
    const playbook = resolveCatalogPlaybook(ctx.config.publicPlaybooksDir, kind, params[param] ?? '');
    const extravars = runnerVars(b, playbook);
    return { playbook, inventory: hostsInventory(ctx), limit: checkedLimit(b, ctx), extravars, label: `${kind}:${params[param]}` };
  },
});

/**
 * Bounds of `extra_vars`, which the body schema can only bound at its top (64 variables): how deep
 * a value may nest and how large all of them may be once serialised. Ansible parses the extra-vars
 * file with a recursive YAML loader and templates it recursively: a 1,000-deep array ended in a
 * RecursionError after the run had started. No bundle variable needs more than a few levels.
 */
export const EXTRA_VARS_LIMITS = { depth: 32, bytes: 256 * 1024 } as const;

/** Levels of arrays and objects in `v` (a scalar is 0), counted without recursion. */
function nestingDepth(v: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    deepest = Math.max(deepest, d + 1);
    if (deepest > EXTRA_VARS_LIMITS.depth) return deepest;
    for (const child of Object.values(x)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** A 422 per variable nested deeper than the limit, then one for the whole set when it is too large. */
function refuseOversizedVars(given: Body): void {
  const deep = Object.keys(given).filter((k) => nestingDepth(given[k]) > EXTRA_VARS_LIMITS.depth);
  if (deep.length > 0) {
    throw new ApiError(422, deep.map((k) => ({
      field: `body.extra_vars.${k}`, msg: `Value error, nested more than ${EXTRA_VARS_LIMITS.depth} levels deep`, type: 'value_error', input: null, ctx: { max_depth: EXTRA_VARS_LIMITS.depth },
    })));
  }
  const bytes = Buffer.byteLength(JSON.stringify(given));
  if (bytes > EXTRA_VARS_LIMITS.bytes) {
    throw new ApiError(422, [{
      field: 'body.extra_vars', msg: `Value error, ${bytes} bytes once serialised, more than ${EXTRA_VARS_LIMITS.bytes}`, type: 'value_error', input: null, ctx: { max_bytes: EXTRA_VARS_LIMITS.bytes },
    }]);
  }
}

/** `extra_vars` plus the node, refused (422, per variable) when the playbook's vars.schema.json says no. */
function runnerVars(b: Body, playbook: string): Body {
  const given = (b.extra_vars ?? {}) as Body;
  refuseServiceVars(given, 'extra_vars');
  refuseOversizedVars(given);
  const vars: Body = { ...pick(b, ['proxmox_node'], 'truthy'), ...given };
  const problems = checkBundleVars(playbook, vars);
  if (problems.length > 0) {
    throw new ApiError(422, problems.map((p) => ({
      field: ['body', 'extra_vars', p.variable, ...(p.pointer ? p.pointer.split('/') : [])].filter(Boolean).join('.'),
      msg: p.message,
      type: p.type,
      input: p.variable === '' ? vars : p.pointer === '' ? (vars[p.variable] ?? null) : vars[p.variable],
      ctx: null,
    })));
  }
  return vars;
}

export const runnerRoutes: RouteDef[] = [
  runner('bundles', 'bundles_name', '/v0/admin/run/bundles/:bundles_name/run', 'run_bundle', false),
  runner('scenarios', 'scenario_name', '/v0/admin/run/scenarios/:scenario_name/run', 'run_scenario', false),
  // Unencoded nested names (core/linux/.../run): same operation, matched on the whole tail.
  runner('bundles', 'bundles_name', '/v0/admin/run/bundles/*', 'run_bundle_nested', true),
  runner('scenarios', 'scenario_name', '/v0/admin/run/scenarios/*', 'run_scenario_nested', true),
];
