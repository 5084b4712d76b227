import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../helpers.js';

// Every PBKDF2 derivation the service makes (ansible-vault.ts imports pbkdf2Sync from node:crypto), counted.
const derivations = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  const pbkdf2Sync: typeof crypto.pbkdf2Sync = (...args) => {
    derivations.count++;
    return crypto.pbkdf2Sync(...args);
  };
  return { ...crypto, default: { ...crypto, pbkdf2Sync }, pbkdf2Sync };
});

const { VmNameResolver } = await import('../../src/proxmox/vm-names.js');

const password = 'cache test password';

function encryptString(value: string, name: string, pwFile: string): string {
  return execFileSync('/usr/bin/ansible-vault', ['encrypt_string', value, '--name', name, '--vault-password-file', pwFile]).toString().trim();
}

function inventory(hostVars: string): string {
  return ['all:', '  children:', '    range42_infrastructure:', '      children:', '        proxmox:', '          hosts:', '            px-testing:',
    ...hostVars.split('\n').map((l) => `              ${l}`), ''].join('\n');
}

describe('Proxmox credentials are cached by their files', () => {
  let dir: string;
  let pwFile: string;
  let secretVar: string;
  beforeEach(() => {
    dir = tempDir();
    pwFile = path.join(dir, 'pw');
    fs.writeFileSync(pwFile, password);
    secretVar = encryptString('vaulted-secret', 'proxmox_api_token_secret', pwFile);
    fs.writeFileSync(path.join(dir, 'hosts.yml'), inventory(`proxmox_api_host: 127.0.0.1:8006\nproxmox_node: px-testing\nproxmox_api_token_id: t1\n${secretVar}`));
    derivations.count = 0;
  });

  it('a second lookup derives nothing; an edited inventory applies at once', () => {
    const names = new VmNameResolver({ inventoryDir: dir, vaultFile: null }, pwFile);
    expect(names.credentials()).toMatchObject({ node: 'px-testing', tokenSecret: 'vaulted-secret' });
    expect(derivations.count).toBe(1);
    for (let i = 0; i < 5; i++) expect(names.credentials().tokenSecret).toBe('vaulted-secret');
    expect(names.apiHosts()).toEqual(['127.0.0.1:8006']);
    names.apiHosts();
    expect(derivations.count).toBe(1);

    fs.writeFileSync(path.join(dir, 'hosts.yml'), inventory(`proxmox_api_host: 127.0.0.1:8006\nproxmox_node: px-lab-02\nproxmox_api_token_id: t1\n${secretVar}`));
    expect(names.credentials().node).toBe('px-lab-02');
    expect(derivations.count).toBe(2);
    names.credentials();
    expect(derivations.count).toBe(2);
  });

  it('the same size and content written again (a new mtime) is read again', () => {
    const names = new VmNameResolver({ inventoryDir: dir, vaultFile: null }, pwFile);
    names.credentials();
    const file = path.join(dir, 'hosts.yml');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    names.credentials();
    expect(derivations.count).toBe(2);
  });

  it('an edited vault file or vault password file applies at once', () => {
    const vaultFile = path.join(dir, 'vault.yml');
    fs.writeFileSync(vaultFile, 'proxmox_api_token_id: from-vault\n');
    const names = new VmNameResolver({ inventoryDir: dir, vaultFile }, pwFile);
    expect(names.credentials().tokenId).toBe('from-vault');
    fs.writeFileSync(vaultFile, 'proxmox_api_token_id: edited-vault\n');
    expect(names.credentials().tokenId).toBe('edited-vault');
    fs.writeFileSync(pwFile, 'another password');
    expect(() => names.credentials()).toThrow(/cannot decrypt proxmox_api_token_secret/);
    fs.writeFileSync(pwFile, password);
    expect(names.credentials().tokenSecret).toBe('vaulted-secret');
  });

  it('a failure is not cached: the file fixed, the next lookup succeeds', () => {
    const file = path.join(dir, 'hosts.yml');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, 'all: [unclosed');
    const names = new VmNameResolver({ inventoryDir: dir, vaultFile: null }, pwFile);
    expect(() => names.credentials()).toThrow(/cannot read/);
    fs.writeFileSync(file, good);
    expect(names.credentials().tokenSecret).toBe('vaulted-secret');
  });
});
