import { PveError } from './errors.js';

/** Request parameter decoding as pve-http-server's `extract_params` does it. */

export const MAX_BODY_BYTES = 512 * 1024;

/** urlencoded: `&` and `;` both split, `+` is a space, a repeated key becomes an array. */
export function parseUrlEncoded(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!text) return out;
  for (const pair of text.split(/[&;]/)) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

function decode(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced; // a stray '%' is kept as is rather than failing the whole request
  }
}

/**
 * Body parameters of a POST/PUT: JSON when the client says so, urlencoded otherwise (also when
 * the header is missing). Other content types are refused with 506 as PVE does.
 */
export function parseBody(contentType: string | undefined, body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new PveError(400, 'malformed JSON string');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new PveError(400, 'JSON body must be an object');
    }
    return parsed as Record<string, unknown>;
  }
  if (type === '' || type === 'application/x-www-form-urlencoded') return parseUrlEncoded(body.toString('utf8'));
  throw new PveError(506, `unsupported content type '${type}'`);
}
