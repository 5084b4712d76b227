/**
 * Errors as Proxmox VE reports them. Semantic failures are 500 with the die text as the reason
 * phrase; parameter problems are 400 with a per-parameter `errors` map; unknown routes are 501.
 * Proxmox never answers 404 or 409 for its API, so neither does the simulator.
 */
export class PveError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

/** A handler `die`: HTTP 500, the text in the reason phrase and in `message`. */
export const fail = (message: string): PveError => new PveError(500, message);

/** `raise_param_exc`: HTTP 400 "Parameter verification failed." with the per-parameter messages. */
export const paramError = (errors: Record<string, string>): PveError =>
  new PveError(400, 'Parameter verification failed.', errors);

export const notImplemented = (method: string, path: string): PveError =>
  new PveError(501, `Method '${method} ${path}' not implemented`);

/** The text Proxmox prints for a missing guest config (used by status, config, snapshot, delete). */
export const noConfig = (node: string, vmid: number, kind: 'qemu' | 'lxc' = 'qemu'): PveError =>
  fail(`Configuration file 'nodes/${node}/${kind === 'qemu' ? 'qemu-server' : 'lxc'}/${vmid}.conf' does not exist`);
