import { Agent, RetryAgent, request, type RetryHandler } from 'undici';
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
 * Retries of the client's reads (undici's RetryAgent): a GET that meets a reset or broken
 * connection, or an answer pveproxy gives for a passing failure (500 such as `ipcc_send_rec failed`,
 * 502/503/504, 595/596 for a cluster member it could not reach), is sent again twice, after 100
 * then 200 ms, before the caller sees the failure. Only GET: the client never writes, and a write
 * must never be repeated behind a caller's back. A timeout is not retried (it already took its time).
 */
export type ReadRetry = RetryHandler.RetryOptions;
export const READ_RETRY: Readonly<ReadRetry> = Object.freeze({
  methods: ['GET'],
  maxRetries: 2,
  minTimeout: 100,
  timeoutFactor: 2,
  maxTimeout: 1000,
  statusCodes: [500, 502, 503, 504, 595, 596],
  errorCodes: ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENETDOWN', 'ENETUNREACH', 'EHOSTDOWN', 'EHOSTUNREACH', 'UND_ERR_SOCKET'],
  // After the last attempt the answer itself reaches the caller (its status is reported), not a RequestRetryError.
  throwOnError: false,
});

/**
 * A small Proxmox VE REST client for what the service reads itself (VM names, status). API-token
 * auth; TLS verification off unless the inventory asks for it (self-signed node certificates are
 * the norm, as the original assumed); reads retried on passing failures (READ_RETRY).
 */
export class ProxmoxClient {
  private readonly agent: Agent;
  private readonly dispatcher: RetryAgent;

  constructor(readonly creds: ProxmoxCredentials, private readonly timeoutMs = 10_000, retry: ReadRetry = {}) {
    this.agent = new Agent({ connect: { rejectUnauthorized: creds.validateCerts }, keepAliveTimeout: 30_000 });
    this.dispatcher = new RetryAgent(this.agent, { ...READ_RETRY, ...retry });
  }

  async get<T>(apiPath: string): Promise<T> {
    const url = `https://${this.creds.apiHost}/api2/json${apiPath}`;
    let res;
    try {
      res = await request(url, {
        method: 'GET',
        dispatcher: this.dispatcher,
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
