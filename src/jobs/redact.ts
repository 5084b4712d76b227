import { isSecretKey } from '../config/secret-names.js';

/**
 * Secrets never reach the job store or an event stream. Two rules, applied to everything stored
 * or streamed:
 * - by key: in any JSON structure, the value of a key that names a secret (`password`,
 *   `lxc_password`, `TARGET_PASSWORD`, `proxmox_api_token_secret`, `api_key`, …; not `…_id`)
 *   becomes "[redacted]";
 * - by value: every known secret (those values, plus the service's own: vault password, vault and
 *   inventory secrets, API token, secret-named environment variables) is replaced wherever it
 *   appears in free text (log lines, task messages, results).
 */

export const REDACTED = '[redacted]';

/** Shorter values are only redacted by key: replacing "abc" in every log line would maim the logs. */
const MIN_SECRET_LENGTH = 4;

const isRedactable = (v: unknown) => v !== null && v !== undefined && typeof v !== 'boolean' && v !== '';

/** The values held under secret keys anywhere in `value`. */
export function secretValuesOf(value: unknown, out: Set<string> = new Set(), depth = 0): Set<string> {
  if (depth > 32 || value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (isSecretKey(k) && (typeof v === 'string' || typeof v === 'number')) {
      out.add(String(v));
    } else if (isSecretKey(k) && Array.isArray(v)) {
      for (const x of v) if (typeof x === 'string' || typeof x === 'number') out.add(String(x));
    } else {
      secretValuesOf(v, out, depth + 1);
    }
  }
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Redactor {
  private readonly pattern: RegExp | null;
  readonly secrets: readonly string[];

  constructor(values: Iterable<string> = []) {
    const unique = [...new Set([...values].filter((v) => typeof v === 'string' && v.length >= MIN_SECRET_LENGTH))];
    // Longest first, so a secret containing another is replaced whole.
    unique.sort((a, b) => b.length - a.length);
    this.secrets = unique;
    this.pattern = unique.length > 0 ? new RegExp(unique.map(escape).join('|'), 'g') : null;
  }

  /** A redactor that also knows these values. */
  with(values: Iterable<string>): Redactor {
    return new Redactor([...this.secrets, ...values]);
  }

  text(s: string): string {
    return this.pattern && s.length >= MIN_SECRET_LENGTH ? s.replace(this.pattern, REDACTED) : s;
  }

  /** A redacted deep copy of a JSON value. */
  value<T>(v: T, depth = 0): T {
    if (typeof v === 'string') return this.text(v) as T;
    if (v === null || typeof v !== 'object') return v;
    if (depth > 64) return REDACTED as T;
    if (Array.isArray(v)) return v.map((x) => this.value(x, depth + 1)) as T;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (!isSecretKey(k)) out[this.text(k)] = this.value(x, depth + 1);
      else if (Array.isArray(x)) out[k] = x.map((e) => (isRedactable(e) && typeof e !== 'object' ? REDACTED : this.value(e, depth + 1)));
      else out[k] = isRedactable(x) && typeof x !== 'object' ? REDACTED : this.value(x, depth + 1);
    }
    return out as T;
  }
}
