import { fail } from '../errors.js';
import { PveSpec } from '../schema/spec.js';
import { num, str, type Ctx, type Register } from './types.js';

/**
 * The QEMU guest agent endpoints (qemu-server API2/Qemu/Agent.pm). No simulated guest runs an
 * agent, so every command answers as on a VM whose agent is not up: the checks of
 * QemuServer/Agent.pm `agent_available`, in its order — no `agent` key in the config, VM stopped,
 * agent socket silent.
 */

const A = '/nodes/{node}/qemu/{vmid}/agent';
const spec = PveSpec.load();

/** The commands `POST .../agent` accepts, each also its own endpoint (GET for reads, POST otherwise). */
const COMMANDS = ((spec.method('POST', A)?.parameters.properties?.command?.enum ?? []) as string[]);

function agentUnavailable(ctx: Ctx): never {
  const node = str(ctx.params, 'node')!;
  ctx.cluster.node(node);
  const vmid = num(ctx.params, 'vmid')!;
  const g = ctx.cluster.requireGuest(node, vmid, 'qemu');
  if (g.config.agent === undefined) throw fail('No QEMU guest agent configured');
  if (g.status !== 'running') throw fail(`VM ${vmid} is not running`);
  throw fail('QEMU guest agent is not running');
}

/**
 * The index `GET .../agent` is left out: its schema allows undeclared parameters
 * (`additionalProperties: 1`), which the conformance test holds every served method against.
 */
export function registerAgent(on: Register): void {
  on('POST', A, agentUnavailable);
  for (const command of COMMANDS) {
    const path = `${A}/${command}`;
    for (const verb of ['GET', 'POST'] as const) if (spec.has(verb, path)) on(verb, path, agentUnavailable);
  }
}
