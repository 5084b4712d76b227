import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decryptVault, VaultDecryptError } from '../../src/proxmox/ansible-vault.js';
import { CredentialsError, loadProxmoxCredentials } from '../../src/proxmox/credentials.js';
import { tempDir } from '../helpers.js';

const password = 'correct horse battery';

function vault(args: string[], dir: string): string {
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, password);
  return execFileSync('/usr/bin/ansible-vault', [...args, '--vault-password-file', pw]).toString();
}

const inventoryWith = (vars: string) => `all:
  children:
    range42_infrastructure:
      children:
        proxmox:
          hosts:
            px-cli:
              ansible_connection: local
            px-testing:
              ansible_connection: local
${vars.split('\n').map((l) => `              ${l}`).join('\n')}
`;

describe('Ansible Vault decryption (checked against ansible-vault itself)', () => {
  it('decrypts a whole file and an encrypt_string value; a wrong password is refused', () => {
    const dir = tempDir();
    const file = path.join(dir, 'secret.yml');
    fs.writeFileSync(file, 'proxmox_api_token_secret: s3cr3t-ünïcode\n');
    vault(['encrypt', file], dir);
    expect(decryptVault(fs.readFileSync(file, 'utf8'), password)).toBe('proxmox_api_token_secret: s3cr3t-ünïcode\n');
    expect(() => decryptVault(fs.readFileSync(file, 'utf8'), 'wrong')).toThrow(VaultDecryptError);
    const inline = vault(['encrypt_string', 'token-value', '--name', 'x'], dir);
    const body = inline.split('\n').slice(1).join('\n');
    expect(decryptVault(body, password)).toBe('token-value');
  });
});

describe('Proxmox credentials from the inventory and the vault file', () => {
  it('reads plain inline vars of the first proxmox host that has an API host', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'hosts.yml'), inventoryWith('proxmox_api_host: 127.0.0.1:8006\nproxmox_node: px-testing\nproxmox_api_user: api@pam\nproxmox_api_token_id: t1\nproxmox_api_token_secret: abc'));
    expect(loadProxmoxCredentials({ inventoryDir: dir, vaultFile: null, vaultPassword: null })).toEqual({
      apiHost: '127.0.0.1:8006', node: 'px-testing', user: 'api@pam', tokenId: 't1', tokenSecret: 'abc', validateCerts: false,
    });
  });

  it('decrypts !vault values and lets the (encrypted) vault file override the inventory', () => {
    const dir = tempDir();
    const inline = vault(['encrypt_string', 'inline-secret', '--name', 'proxmox_api_token_secret'], dir);
    fs.writeFileSync(path.join(dir, 'hosts.yml'), inventoryWith(`proxmox_api_host: 10.9.9.9:8006\n${inline.trim()}`));
    expect(loadProxmoxCredentials({ inventoryDir: dir, vaultFile: null, vaultPassword: password }).tokenSecret).toBe('inline-secret');
    expect(() => loadProxmoxCredentials({ inventoryDir: dir, vaultFile: null, vaultPassword: null })).toThrow(/vault-encrypted/);

    const vf = path.join(dir, 'vault.yml');
    fs.writeFileSync(vf, 'proxmox_api_host: 127.0.0.1:9443\nproxmox_api_token_secret: from-vault\n');
    vault(['encrypt', vf], dir);
    const c = loadProxmoxCredentials({ inventoryDir: dir, vaultFile: vf, vaultPassword: password });
    expect(c.apiHost).toBe('127.0.0.1:9443');
    expect(c.tokenSecret).toBe('from-vault');
    // A wrong password: a CredentialsError naming what could not be decrypted (the routes answer it).
    expect(() => loadProxmoxCredentials({ inventoryDir: dir, vaultFile: vf, vaultPassword: 'wrong' })).toThrow(CredentialsError);
    expect(() => loadProxmoxCredentials({ inventoryDir: dir, vaultFile: null, vaultPassword: 'wrong' })).toThrow(/cannot decrypt proxmox_api_token_secret: vault password does not decrypt/);
    fs.writeFileSync(path.join(dir, 'hosts.yml'), inventoryWith('proxmox_api_host: 10.9.9.9:8006'));
    expect(() => loadProxmoxCredentials({ inventoryDir: dir, vaultFile: vf, vaultPassword: 'wrong' })).toThrow(`cannot read ${vf}: vault password does not decrypt`);
  });

  it('says so when there are no credentials', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'hosts.yml'), 'all: {}\n');
    expect(() => loadProxmoxCredentials({ inventoryDir: dir, vaultFile: null, vaultPassword: null })).toThrow(CredentialsError);
    expect(() => loadProxmoxCredentials({ inventoryDir: tempDir(), vaultFile: null, vaultPassword: null })).toThrow(/cannot read/);
  });
});
