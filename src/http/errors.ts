import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';
import {
  DomainError, EngineClosedError, IdempotencyMismatchError, InvalidCursorError, JobStoreUnavailableError, LockConflictError, QueueFullError, RunQueueUnavailableError,
  type DomainErrorCode,
} from '../errors.js';
import { detailOfBody } from '../jobs/failure.js';
import { Redactor, secretValuesOf } from '../jobs/redact.js';
import { ApiError } from './api-error.js';
import { toDetail, type DetailItem } from './validation.js';

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS';
const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

function sendDetail(reply: FastifyReply, status: number, detail: unknown, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(status).headers(headers).type('application/json; charset=utf-8').send({ detail, ...extra });
}

/** The HTTP status of each domain error code: the one table of what the domain's refusals mean on the wire. */
const STATUS: Readonly<Record<DomainErrorCode, number>> = {
  NAME_REFUSED: 400,
  PATH_TRAVERSAL: 400,
  PLAYBOOK_NOT_FOUND: 400,
  INVENTORY_NOT_FOUND: 400,
  INVENTORY_DIR_NOT_FOUND: 500,
  QUEUE_FULL: 503,
  SHUTTING_DOWN: 503,
  VM_LOCKED: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  INVALID_CURSOR: 422,
  NOTHING_TO_RUN: 500,
  JOB_STORE_UNAVAILABLE: 503,
  RUN_QUEUE_UNAVAILABLE: 503,
  JOB_FINISHED: 409,
  JOB_RUN_ELSEWHERE: 409,
  VM_NOT_FOUND: 404,
  PROXMOX_UNAVAILABLE: 502,
  PROXMOX_CREDENTIALS: 500,
};

/** A refusal as the client sees it: status, headers, `detail`, and any other field of the body. */
export interface HttpRefusal {
  status: number;
  detail: unknown;
  headers: Record<string, string>;
  /** Body fields beside `detail` (the 409 of a locked VM names the job holding it). */
  extra: Record<string, unknown>;
}

/**
 * A domain error on the wire. The `detail` is the error's message (the original API's text) except
 * where the original answers a structured detail; `Retry-After` goes with the refusals that pass.
 */
export function toHttpRefusal(err: DomainError): HttpRefusal {
  const status = STATUS[err.code];
  if (err instanceof QueueFullError || err instanceof EngineClosedError || err instanceof JobStoreUnavailableError || err instanceof RunQueueUnavailableError) {
    return { status, detail: err.message, headers: { 'retry-after': String(err.retryAfterSeconds) }, extra: {} };
  }
  if (err instanceof LockConflictError) {
    const detail = `:: err - VM LOCKED : ${err.target.node}/${err.target.vmid} is being changed by job ${err.holder}`;
    return { status, detail, headers: {}, extra: { job_id: err.holder } };
  }
  if (err instanceof IdempotencyMismatchError) {
    return { status, detail: [{ field: 'header.idempotency-key', msg: err.message, type: 'idempotency_key_reused', input: err.key, ctx: null }], headers: {}, extra: {} };
  }
  if (err instanceof InvalidCursorError) {
    return { status, detail: [{ field: 'query.cursor', msg: 'Invalid cursor', type: 'value_error', input: err.cursor, ctx: null }], headers: {}, extra: {} };
  }
  return { status, detail: err.message, headers: {}, extra: {} };
}

/**
 * One error handler for the whole API:
 * - body/query validation → 422 `{"detail":[{field,msg,type,input,ctx}]}` (the original's format),
 *   also for malformed JSON (`json_invalid`) and a missing body;
 * - ApiError → its status and `{"detail": ...}`;
 * - DomainError → the status, headers and detail its code maps to (toHttpRefusal);
 * - Fastify's own 4xx (body too large, unsupported media type, ...) → that status, JSON detail;
 * - anything else → a JSON 500 with no internals (the original leaked plain text).
 * Unknown paths answer 404 and known paths with another method 405, both in JSON.
 */
export function registerErrorHandling(app: FastifyInstance, opts: { debug: boolean }): void {
  // Every registered (method, url), to tell "wrong method" (405) from "unknown path" (404).
  const known = FindMyWay({ ignoreTrailingSlash: false });
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (METHODS.includes(m as HttpMethod)) {
        try {
          known.on(m as HttpMethod, route.url, () => undefined);
        } catch {
          // the same route declared twice under another prefix: already known
        }
      }
    }
  });

  // Every failure answer carries a `detail` (the one field the deployer UI shows): a run's answer
  // has its own (jobs/failure.ts); one without (an internal error's `{rc, log_multiline}`, the
  // stored answer of a job from before `detail`) gets its error or last log line.
  // The readiness probe's 503 (`{ready:false[, checks]}`) is for orchestrators and keeps its own
  // shape: without the token it must say nothing but `ready`.
  app.addHook('preSerialization', async (_req, reply, payload: unknown) => {
    if (reply.statusCode < 400 || payload === null || typeof payload !== 'object' || Array.isArray(payload) || 'detail' in payload || 'ready' in payload) return payload;
    return { ...(payload as Record<string, unknown>), detail: detailOfBody(payload as Record<string, unknown>, reply.statusCode) };
  });

  const logValidation = (req: FastifyRequest, detail: DetailItem[]) => {
    if (opts.debug) {
      // The refused body may hold a password: secret-named keys (and their values anywhere) are redacted.
      const r = new Redactor(secretValuesOf([req.body, req.query]));
      req.log.error({ method: req.method, path: r.text(req.url), query: r.value(req.query), body: r.value(req.body), errors: r.value(detail) }, 'request validation failed');
    } else {
      req.log.info({ errors: detail.length }, 'request validation failed');
    }
  };

  app.setErrorHandler((error: FastifyError & { validation?: unknown[]; validationContext?: string; sentInput?: unknown }, req, reply) => {
    if (error.validation) {
      const context = error.validationContext ?? 'body';
      // `input` is what the caller sent (pydantic's rule), not the value after coercion and defaults.
      const received = context === 'body' ? req.body : context === 'querystring' ? req.query : context === 'params' ? req.params : req.headers;
      const root = 'sentInput' in error ? error.sentInput : received;
      const schema = (req.routeOptions.schema as Record<string, { properties?: object }> | undefined)?.[context];
      const order = Object.keys(schema?.properties ?? {});
      const detail = toDetail(error.validation as never, root, context === 'querystring' ? 'query' : context === 'params' ? 'path' : context, order)
        .map((d) => ({ ...d, input: limitDepth(d.input) }));
      logValidation(req, detail);
      return sendDetail(reply, 422, detail);
    }
    if (error instanceof ApiError) {
      if (error.statusCode >= 500) req.log.error({ detail: error.detail }, 'request refused');
      return sendDetail(reply, error.statusCode, error.detail, error.headers);
    }
    if (error instanceof DomainError) {
      const refusal = toHttpRefusal(error);
      if (refusal.status >= 500) req.log.error({ detail: refusal.detail }, 'request refused');
      return sendDetail(reply, refusal.status, refusal.detail, refusal.headers, refusal.extra);
    }
    // A body nested deeply enough overflows JSON.parse's stack: that is a JSON decode error too.
    const tooDeep = error instanceof RangeError && /call stack/i.test(error.message);
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError || tooDeep) {
      const detail: DetailItem[] = [{ field: 'body', msg: 'JSON decode error', type: 'json_invalid', input: {}, ctx: { error: error.message } }];
      logValidation(req, detail);
      return sendDetail(reply, 422, detail);
    }
    if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      const detail: DetailItem[] = [{ field: 'body', msg: 'Field required', type: 'missing', input: null, ctx: null }];
      logValidation(req, detail);
      return sendDetail(reply, 422, detail);
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendDetail(reply, status, error.message);
    req.log.error({ err: error }, 'unhandled error');
    return sendDetail(reply, 500, 'Internal Server Error');
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? req.url;
    // OPTIONS and HEAD are answered by catch-all helpers (CORS preflight): they prove nothing.
    const allowed = METHODS.filter((m) => m !== req.method && m !== 'OPTIONS' && m !== 'HEAD' && known.find(m, path) !== null);
    if (allowed.length > 0) return sendDetail(reply, 405, 'Method Not Allowed', { allow: allowed.join(', ') });
    return sendDetail(reply, 404, 'Not Found');
  });
}

/**
 * The refused input is echoed back (as pydantic does), but a body nested thousands of levels deep
 * would overflow the serializer's stack: beyond a depth of 16 the value is replaced by a marker.
 */
function limitDepth(value: unknown, depth = 16): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth === 0) return '[nested too deeply]';
  if (Array.isArray(value)) return value.map((v) => limitDepth(v, depth - 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, limitDepth(v, depth - 1)]));
}
