import https from 'node:https';
import type { Simulator } from '../../src/simulator/index.js';

/**
 * A plain HTTPS client for the simulator tests. It uses node:https (not undici) because the tests
 * check the HTTP reason phrase, which Proxmox clients turn into their error messages.
 */
export interface PveReply {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: { data?: unknown; errors?: Record<string, string>; message?: string; total?: number; changes?: string } | null;
}

export interface CallOptions {
  auth?: 'token' | 'none' | { cookie?: string; csrf?: string; authorization?: string };
  /** `form` (default, as proxmoxer and Ansible send it) or `json`. */
  encoding?: 'form' | 'json';
  headers?: Record<string, string>;
  rawBody?: string;
}

const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });

export function encodeForm(params: Record<string, unknown>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
}

export function call(sim: Simulator, method: string, path: string, params: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<PveReply> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const auth = opts.auth ?? 'token';
  if (auth === 'token') headers.Authorization = sim.token.header;
  else if (auth !== 'none') {
    if (auth.cookie) headers.Cookie = `PVEAuthCookie=${auth.cookie}`;
    if (auth.csrf) headers.CSRFPreventionToken = auth.csrf;
    if (auth.authorization) headers.Authorization = auth.authorization;
  }
  let url = `${sim.url}${path}`;
  let body: string | undefined = opts.rawBody;
  if (body === undefined) {
    if (method === 'GET' || method === 'DELETE') {
      const q = encodeForm(params);
      if (q) url += `${url.includes('?') ? '&' : '?'}${q}`;
    } else if (opts.encoding === 'json') {
      body = JSON.stringify(params);
      headers['Content-Type'] = 'application/json';
    } else if (Object.keys(params).length) {
      body = encodeForm(params);
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
  }
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let parsed: PveReply['body'] = null;
        try {
          parsed = raw ? (JSON.parse(raw) as PveReply['body']) : null;
        } catch {
          parsed = null;
        }
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, raw, body: parsed });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A client bound to one simulator: `api.get('/nodes')` → the reply. */
export function client(sim: Simulator, defaults: CallOptions = {}) {
  const bound = (method: string) => (path: string, params?: Record<string, unknown>, opts?: CallOptions) =>
    call(sim, method, path, params, { ...defaults, ...opts });
  return { get: bound('GET'), post: bound('POST'), put: bound('PUT'), del: bound('DELETE') };
}

/** Data of a 200 reply, or a thrown error with the status line (to keep test bodies short). */
export async function data<T = any>(reply: Promise<PveReply>): Promise<T> {
  const r = await reply;
  if (r.status !== 200) throw new Error(`${r.status} ${r.reason}: ${r.raw}`);
  return r.body!.data as T;
}

/** Polls a task until it stops and returns its final status object. */
export async function waitTask(sim: Simulator, upid: string, timeoutMs = 10_000): Promise<{ status: string; exitstatus?: string }> {
  const node = upid.split(':')[1]!;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await data<{ status: string; exitstatus?: string }>(call(sim, 'GET', `/nodes/${node}/tasks/${upid}/status`));
    if (s.status === 'stopped') return s;
    if (Date.now() > deadline) throw new Error(`task ${upid} still running`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
