import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { AuthError, type Authenticator, type Principal } from './auth.js';
import { PveError, notImplemented, paramError } from './errors.js';
import { Envelope, type Ctx } from './handlers/types.js';
import type { Cluster } from './model/cluster.js';
import type { TaskManager } from './model/tasks.js';
import { MultipartCollector, multipartBoundary, type UploadBody } from './multipart.js';
import { MAX_BODY_BYTES, parseBody, parseUrlEncoded } from './params.js';
import type { Router } from './router.js';
import { PveSpec } from './schema/spec.js';
import { validateParams } from './schema/validate.js';

/**
 * The HTTP side of the simulator: from a raw request to `{"data": ...}`, with Proxmox's envelope,
 * headers, reason phrases and status codes. Handlers only see validated parameters.
 */

/** Endpoints that answer without credentials (pve-manager HTTPServer.pm `auth_handler`). */
const NO_AUTH = new Set(['GET /access/ticket', 'POST /access/ticket', 'GET /access/domains']);

export interface Faults {
  /** Share of API requests (0..1) that fail with a 500 before reaching their handler. */
  errorRate?: number;
  /** Share of API requests (0..1) that never get an answer (the client must time out). */
  timeoutRate?: number;
  /** Share of API requests (0..1) whose connection is reset (TCP RST) instead of answered. */
  resetRate?: number;
  /** The next this many API requests fail with a 500, then none (a deterministic passing failure). */
  errorNext?: number;
  /** The next this many API requests have their connection reset, then none. */
  resetNext?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  principal: string | null;
  params: Record<string, unknown>;
  /** When it was answered (ms since the epoch). */
  at: number;
}

export interface ServerDeps {
  cluster: Cluster;
  tasks: TaskManager;
  auth: Authenticator;
  router: Router;
  faults: () => Faults;
  latencyMs: () => number;
  unauthorizedDelayMs: number;
  onRequest: (record: RequestRecord) => void;
  onMutation: () => void;
  /** Replies of GET calls are reused for this long unless the state changed (0 = never). */
  cacheMs: number;
  /** Bumped on every change of state; a cached reply of an older generation is never served. */
  generation: () => number;
  /** The control API (`/_sim/...`), not part of Proxmox. */
  control: (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean;
}

const spec = PveSpec.load();

export function createRequestListener(deps: ServerDeps) {
  const cache = new ReplyCache();
  return (req: IncomingMessage, res: ServerResponse): void => {
    const latency = deps.latencyMs();
    const later = (run: () => void) => (latency > 0 ? setTimeout(run, latency) : run());
    const boundary = isUploadRequest(req) ? multipartBoundary(req.headers['content-type']) : undefined;
    if (boundary) {
      // A file upload is not held in memory and has no size limit (pve-http-server streams it to disk).
      const collector = new MultipartCollector(boundary);
      req.on('data', (chunk: Buffer) => collector.push(chunk));
      req.on('end', () => later(() => handle(deps, cache, req, res, Buffer.alloc(0), collector.finish())));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (size > MAX_BODY_BYTES) return send(req, res, errorReply(new PveError(501, 'for data too large')));
      if (deps.control(req, res, body)) return;
      later(() => handle(deps, cache, req, res, body));
    });
  };
}

interface Reply {
  status: number;
  reason?: string;
  /** `undefined` (and no payload) = empty body without a content type (auth-stage failures). */
  body?: Record<string, unknown>;
  /** An already serialised JSON body. */
  payload?: Buffer;
}

/**
 * Serialised GET replies, reused for a few milliseconds. Usage figures are computed from the clock
 * on every read, which is what makes a list of 100 VMs costly; real PVE refreshes them only every
 * ~10 s (pvestatd), so a reuse window of tens of milliseconds changes nothing a client can see,
 * and any change of state (a new generation) invalidates it at once.
 */
class ReplyCache {
  private readonly entries = new Map<string, { generation: number; at: number; payload: Buffer }>();

  get(key: string, generation: number, maxAgeMs: number): Buffer | undefined {
    const e = this.entries.get(key);
    return e && e.generation === generation && Date.now() - e.at < maxAgeMs ? e.payload : undefined;
  }

  set(key: string, generation: number, payload: Buffer): void {
    if (this.entries.size > 500) this.entries.clear();
    this.entries.set(key, { generation, at: Date.now(), payload });
  }
}

const UPLOAD_PATH = /^\/api2\/json\/+nodes\/+[^/]+\/+storage\/+[^/]+\/+upload\/*$/;

function isUploadRequest(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  try {
    path = decodeURIComponent(path);
  } catch {
    return false;
  }
  return UPLOAD_PATH.test(path);
}

function handle(deps: ServerDeps, cache: ReplyCache, req: IncomingMessage, res: ServerResponse, body: Buffer, upload?: UploadBody): void {
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  let principal: Principal | null = null;
  let params: Record<string, unknown> = {};
  let apiPath = rawPath;
  const finish = (reply: Reply) => {
    deps.onRequest({ method, path: apiPath, status: reply.status, principal: principal?.id ?? null, params, at: Date.now() });
    if (reply.status === 401 && deps.unauthorizedDelayMs > 0) {
      setTimeout(() => send(req, res, reply), deps.unauthorizedDelayMs);
    } else send(req, res, reply);
  };
  try {
    const faults = deps.faults();
    if (faults.timeoutRate && Math.random() < faults.timeoutRate) return; // leave the client hanging
    if (faults.resetNext && faults.resetNext > 0) {
      faults.resetNext--;
      resetConnection(req);
      return;
    }
    if (faults.resetRate && Math.random() < faults.resetRate) {
      resetConnection(req);
      return;
    }
    if (faults.errorNext && faults.errorNext > 0) {
      faults.errorNext--;
      throw new PveError(500, 'simulated failure (fault injection)');
    }
    if (faults.errorRate && Math.random() < faults.errorRate) throw new PveError(500, 'simulated failure (fault injection)');

    const parts = decodePath(rawPath);
    if (parts[0] !== 'api2' || parts[1] !== 'json') throw notImplemented(method, `/${parts.join('/')}`);
    const apiParts = parts.slice(2);
    apiPath = `/${apiParts.join('/')}`;
    const match = deps.router.match(method, apiParts);
    if (!match) throw notImplemented(method, apiPath);

    if ((method === 'GET' || method === 'DELETE') && body.length > 0) throw new PveError(501, 'Unexpected content for method');
    const fromQuery = parseUrlEncoded(query);
    if (upload) params = { ...upload.fields, ...uploadedFile(upload), ...fromQuery };
    else params = method === 'POST' || method === 'PUT' ? { ...parseBody(req.headers['content-type'], body), ...fromQuery } : fromQuery;
    delete params._dc;

    const key = `${method} ${match.entry.template}`;
    const methodSpec = spec.method(method, match.entry.template);
    if (!NO_AUTH.has(key)) {
      principal = deps.auth.authenticate(req.headers, method, upload !== undefined);
      if (principal.kind === 'token' && methodSpec && !methodSpec.allowtoken) {
        throw new AuthError(403, `Permission check failed (URI '${apiPath}' not available with API token, need proper ticket.)`);
      }
    }

    const conflicts: Record<string, string> = {};
    for (const [k, v] of Object.entries(match.uriParams)) {
      if (k in params && String(params[k]) !== v) conflicts[k] = 'duplicate parameter (already defined in URI) with conflicting values!';
      params[k] = v;
    }
    if (Object.keys(conflicts).length) throw paramError(conflicts);

    if (methodSpec) {
      const checked = validateParams(methodSpec, params);
      if (checked.errors) throw paramError(checked.errors);
      params = checked.params;
    }

    const cacheKey = method === 'GET' && deps.cacheMs > 0 ? url : null;
    const cached = cacheKey ? cache.get(cacheKey, deps.generation(), deps.cacheMs) : undefined;
    if (cached) return finish({ status: 200, payload: cached });
    const ctx: Ctx = { cluster: deps.cluster, tasks: deps.tasks, auth: deps.auth, params, principal, ...(upload?.file ? { upload: { size: upload.file.size } } : {}) };
    const generation = deps.generation();
    const result = match.entry.handler(ctx);
    if (method !== 'GET') deps.onMutation();
    const envelope = result instanceof Envelope ? { data: result.data ?? null, ...result.extra } : { data: result ?? null };
    const payload = Buffer.from(JSON.stringify(envelope));
    if (cacheKey) cache.set(cacheKey, generation, payload);
    finish({ status: 200, payload });
  } catch (err) {
    finish(errorReply(err));
  }
}

/** The file part becomes `filename` (the client's name) and `tmpfilename` (where PVE spooled it). */
function uploadedFile(upload: UploadBody): Record<string, string> {
  if (!upload.file) return {};
  return { filename: upload.file.filename, tmpfilename: `/var/tmp/pveupload-${randomBytes(16).toString('hex')}` };
}

function errorReply(err: unknown): Reply {
  if (err instanceof AuthError) return { status: err.status, reason: err.message };
  if (err instanceof PveError) {
    const body: Record<string, unknown> = { data: null, message: `${err.message}\n` };
    if (err.errors) body.errors = err.errors;
    return { status: err.status, reason: err.message, body };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, reason: message, body: { data: null, message: `${message}\n` } };
}

/** The path is unescaped first, then split on slashes with empty segments ignored. */
function decodePath(rawPath: string): string[] {
  let decoded = rawPath;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    // keep it raw: a lone '%' cannot name any route anyway
  }
  return decoded.split('/').filter(Boolean);
}

/** The reason phrase is one printable line, as PVE's status line. */
const reasonPhrase = (text: string) => text.split('\n', 1)[0]!.replace(/[^\x20-\x7e]/g, ' ').slice(0, 512);

export function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = {
    Server: 'pve-api-daemon/3.0',
    'Cache-Control': 'max-age=0',
    Pragma: 'no-cache',
    Expires: new Date().toUTCString(),
  };
  if (reply.status >= 400) headers.Connection = 'close';
  res.statusMessage = reasonPhrase(reply.reason ?? 'OK');
  if (reply.body === undefined && reply.payload === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  let payload: Buffer = reply.payload ?? Buffer.from(JSON.stringify(reply.body));
  headers['Content-Type'] = 'application/json;charset=UTF-8';
  if (payload.length > 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    payload = gzipSync(payload);
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = String(payload.length);
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/**
 * Ends the request's connection with a TCP RST (what a crashed proxy or a dropped firewall state
 * gives): `resetAndDestroy` needs the raw TCP socket under the TLS one (`_parent`, not public API);
 * without it the connection is only closed, which a client sees as an end without an answer.
 */
function resetConnection(req: IncomingMessage): void {
  const tcp = (req.socket as unknown as { _parent?: { resetAndDestroy?: () => void } })._parent;
  try {
    if (typeof tcp?.resetAndDestroy === 'function') return tcp.resetAndDestroy();
  } catch {
    // fall through
  }
  req.socket.destroy();
}
