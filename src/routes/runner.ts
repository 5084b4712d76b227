import { Type } from 'typebox';
import { resolveCatalogPlaybook, type PlaybookKind } from '../engine/names.js';
import { checkBundleVars } from '../catalog/bundle-vars.js';
import { ApiError } from '../http/api-error.js';
import { RunnerRequest } from '../schemas/debug.js';
import { checkedLimit, hostsInventory, pick, refuseConnectionVars } from './plans.js';
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

/** `extra_vars` plus the node, refused (422, per variable) when the playbook's vars.schema.json says no. */
function runnerVars(b: Body, playbook: string): Body {
  const given = (b.extra_vars ?? {}) as Body;
  refuseConnectionVars(given, 'extra_vars');
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
