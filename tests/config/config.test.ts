import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CORS_ORIGIN_REGEX, loadConfig } from '../../src/config/env.js';
import { ConfigError } from '../../src/config/errors.js';
import { FIXTURES, tempDir } from '../helpers.js';

const base = { PROJECT_ROOT_DIR: FIXTURES };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a configuration error');
}

describe('configuration from the environment', () => {
  it('has defaults for everything, rooted in PROJECT_ROOT_DIR', () => {
    const c = loadConfig(base);
    expect(c.host).toBe('0.0.0.0');
    expect(c.port).toBe(8000);
    expect(c.debug).toBe(false);
    expect(c.localPlaybooksDir).toBe(path.join(FIXTURES, 'playbooks'));
    expect(c.publicPlaybooksDir).toBe(path.join(FIXTURES, 'catalog'));
    expect(c.inventoryDir).toBe(path.join(FIXTURES, 'inventory'));
    expect(c.corsOriginRegex.source).toBe(new RegExp(DEFAULT_CORS_ORIGIN_REGEX).source);
    expect(c.runner.bin).toBe('/usr/bin/ansible-runner');
    expect(c.vaultFile).toBeNull();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads DEBUG the way the original does', () => {
    for (const v of ['1', 'true', 'YES', ' True ']) expect(loadConfig({ ...base, DEBUG: v }).debug).toBe(true);
    for (const v of ['0', 'false', 'on', '']) expect(loadConfig({ ...base, DEBUG: v }).debug).toBe(false);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT', /not a whole number/],
    [{ PORT: '70000' }, 'PORT', /between 0 and 65535/],
    [{ PROJECT_ROOT_DIR: '/nonexistent/r42' }, 'PROJECT_ROOT_DIR', /does not exist/],
    [{ API_BACKEND_PUBLIC_PLAYBOOKS_DIR: '/nonexistent/pub' }, 'API_BACKEND_PUBLIC_PLAYBOOKS_DIR', /does not exist/],
    [{ API_BACKEND_INVENTORY_DIR: '/nonexistent/inv' }, 'API_BACKEND_INVENTORY_DIR', /does not exist/],
    [{ API_BACKEND_VAULT_FILE: '/nonexistent/vault.yml' }, 'API_BACKEND_VAULT_FILE', /not found or not readable/],
    [{ VAULT_PASSWORD_FILE: '/nonexistent/pw' }, 'VAULT_PASSWORD_FILE', /not found or not readable/],
    [{ CORS_ORIGIN_REGEX: '(' }, 'CORS_ORIGIN_REGEX', /invalid regular expression/],
    [{ RUNNER_TIMEOUT: '-3' }, 'RUNNER_TIMEOUT', /seconds/],
    [{ ANSIBLE_RUNNER_BIN: 'ansible-runner' }, 'ANSIBLE_RUNNER_BIN', /absolute/],
  ])('refuses %j naming the variable', (env, variable, reason) => {
    const err = configError(env as Record<string, string>);
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(reason);
    expect(err.message).not.toContain('\n');
  });

  it('a file where a directory is expected is refused', () => {
    const dir = tempDir();
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, '');
    expect(configError({ API_BACKEND_INVENTORY_DIR: file }).message).toMatch(/not a directory/);
  });

  it('STATUS_SHARING: redis when REDIS_URL is set (auto), local otherwise; redis without a URL, or a URL of another scheme, refused', () => {
    expect(loadConfig(base).status.sharing).toBe('local');
    expect(loadConfig(base).redisUrl).toBeNull();
    const url = 'redis://:s3cret@127.0.0.1:6390/2';
    expect(loadConfig({ ...base, REDIS_URL: url })).toMatchObject({ redisUrl: url, status: { sharing: 'redis' } });
    expect(loadConfig({ ...base, REDIS_URL: url, STATUS_SHARING: 'local' }).status.sharing).toBe('local');
    expect(loadConfig({ ...base, REDIS_URL: 'rediss://cache:6380', STATUS_SHARING: 'REDIS' }).status.sharing).toBe('redis');
    expect(configError({ STATUS_SHARING: 'redis' }).message).toContain('STATUS_SHARING');
    const wrong = configError({ REDIS_URL: 'http://:s3cret@cache:6379' });
    expect(wrong.message).toContain('REDIS_URL');
    expect(wrong.message).not.toContain('s3cret');
    expect(configError({ STATUS_SHARING: 'memcached' }).message).toContain('STATUS_SHARING');
  });

  it('VAULT_PASSWORD_FILE wins over VAULT_PASSWORD', () => {
    const pw = path.join(tempDir(), 'pw');
    fs.writeFileSync(pw, 'x');
    const c = loadConfig({ ...base, VAULT_PASSWORD_FILE: pw, VAULT_PASSWORD: 'inline' });
    expect(c.vaultPasswordFile).toBe(pw);
    expect(c.vaultPassword).toBeNull();
    expect(loadConfig({ ...base, VAULT_PASSWORD: 'inline' }).vaultPassword).toBe('inline');
  });
});
