import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isSecretKey } from '../config/secret-names.js';

/**
 * The access log (Fastify's `incoming request` line, at info) writes each request's URL. A client
 * that cannot set a header (a browser's WebSocket or EventSource) may put its credential in the
 * query string instead — `?token=`, `?access_token=`, `?api_key=`… — and the line would then carry
 * it verbatim. The URL is logged with the value of every such parameter replaced; the path and
 * the other parameters are kept as sent.
 */

export const REDACTED_VALUE = '[redacted]';

/** Query names that carry a credential: the secret-name rule (token, pass, secret, api_key…) plus the usual short ones. */
const CREDENTIAL_NAMES = new Set(['auth', 'authorization', 'key', 'jwt', 'bearer', 'ticket', 'sig', 'signature', 'session', 'sessionid', 'code']);

function queryName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

const isCredentialName = (name: string): boolean => isSecretKey(name) || CREDENTIAL_NAMES.has(name.toLowerCase());

/** The URL with the value of every credential-named query parameter replaced by `[redacted]`. */
export function redactedUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const name = queryName(eq < 0 ? part : part.slice(0, eq));
    return eq >= 0 && isCredentialName(name) ? `${part.slice(0, eq)}=${REDACTED_VALUE}` : part;
  });
  return `${url.slice(0, q)}?${parts.join('&')}${hash < 0 ? '' : url.slice(hash)}`;
}

/** Fastify's request serializer, the URL redacted. */
export function accessLogRequest(req: FastifyRequest) {
  return {
    method: req.method,
    url: redactedUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket ? req.socket.remotePort : undefined,
  };
}

/** The logger the app uses: the given one, its `req` serializer the redacting one. */
export function withAccessLogRedaction(log: Logger): Logger {
  return log.child({}, { serializers: { req: accessLogRequest } });
}
