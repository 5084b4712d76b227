import type { Authenticator, Principal } from '../auth.js';
import type { Cluster } from '../model/cluster.js';
import type { TaskManager } from '../model/tasks.js';

/** What a handler gets: validated parameters (URI ones included), the cluster and the caller. */
export interface Ctx {
  cluster: Cluster;
  tasks: TaskManager;
  auth: Authenticator;
  params: Record<string, unknown>;
  /** Null only on the endpoints that need no authentication. */
  principal: Principal | null;
  /** The file of a multipart upload (its bytes are not kept). */
  upload?: { size: number };
}

export type Handler = (ctx: Ctx) => unknown;

/** A reply with siblings of `data` in the envelope (`total`, `changes`). */
export class Envelope {
  constructor(
    readonly data: unknown,
    readonly extra: Record<string, unknown>,
  ) {}
}

export type Register = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', template: string, handler: Handler) => void;

/** Typed accessors for validated parameters. */
export const str = (p: Record<string, unknown>, k: string): string | undefined =>
  p[k] === undefined || p[k] === null ? undefined : String(p[k]);
export const num = (p: Record<string, unknown>, k: string): number | undefined =>
  p[k] === undefined || p[k] === null || p[k] === '' ? undefined : Number(p[k]);
export const flag = (p: Record<string, unknown>, k: string): boolean => num(p, k) === 1;
export const who = (ctx: Ctx): string => ctx.principal?.id ?? 'root@pam';
