import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProxmoxApiError, ProxmoxClient, READ_RETRY, type ReadRetry } from '../../src/proxmox/client.js';
import { VmNameResolver } from '../../src/proxmox/vm-names.js';
import { DomainError } from '../../src/errors.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { simulatorInventory } from '../helpers.js';

/** The service's own Proxmox reads ride out one passing failure (undici's RetryAgent), never a write. */

let sim: Simulator;
const clients: ProxmoxClient[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await sim.close();
});
beforeEach(() => {
  sim.setFaults({});
  sim.requestLog.length = 0;
});

function client(retry: ReadRetry = {}): ProxmoxClient {
  const c = new ProxmoxClient({
    apiHost: sim.apiHost, node: 'px-testing', user: sim.token.user, tokenId: sim.token.tokenId, tokenSecret: sim.token.secret, validateCerts: false,
  }, 10_000, retry);
  clients.push(c);
  return c;
}

const attempts = () => sim.requestLog.filter((r) => r.method === 'GET').length;

describe('retries of the Proxmox reads', () => {
  it('only GETs are retried, at most twice, with a short backoff', () => {
    expect(READ_RETRY.methods).toEqual(['GET']);
    expect(READ_RETRY.maxRetries).toBe(2);
    expect(READ_RETRY.statusCodes).toEqual(expect.arrayContaining([500, 503, 595]));
    expect(READ_RETRY.errorCodes).toEqual(expect.arrayContaining(['ECONNRESET', 'UND_ERR_SOCKET']));
  });

  it('a 500 on the first attempt only: the read succeeds on the second (and fails without retries)', async () => {
    sim.setFaults({ errorNext: 1 });
    const started = Date.now();
    const vms = await client().listQemu('px-testing');
    expect(vms.length).toBeGreaterThan(0);
    expect(attempts()).toBe(2);
    expect(Date.now() - started).toBeLessThan(2000);

    sim.setFaults({ errorNext: 1 });
    const err = await client({ maxRetries: 0 }).listQemu('px-testing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxmoxApiError);
    expect((err as ProxmoxApiError).status).toBe(500);
  });

  it('a reset connection on the first attempt only: the read succeeds', async () => {
    sim.setFaults({ resetNext: 1 });
    expect((await client().listLxc('px-testing')).length).toBeGreaterThanOrEqual(0);
    sim.setFaults({ resetNext: 1 });
    const err = await client({ maxRetries: 0 }).listLxc('px-testing').catch((e: unknown) => e);
    expect((err as ProxmoxApiError).status).toBeNull();
    expect((err as Error).message).toMatch(/unreachable/);
  });

  it('a lasting failure is reported with its status after three attempts', async () => {
    sim.setFaults({ errorNext: 3 });
    const err = await client().listQemu('px-testing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxmoxApiError);
    expect((err as ProxmoxApiError).status).toBe(500);
    expect((err as Error).message).toBe('Proxmox API answered 500 for GET /nodes/px-testing/qemu');
    expect(attempts()).toBe(3);
  });

  it('an answer that is not a passing failure (401) is not retried', async () => {
    const c = new ProxmoxClient({ apiHost: sim.apiHost, node: 'px-testing', user: sim.token.user, tokenId: sim.token.tokenId, tokenSecret: 'wrong', validateCerts: false });
    clients.push(c);
    const err = await c.listQemu('px-testing').catch((e: unknown) => e);
    expect((err as ProxmoxApiError).status).toBe(401);
    expect(attempts()).toBe(1);
  });

  it('a VM-name lookup no longer answers 502 for one failed attempt', async () => {
    const names = new VmNameResolver({ inventoryDir: simulatorInventory(sim), vaultFile: null }, null);
    try {
      sim.setFaults({ errorNext: 1 });
      expect(await names.resolve('px-testing', '1000')).toBeTruthy();
      sim.setFaults({ errorNext: 3 });
      const err = await names.resolve('px-testing', '1000').catch((e: unknown) => e);
      // the domain says what failed; src/http/errors.ts maps PROXMOX_UNAVAILABLE to 502
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe('PROXMOX_UNAVAILABLE');
    } finally {
      await names.close();
    }
  });
});
