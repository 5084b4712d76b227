import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from '../helpers.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/**
 * Slow clients against the service as its own process (issue 15, item 4): a client that never
 * finishes its request headers is answered 408 and closed after HTTP_HEADERS_TIMEOUT, and one
 * connected when SIGTERM comes does not keep the process alive: it exits within its bound
 * (SHUTDOWN_GRACE + RUNNER_CANCEL_GRACE + 5 s) and the VAULT_PASSWORD temp file is gone.
 */

const running: ServiceProcess[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

/** Sends a request's headers one line every 200 ms and never the blank line that ends them. */
function slowHeaders(base: string) {
  const url = new URL(base);
  const sock = net.connect(Number(url.port), url.hostname);
  let answer = '';
  let closedAt = 0;
  sock.on('data', (c) => (answer += c.toString()));
  sock.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => sock.on('close', () => ((closedAt = Date.now()), resolve())));
  sock.write(`GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\n`);
  let n = 0;
  const drip = setInterval(() => sock.writable && sock.write(`X-Slow-${n++}: x\r\n`), 200);
  void closed.then(() => clearInterval(drip));
  return { answer: () => answer, closed, closedAt: () => closedAt, stop: () => (clearInterval(drip), sock.destroy()) };
}

const baseEnv = () => ({ PROJECT_ROOT_DIR: FIXTURES, JOBS_STORE: 'memory', LOG_LEVEL: 'warn' });

describe('slow clients', () => {
  it('a client that never ends its headers gets 408 and is closed after HTTP_HEADERS_TIMEOUT', async () => {
    const s = await startServiceProcess({ ...baseEnv(), HTTP_HEADERS_TIMEOUT: '1', HTTP_REQUEST_TIMEOUT: '2' });
    running.push(s);
    const t0 = Date.now();
    const c = slowHeaders(s.base);
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 6000))]);
    c.stop();
    expect(c.closedAt()).toBeGreaterThan(0);
    const held = c.closedAt() - t0;
    expect(held).toBeGreaterThanOrEqual(900);
    expect(held).toBeLessThan(3000);
    expect(c.answer()).toMatch(/^HTTP\/1\.1 408/);
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200); // the others are served
  });

  it('SIGTERM with a slow client connected: the process exits within its bound and removes the vault password file', async () => {
    const tmp = tempDir('r42-slow-tmp-');
    // The default header timeout (30 s) is longer than the bound: only the shutdown can end the client.
    const s = await startServiceProcess({ ...baseEnv(), TMPDIR: tmp, VAULT_PASSWORD: 'slow-client-vault-password', SHUTDOWN_GRACE: '2', RUNNER_CANCEL_GRACE: '1' });
    running.push(s);
    const vaultDirs = () => fs.readdirSync(tmp).filter((d) => d.startsWith('r42-vault-'));
    expect(vaultDirs()).toHaveLength(1);
    expect(fs.existsSync(path.join(tmp, vaultDirs()[0]!, 'vault_pass.txt'))).toBe(true);
    const clients = [slowHeaders(s.base), slowHeaders(s.base), slowHeaders(s.base)];
    await new Promise((r) => setTimeout(r, 500));

    const t0 = Date.now();
    process.kill(s.pid, 'SIGTERM');
    const code = await Promise.race([s.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 12_000))]);
    const tookMs = Date.now() - t0;
    for (const c of clients) c.stop();
    if (code === 'still running') process.kill(s.pid, 'SIGKILL');
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(2000 + 1000 + 5000); // the bound; in practice about 1 s
    expect(vaultDirs()).toEqual([]);
  }, 30_000);
});
