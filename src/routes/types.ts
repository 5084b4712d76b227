import type { TSchema } from 'typebox';
import type { Config } from '../config/env.js';
import type { RunSpec } from '../engine/types.js';
import type { LockSpec } from '../jobs/targets.js';
import type { GuestRef, NodeInterface } from '../proxmox/guests.js';

export type Body = Record<string, unknown>;
export type Method = 'GET' | 'POST' | 'DELETE';

/** What a route needs to turn a request into runs. */
export interface RouteContext {
  config: Readonly<Config>;
  /** The name of a VM (or container), read from the Proxmox API; DomainError VM_NOT_FOUND (404) when the id is unknown. */
  resolveVmName(node: string | null, vmId: string, kind?: 'qemu' | 'lxc'): Promise<string>;
  /** The Proxmox API hosts the configuration names (inventory `proxmox` group, vault file). */
  proxmoxApiHosts(): string[];
  /** Every variable name the inventory and the vault file give the runs; null when they cannot be read. */
  configuredVarNames(): ReadonlySet<string> | null;
  /** What the service reads from Proxmox itself to plan a request (absent in contexts that never need it). */
  proxmox?: ProxmoxReads;
}

/** Reads of the Proxmox API a plan makes before anything runs (src/proxmox/guests.ts). */
export interface ProxmoxReads {
  /** A VM or a container; DomainError VM_NOT_FOUND (404) naming the id when it is neither on the node. */
  guest(node: string | null, vmId: string | number): Promise<GuestRef>;
  nodeInterfaces(node: string | null): Promise<NodeInterface[]>;
  containerTemplates(node: string | null): Promise<string[]>;
  /** The request's node, or the inventory's when the request leaves it empty. */
  nodeOf(node: string | null): string;
}

/** The VMs a route's run changes (per-VM job locks): the jobs domain's type, declared per route. */
export type { LockSpec };

/**
 * One operation of the API, described as data. The generic handler validates the body against
 * `body`, asks `plan` for the runs, executes them in order (stopping at the first that fails)
 * and shapes the answer from the last one:
 * - `output: 'log'`: always `{rc, log_multiline}`;
 * - `output: { resultKey }`: `{rc, result}` (values published under that key) when `as_json`
 *   (default true) is set, else `{rc, log_multiline}`.
 * `respond` replaces the whole handling for the odd route out (func_test).
 */
export interface RouteDef {
  method: Method;
  url: string;
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  body?: TSchema;
  params?: TSchema;
  /** UI spellings mapped to the original field names before validation (old name → new name). */
  aliases?: Record<string, string>;
  /** Not listed in the OpenAPI document (a transport variant of a documented route). */
  hidden?: boolean;
  output: 'log' | { resultKey: string };
  /** The VMs the run changes (per-VM job locks); absent for reads. */
  locks?: LockSpec;
  /** Checks and resolution happen here (ApiError or DomainError on refusal), before anything runs. */
  plan(body: Body, ctx: RouteContext, params: Record<string, string>): Promise<RunSpec | RunSpec[]> | RunSpec | RunSpec[];
  respond?(body: Body, ctx: RouteContext): Promise<unknown>;
}
