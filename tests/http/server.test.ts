import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { FIXTURES, freePort, tempDir, waitFor } from '../helpers.js';

function startServer(env: Record<string, string>) {
  // tsx by absolute path: the server runs from a scratch directory without node_modules.
  const tsx = path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs');
  const child = spawn(process.execPath, ['--import', tsx, path.join(REPO_ROOT, 'src/server.ts')], {
    cwd: tempDir(), // no .env there
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PROJECT_ROOT_DIR: FIXTURES, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('the server process', () => {
  it('refuses a bad variable with one clear line and no stack trace', async () => {
    const s = startServer({ PORT: 'abc' });
    expect(await s.exited).toBe(78);
    expect(s.err().trim()).toBe('configuration error: PORT: not a whole number: "abc"');
  });

  it('starts, serves, and on SIGTERM removes the vault password file it wrote, which never reaches the logs', async () => {
    const tmp = tempDir();
    const port = await freePort();
    const secret = 'inline-vault-password-' + Date.now();
    const s = startServer({ PORT: String(port), HOST: '127.0.0.1', VAULT_PASSWORD: secret, TMPDIR: tmp });
    await waitFor(() => s.out().includes('Server listening'), 20_000);
    const vaultDirs = fs.readdirSync(tmp).filter((d) => d.startsWith('r42-vault-'));
    expect(vaultDirs).toHaveLength(1);
    const pwFile = path.join(tmp, vaultDirs[0]!, 'vault_pass.txt');
    expect(fs.readFileSync(pwFile, 'utf8')).toBe(secret);
    expect(fs.statSync(pwFile).mode & 0o777).toBe(0o600);

    const r = await fetch(`http://127.0.0.1:${port}/v0/admin/debug/ping`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ proxmox_node: 'px-testing', hosts: 'testhost' }),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-request-id')).toBeTruthy();
    const body = await r.text();
    expect(body).not.toContain(secret);

    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(fs.readdirSync(tmp).filter((d) => d.startsWith('r42-'))).toEqual([]); // (tsx keeps a cache there)
    const logs = s.out() + s.err();
    expect(logs).not.toContain(secret);
    // Every request log line carries the request id.
    const requestLines = logs.split('\n').filter((l) => l.includes('"req"') || l.includes('"res"'));
    expect(requestLines.length).toBeGreaterThan(0);
    for (const l of requestLines) expect(JSON.parse(l).reqId).toBeTruthy();
  });
});

describe('the embedded Proxmox simulator', () => {
  async function inventoryFor(apiPort: number, secret: string): Promise<string> {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'hosts.yml'), [
      'all:', '  children:', '    range42_infrastructure:', '      children:', '        proxmox:', '          hosts:', '            px-testing:',
      '              ansible_connection: local', `              proxmox_api_host: "127.0.0.1:${apiPort}"`, '              proxmox_node: px-testing',
      '              proxmox_api_user: range42_api@pam', '              proxmox_api_token_id: r42', `              proxmox_api_token_secret: ${secret}`, '',
    ].join('\n'));
    return dir;
  }
  const SEED_SECRET = '5e1c0b2a-9d3f-4c6e-8a7b-1f2e3d4c5b6a';
  const nodesAt = async (port: number) => {
    const https = await import('node:https');
    return new Promise<number>((resolve) => {
      https.get(`https://127.0.0.1:${port}/api2/json/nodes`, { rejectUnauthorized: false, headers: { Authorization: `PVEAPIToken=range42_api@pam!r42=${SEED_SECRET}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(-1));
    });
  };

  it('starts when the inventory points at a local address with the simulator token, and stops with the service', async () => {
    const [port, apiPort] = [await freePort(), await freePort()];
    const s = startServer({ PORT: String(port), HOST: '127.0.0.1', API_BACKEND_INVENTORY_DIR: await inventoryFor(apiPort, SEED_SECRET) });
    await waitFor(() => s.out().includes('Server listening'), 20_000);
    expect(s.out()).toContain('embedded Proxmox VE simulator started');
    expect(await nodesAt(apiPort)).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(await nodesAt(apiPort)).toBe(-1);
  });

  it('stays off for another token (a real Proxmox) and when PROXMOX_SIMULATOR=off', async () => {
    for (const [secret, mode] of [['00000000-1111-2222-3333-444444444444', 'auto'], [SEED_SECRET, 'off']] as const) {
      const [port, apiPort] = [await freePort(), await freePort()];
      const s = startServer({ PORT: String(port), HOST: '127.0.0.1', PROXMOX_SIMULATOR: mode, API_BACKEND_INVENTORY_DIR: await inventoryFor(apiPort, secret) });
      await waitFor(() => s.out().includes('Server listening'), 20_000);
      expect(await nodesAt(apiPort)).toBe(-1);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    }
  });
});
