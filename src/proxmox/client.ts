import { Agent, request } from 'undici';
import type { ProxmoxCredentials } from './credentials.js';

export class ProxmoxApiError extends Error {
  override name = 'ProxmoxApiError';
  constructor(message: string, readonly status: number | null) {
    super(message);
  }
}

export interface GuestSummary {
  vmid: number;
  name?: string;
  status?: string;
  template?: number;
  tags?: string;
  cpu?: number;
  mem?: number;
  maxmem?: number;
  uptime?: number;
  [key: string]: unknown;
}

/**
 * A small Proxmox VE REST client for what the service reads itself (VM names, status). API-token
 * auth; TLS verification off unless the inventory asks for it (self-signed node certificates are
 * the norm, as the original assumed).
 */
export class ProxmoxClient {
  private readonly agent: Agent;

  constructor(readonly creds: ProxmoxCredentials, private readonly timeoutMs = 10_000) {
    this.agent = new Agent({ connect: { rejectUnauthorized: creds.validateCerts }, keepAliveTimeout: 30_000 });
  }

  async get<T>(apiPath: string): Promise<T> {
    const url = `https://${this.creds.apiHost}/api2/json${apiPath}`;
    let res;
    try {
      res = await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        headers: { authorization: `PVEAPIToken=${this.creds.user}!${this.creds.tokenId}=${this.creds.tokenSecret}`, accept: 'application/json' },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw new ProxmoxApiError(`Proxmox API unreachable at ${this.creds.apiHost}: ${(err as Error).message}`, null);
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new ProxmoxApiError(`Proxmox API answered ${res.statusCode} for GET ${apiPath}`, res.statusCode);
    try {
      return (JSON.parse(text) as { data: T }).data;
    } catch {
      throw new ProxmoxApiError(`Proxmox API sent invalid JSON for GET ${apiPath}`, res.statusCode);
    }
  }

  listQemu(node: string): Promise<GuestSummary[]> {
    return this.get<GuestSummary[]>(`/nodes/${encodeURIComponent(node)}/qemu`);
  }

  listLxc(node: string): Promise<GuestSummary[]> {
    return this.get<GuestSummary[]>(`/nodes/${encodeURIComponent(node)}/lxc`);
  }

  /** Idempotent: a poller and the resolver may both close a client at shutdown. */
  async close(): Promise<void> {
    if (this.agent.closed || this.agent.destroyed) return;
    await this.agent.close();
  }
}
