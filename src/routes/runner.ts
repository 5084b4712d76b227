import { Type } from 'typebox';
import { resolveCatalogPlaybook, type PlaybookKind } from '../engine/names.js';
import { DebugPingRequest } from '../schemas/debug.js';
import { checkedLimit, hostsInventory, pick } from './plans.js';
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
  body: DebugPingRequest,
  ...(hidden ? {} : { params: Type.Object({ [param]: Type.String({ description: `${kind} name, e.g. core/linux/ubuntu/install/docker` }) }) }),
  output: 'log',
  plan: (b, ctx, params) => ({
    playbook: resolveCatalogPlaybook(ctx.config.publicPlaybooksDir, kind, params[param] ?? ''),
    inventory: hostsInventory(ctx),
    limit: checkedLimit(b, ctx),
    extravars: pick(b, ['proxmox_node'], 'truthy'),
    label: `${kind}:${params[param]}`,
  }),
});

export const runnerRoutes: RouteDef[] = [
  runner('bundles', 'bundles_name', '/v0/admin/run/bundles/:bundles_name/run', 'run_bundle', false),
  runner('scenarios', 'scenario_name', '/v0/admin/run/scenarios/:scenario_name/run', 'run_scenario', false),
  // Unencoded nested names (core/linux/.../run): same operation, matched on the whole tail.
  runner('bundles', 'bundles_name', '/v0/admin/run/bundles/*', 'run_bundle_nested', true),
  runner('scenarios', 'scenario_name', '/v0/admin/run/scenarios/*', 'run_scenario_nested', true),
];
