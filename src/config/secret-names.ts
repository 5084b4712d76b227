/**
 * The one rule for names that hold secrets. It decides which environment variables never reach a
 * run (ansible-runner writes a run's whole environment into artifacts/<id>/command) and are
 * redacted by value, and which keys of request bodies, inventories and vault files are redacted.
 * `pass` covers password, passwd and passphrase; `private` covers private_key.
 */
const SECRET_NAME = /pass|secret|token|credential|private|api_?key/i;
/** Keys that name a secret without holding one: `proxmox_api_token_id`, `vault_password_file_name`, `token_user`. */
const IDENTIFIER_KEY = /(?:_id|id|_name|_user)$/i;

/** An environment variable whose value is treated as a secret. */
export const isSecretEnvName = (name: string): boolean => SECRET_NAME.test(name);

/** A key (of a JSON or YAML structure) whose value is treated as a secret. */
export const isSecretKey = (key: string): boolean => SECRET_NAME.test(key) && !IDENTIFIER_KEY.test(key);
