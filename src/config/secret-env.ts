/**
 * Which environment variables hold secrets: by name (`*PASSWORD*`, `*TOKEN*`, `*SECRET*`, …), or
 * by value, a URL that carries a password (`postgresql://user:password@host/db` in DATABASE_URL,
 * later a Redis URL). Such variables are never passed to playbook runs (ansible-runner writes the
 * whole environment of a run into its artifacts), and their values — the URL, and its password
 * alone — are redacted from what the jobs store and stream.
 */
export const SECRET_ENV_NAME = /PASS(WORD|PHRASE)?|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_?KEY/i;

/** The password of a URL (`scheme://user:password@host`), decoded, or null when it has none. */
export function urlPassword(value: string | undefined | null): string | null {
  if (!value || !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:[^/?#]*@/i.test(value.trim())) return null;
  try {
    const password = new URL(value.trim()).password;
    return password === '' ? null : decodeURIComponent(password);
  } catch {
    // not a URL the WHATWG parser takes: the raw text between ':' and '@' of the authority
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:([^/?#]*)@/i.exec(value.trim());
    return m?.[1] ? m[1] : null;
  }
}

export function isSecretEnv(name: string, value: string | undefined): boolean {
  return SECRET_ENV_NAME.test(name) || urlPassword(value) !== null;
}

/** The URL with its password replaced by `***`, for messages and logs. */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^/?#]*@/i, '$1***@');
  }
}
