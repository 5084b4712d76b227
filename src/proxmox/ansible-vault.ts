import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import YAML from 'yaml';

/**
 * Decrypts Ansible Vault 1.1/1.2 AES256 payloads (whole files and inline `!vault` values), so the
 * service can read the same vault-protected Proxmox credentials its playbooks use without
 * starting an Ansible process.
 *
 * Format: a header line `$ANSIBLE_VAULT;1.1;AES256[;label]`, then hex text which decodes to three
 * hex lines: salt, HMAC-SHA256 of the ciphertext, ciphertext. Keys come from
 * PBKDF2-SHA256(password, salt, 10000 rounds, 80 bytes) = AES key | HMAC key | CTR counter.
 */
export class VaultDecryptError extends Error {
  override name = 'VaultDecryptError';
}

export function isVaultText(text: string): boolean {
  return text.trimStart().startsWith('$ANSIBLE_VAULT;');
}

export function decryptVault(text: string, password: string): string {
  const lines = text.trim().split(/\r?\n/).map((l) => l.trim());
  const header = lines.shift() ?? '';
  const [magic, version, cipher] = header.split(';');
  if (magic !== '$ANSIBLE_VAULT' || !['1.1', '1.2'].includes(version ?? '') || cipher !== 'AES256') {
    throw new VaultDecryptError(`unsupported vault header: ${header.slice(0, 60)}`);
  }
  const envelope = Buffer.from(lines.join(''), 'hex').toString('latin1').split('\n');
  if (envelope.length !== 3) throw new VaultDecryptError('malformed vault payload');
  const [salt, mac, data] = envelope.map((h) => Buffer.from(h, 'hex')) as [Buffer, Buffer, Buffer];
  const derived = pbkdf2Sync(password, salt, 10_000, 80, 'sha256');
  const expected = createHmac('sha256', derived.subarray(32, 64)).update(data).digest();
  if (expected.length !== mac.length || !timingSafeEqual(expected, mac)) {
    throw new VaultDecryptError('vault password does not decrypt this data (HMAC mismatch)');
  }
  const decipher = createDecipheriv('aes-256-ctr', derived.subarray(0, 32), derived.subarray(64, 80));
  const padded = Buffer.concat([decipher.update(data), decipher.final()]);
  const pad = padded[padded.length - 1] ?? 0;
  if (pad < 1 || pad > 16) throw new VaultDecryptError('bad padding in vault payload');
  return padded.subarray(0, padded.length - pad).toString('utf8');
}

/** An inline `!vault` value as parseVaultYaml leaves it, to decrypt when it is read. */
export interface VaultValue {
  __vault__: string;
}

export const isVaultValue = (v: unknown): v is VaultValue => v !== null && typeof v === 'object' && '__vault__' in v;

/** YAML with Ansible's `!vault` tag kept as a marker object (VaultValue) to decrypt afterwards. Throws on bad YAML. */
export function parseVaultYaml(text: string): unknown {
  return YAML.parse(text, { customTags: [{ tag: '!vault', resolve: (value: string): VaultValue => ({ __vault__: value }) }] });
}
