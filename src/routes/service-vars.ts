import { ApiError } from '../http/api-error.js';
import type { RunSpec } from '../engine/types.js';
import type { Body, RouteContext } from './types.js';

/**
 * The variables that belong to the service and never to a caller: the one list of them.
 *
 * Ansible gives extra vars the highest precedence of all, so a request value that lands on one
 * of these names would override the inventory, the vault file or a role's safety check:
 *
 * - **connection**: `ansible_*` (host, connection plugin, user, become, interpreter...) and
 *   `hosts` (the play's host pattern; the service sets it to the run's checked `--limit`);
 * - **credentials**: `proxmox_api_*` and `proxmox_validate_certs` (the inventory and the vault
 *   file own them; `proxmox_api_host` is the one exception, and only with a configured value:
 *   `checkedApiHost` in plans.ts);
 * - **safety switches**: `r42_allow_*`, the roles' opt-ins to something they refuse by default.
 *   Today that is `r42_allow_controller_target`: the Ubuntu roles refuse to change a host reached
 *   with `ansible_connection: local` (the service's own machine) unless it is true. An
 *   administrator who means it sets it in the inventory, for that host; a request never can.
 *
 * Names are compared without regard to case (Ansible's variable names are case-sensitive, but a
 * look-alike spelling is never a legitimate bundle variable either).
 */
const CONNECTION = /^(?:ansible_|hosts$)/i;
const CREDENTIAL = /^(?:proxmox_api_|proxmox_validate_certs$)/i;
const SAFETY_SWITCH = /^r42_allow_/i;

export type ServiceVarKind = 'connection' | 'credential' | 'safety switch';

/** What a name is when it belongs to the service, or null when a request may set it. */
export function serviceVarKind(name: string): ServiceVarKind | null {
  if (CONNECTION.test(name)) return 'connection';
  if (CREDENTIAL.test(name)) return 'credential';
  if (SAFETY_SWITCH.test(name)) return 'safety switch';
  return null;
}

export const isServiceVar = (name: string): boolean => serviceVarKind(name) !== null;

function refusal(field: string, key: string, input: unknown): ApiError {
  return new ApiError(422, [{ field: `${field}.${key}`, msg: messageFor(serviceVarKind(key) ?? 'connection'), type: 'value_error', input, ctx: null }]);
}

function messageFor(kind: ServiceVarKind): string {
  return kind === 'safety switch'
    ? 'Value error, a safety switch of the roles is set by the inventory, not by requests'
    : 'Value error, connection and credential variables are set by the inventory and the vault file, not by requests';
}

/** A 422 for any key of `vars` (a request's free-form variables) that the service owns, one entry per key. */
export function refuseServiceVars(vars: Body, field: string): void {
  const bad = Object.keys(vars).filter(isServiceVar);
  if (bad.length > 0) {
    throw new ApiError(422, bad.map((k) => ({ field: `body.${field}.${k}`, msg: messageFor(serviceVarKind(k)!), type: 'value_error', input: vars[k], ctx: null })));
  }
}

/**
 * A 422 for a safety switch at the top of any request body. The plans copy named fields only, so
 * such a key would be dropped anyway; it is refused so that a caller who tries learns at once that
 * the run would not have been widened, instead of seeing it refused by the role later.
 */
export function refuseSafetySwitches(body: unknown): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
  const bad = Object.keys(body).filter((k) => SAFETY_SWITCH.test(k));
  if (bad.length > 0) {
    throw new ApiError(422, bad.map((k) => ({ field: `body.${k}`, msg: messageFor('safety switch'), type: 'value_error', input: (body as Body)[k], ctx: null })));
  }
}

/**
 * The last line of defence, applied by the handler to every run a plan makes: a service variable
 * in its extra vars is only ever `hosts` set to the run's own checked limit (or the `proxmox`
 * group) and a configured `proxmox_api_host`. Anything else is a bug in a plan, refused before it
 * runs.
 */
export function assertNoServiceOverride(spec: RunSpec, ctx: RouteContext): void {
  for (const [key, value] of Object.entries(spec.extravars ?? {})) {
    if (!isServiceVar(key)) continue;
    if (key === 'hosts' && (value === 'proxmox' || value === spec.limit)) continue;
    if (key === 'proxmox_api_host' && typeof value === 'string' && ctx.proxmoxApiHosts().includes(value)) continue;
    throw refusal('body', key, value);
  }
}
