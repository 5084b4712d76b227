/**
 * The one rule for names that hold secrets. It decides which environment variables never reach a
 * run (ansible-runner writes a run's whole environment into artifacts/<id>/command) and are
 * redacted by value, and which keys of request bodies, inventories and vault files are redacted.
 * `pass` covers password, passwd and passphrase; `private` covers private_key.
 */
const SECRET_NAME = /pass|secret|token|credential|private|api_?key/i;
/** Keys that name a secret without holding one: `proxmox_api_token_id`, `vault_password_file_name`, `token_user`. */
const IDENTIFIER_KEY = /(?:_id|id|_name|_user)$/i;

/** An environment variable whose name says it holds a secret (see isSecretEnv for the value rule). */
export const isSecretEnvName = (name: string): boolean => SECRET_NAME.test(name);

/** A key (of a JSON or YAML structure) whose value is treated as a secret. */
export const isSecretKey = (key: string): boolean => SECRET_NAME.test(key) && !IDENTIFIER_KEY.test(key);

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

/**
 * An environment variable that holds a secret: by its name, or by its value, a URL that carries a
 * password (`postgresql://user:password@host/db` in DATABASE_URL). Never passed to runs; its
 * value, and the URL's password alone, are redacted.
 */
export function isSecretEnv(name: string, value: string | undefined): boolean {
  return isSecretEnvName(name) || urlPassword(value) !== null;
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
