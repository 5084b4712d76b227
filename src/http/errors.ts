import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';
import { ApiError } from '../errors.js';
import { Redactor, secretValuesOf } from '../jobs/redact.js';
import { toDetail, type DetailItem } from './validation.js';

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS';
const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

function sendDetail(reply: FastifyReply, status: number, detail: unknown, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(status).headers(headers).type('application/json; charset=utf-8').send({ detail });
}

/**
 * One error handler for the whole API:
 * - body/query validation → 422 `{"detail":[{field,msg,type,input,ctx}]}` (the original's format),
 *   also for malformed JSON (`json_invalid`) and a missing body;
 * - ApiError → its status and `{"detail": ...}`;
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
export function limitDepth(value: unknown, depth = 16): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth === 0) return '[nested too deeply]';
  if (Array.isArray(value)) return value.map((v) => limitDepth(v, depth - 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, limitDepth(v, depth - 1)]));
}
