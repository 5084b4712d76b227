import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/env.js';
import { decryptVault, isVaultText, isVaultValue, parseVaultYaml } from '../proxmox/ansible-vault.js';
import { isSecretEnv, isSecretKey, urlPassword } from '../config/secret-names.js';

const REFRESH_MS = 5000;

/**
 * The service's own secrets, for redaction by value: the vault password, the API bearer token,
 * secret environment variables (by name, or URLs with a password: the URL and the password), the
 * database URL's password, and every value under a secret key of the inventory
 * (`proxmox_api_token_secret`, `ansible_password`, …) and of the vault extra-vars file, decrypted
 * when it is vault-encrypted. Re-read at most every few seconds, so an edited inventory applies.
 */
export class ServiceSecrets {
  private cached: string[] = [];
  private readAt = 0;

  constructor(
    private readonly config: Pick<Config, 'inventoryDir' | 'vaultFile' | 'vaultPassword' | 'apiAuthToken'> & { jobs?: Pick<Config['jobs'], 'databaseUrl'> },
    private readonly vaultPasswordFile: string | null,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  values(): string[] {
    if (Date.now() - this.readAt < REFRESH_MS) return this.cached;
    const out = new Set<string>();
    const add = (v: unknown) => {
      if (typeof v === 'string' && v.trim() !== '') out.add(v.trim());
      else if (typeof v === 'number') out.add(String(v));
    };
    add(this.config.vaultPassword);
    add(this.config.apiAuthToken);
    const databaseUrl = this.config.jobs?.databaseUrl ?? null;
    if (urlPassword(databaseUrl)) {
      add(databaseUrl);
      add(urlPassword(databaseUrl));
    }
    let vaultPassword: string | null = this.config.vaultPassword;
    if (this.vaultPasswordFile) {
      try {
        vaultPassword = fs.readFileSync(this.vaultPasswordFile, 'utf8').trim();
        add(vaultPassword);
      } catch {
        // unreadable: runs will say so
      }
    }
    for (const [k, v] of Object.entries(this.env)) {
      if (!isSecretEnv(k, v)) continue;
      add(v);
      add(urlPassword(v));
    }
    for (const file of [path.join(this.config.inventoryDir, 'hosts.yml'), this.config.vaultFile]) {
      if (file) for (const v of secretsOfVarsFile(file, vaultPassword)) add(v);
    }
    this.cached = [...out];
    this.readAt = Date.now();
    return this.cached;
  }
}

/** Values under secret keys of a YAML vars file (whole-file or `!vault` value encryption). */
export function secretsOfVarsFile(file: string, vaultPassword: string | null): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const decrypt = (t: string) => {
    if (!vaultPassword) return null;
    try {
      return decryptVault(t, vaultPassword);
    } catch {
      return null;
    }
  };
  if (isVaultText(text)) {
    const plain = decrypt(text);
    if (plain === null) return [];
    text = plain;
  }
  let doc: unknown;
  try {
    doc = parseVaultYaml(text);
  } catch {
    return [];
  }
  const out: string[] = [];
  const walk = (v: unknown, secret: boolean, depth: number) => {
    if (depth > 32 || v === null || v === undefined) return;
    if (isVaultValue(v)) {
      // An encrypted value is a secret whatever its key.
      const plain = decrypt(String(v.__vault__));
      if (plain !== null) out.push(plain.trim());
      return;
    }
    if (typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, secret || isSecretKey(k), depth + 1);
      return;
    }
    if (secret && (typeof v === 'string' || typeof v === 'number')) out.push(String(v));
  };
  walk(doc, false, 0);
  return out;
}
