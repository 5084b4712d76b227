import fs from 'node:fs';
import path from 'node:path';
import { decryptVault, isVaultText, isVaultValue, parseVaultYaml } from './ansible-vault.js';

/** What the service needs to call the Proxmox API itself (name resolution, status polling). */
export interface ProxmoxCredentials {
  /** `host:port`, as the Ansible role's `proxmox_api_host`. */
  apiHost: string;
  node: string;
  user: string;
  tokenId: string;
  tokenSecret: string;
  validateCerts: boolean;
}

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

export interface CredentialSources {
  inventoryDir: string;
  /** API_BACKEND_VAULT_FILE: extra vars that override the inventory's, as they do in runs. */
  vaultFile: string | null;
  /** Contents of the vault password file, when there is one. */
  vaultPassword: string | null;
}

type Vars = Record<string, unknown>;

function reveal(value: unknown, password: string | null, what: string): unknown {
  if (isVaultValue(value)) {
    if (!password) throw new CredentialsError(`${what} is vault-encrypted and no vault password is configured`);
    try {
      return decryptVault(String(value.__vault__), password).trim();
    } catch (err) {
      throw new CredentialsError(`cannot decrypt ${what}: ${(err as Error).message}`);
    }
  }
  return value;
}

function parseVarsFile(file: string, password: string | null): Vars {
  let text = fs.readFileSync(file, 'utf8');
  if (isVaultText(text)) {
    if (!password) throw new CredentialsError(`${file} is vault-encrypted and no vault password is configured`);
    text = decryptVault(text, password);
  }
  const doc = parseVaultYaml(text);
  return doc && typeof doc === 'object' ? (doc as Vars) : {};
}

function proxmoxHosts(inventory: Vars): Array<[string, Vars]> {
  const dig = (o: unknown, ...keys: string[]): unknown =>
    keys.reduce<unknown>((cur, k) => (cur && typeof cur === 'object' ? (cur as Vars)[k] : undefined), o);
  const hosts = dig(inventory, 'all', 'children', 'range42_infrastructure', 'children', 'proxmox', 'hosts');
  if (!hosts || typeof hosts !== 'object') return [];
  return Object.entries(hosts as Vars).map(([name, vars]) => [name, (vars && typeof vars === 'object' ? vars : {}) as Vars]);
}

/**
 * The Proxmox credentials the playbooks would use: the first host of the inventory's `proxmox`
 * group that has a `proxmox_api_host` (the original's rule), overridden by the vault extra-vars
 * file, with `!vault` values and encrypted files decrypted.
 */
export function loadProxmoxCredentials(src: CredentialSources): ProxmoxCredentials {
  const inventoryFile = path.join(src.inventoryDir, 'hosts.yml');
  let inventory: Vars;
  try {
    inventory = parseVarsFile(inventoryFile, src.vaultPassword);
  } catch (err) {
    if (err instanceof CredentialsError) throw err;
    throw new CredentialsError(`cannot read ${inventoryFile}: ${(err as Error).message}`);
  }
  const hosts = proxmoxHosts(inventory);
  let extra: Vars = {};
  try {
    if (src.vaultFile) extra = parseVarsFile(src.vaultFile, src.vaultPassword);
  } catch (err) {
    if (err instanceof CredentialsError) throw err;
    throw new CredentialsError(`cannot read ${src.vaultFile}: ${(err as Error).message}`);
  }
  const chosen = hosts.find(([, v]) => Boolean(v.proxmox_api_host) || Boolean(extra.proxmox_api_host));
  if (!chosen && !extra.proxmox_api_host) throw new CredentialsError('Proxmox credentials not found in backend inventory');
  const vars: Vars = { ...(chosen?.[1] ?? {}), ...extra };
  const get = (key: string, fallback: string) => {
    const v = reveal(vars[key], src.vaultPassword, key);
    return v === undefined || v === null || v === '' ? fallback : String(v);
  };
  const creds: ProxmoxCredentials = {
    apiHost: get('proxmox_api_host', ''),
    node: get('proxmox_node', 'pve01'),
    user: get('proxmox_api_user', 'root@pam'),
    tokenId: get('proxmox_api_token_id', ''),
    tokenSecret: get('proxmox_api_token_secret', ''),
    validateCerts: ['true', 'yes', '1'].includes(get('proxmox_validate_certs', 'false').toLowerCase()),
  };
  if (!creds.apiHost) throw new CredentialsError('Proxmox credentials not found in backend inventory');
  return creds;
}

/**
 * Every Proxmox API host the configuration names: the `proxmox_api_host` of each host of the
 * inventory's `proxmox` group, and the vault extra-vars file's. A request may name one of these
 * (the original's `proxmox_api_host` field), never another: the runs send the API token there.
 */
export function configuredApiHosts(src: CredentialSources): string[] {
  const inventoryFile = path.join(src.inventoryDir, 'hosts.yml');
  const out = new Set<string>();
  const add = (v: unknown, what: string) => {
    const host = reveal(v, src.vaultPassword, what);
    if (typeof host === 'string' && host !== '') out.add(host);
  };
  try {
    for (const [name, vars] of proxmoxHosts(parseVarsFile(inventoryFile, src.vaultPassword))) add(vars.proxmox_api_host, `${name}.proxmox_api_host`);
    if (src.vaultFile) add(parseVarsFile(src.vaultFile, src.vaultPassword).proxmox_api_host, 'proxmox_api_host');
  } catch (err) {
    if (err instanceof CredentialsError) throw err;
    throw new CredentialsError(`cannot read the Proxmox API hosts: ${(err as Error).message}`);
  }
  return [...out];
}

/** Every host and group name of an inventory file (YAML form), to check an Ansible `--limit` against. */
export function inventoryNames(file: string): Set<string> {
  const names = new Set<string>(['all']);
  const walk = (group: string, node: unknown) => {
    names.add(group);
    if (!node || typeof node !== 'object') return;
    const g = node as Vars;
    for (const host of Object.keys((g.hosts && typeof g.hosts === 'object' ? g.hosts : {}) as Vars)) names.add(host);
    for (const [child, sub] of Object.entries((g.children && typeof g.children === 'object' ? g.children : {}) as Vars)) walk(child, sub);
  };
  const doc = parseVaultYaml(fs.readFileSync(file, 'utf8')) as Vars | null;
  for (const [group, node] of Object.entries(doc ?? {})) walk(group, node);
  return names;
}

/**
 * Every variable name the configuration gives the runs, whatever host it is set on: the vars of
 * every group and host of the inventory, the files of its `group_vars/` and `host_vars/`, and the
 * vault extra-vars file. Wider than what one host sees, on purpose: it serves to tell which of a
 * role's inputs a request must carry, where a name set anywhere is given the benefit of the doubt.
 * Null when some part cannot be read (then nobody can tell).
 */
export function configuredVarNames(src: CredentialSources): Set<string> | null {
  const names = new Set<string>();
  const addKeys = (o: unknown) => {
    if (o && typeof o === 'object' && !Array.isArray(o)) for (const k of Object.keys(o)) names.add(k);
  };
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object') return;
    const g = node as Vars;
    addKeys(g.vars);
    for (const vars of Object.values((g.hosts && typeof g.hosts === 'object' ? g.hosts : {}) as Vars)) addKeys(vars);
    for (const sub of Object.values((g.children && typeof g.children === 'object' ? g.children : {}) as Vars)) walk(sub);
  };
  try {
    for (const node of Object.values(parseVarsFile(path.join(src.inventoryDir, 'hosts.yml'), src.vaultPassword))) walk(node);
    for (const dir of ['group_vars', 'host_vars'].map((d) => path.join(src.inventoryDir, d)).filter((d) => fs.existsSync(d))) {
      for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
        if (entry.isFile() && /\.(ya?ml|json)$|^[^.]+$/.test(entry.name)) addKeys(parseVarsFile(path.join(entry.parentPath, entry.name), src.vaultPassword));
      }
    }
    if (src.vaultFile) addKeys(parseVarsFile(src.vaultFile, src.vaultPassword));
  } catch {
    return null;
  }
  return names;
}
