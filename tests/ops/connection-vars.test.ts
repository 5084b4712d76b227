import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isServiceVar } from '../../src/routes/service-vars.js';
import { routeTable } from '../../src/routes/table.js';
import type { RouteContext } from '../../src/routes/types.js';
import type { RunSpec } from '../../src/engine/types.js';
import { waitFor } from '../helpers.js';
import { startJobsStack, type JobsStack } from '../jobs/stack.js';

/**
 * Attacks that once worked (issue 15, items 1 and 2), through the listening service:
 * a request value never becomes a connection or credential variable of a run (the Proxmox token
 * went to any host a caller named), and a VM id is one number for the lock and for Ansible (a
 * padded or spaced id slipped past the lock of a running job).
 */

let s: JobsStack;
beforeAll(async () => {
  s = await startJobsStack({ JOBS_LOCK_WAIT: '1' });
});
afterAll(() => s.close());

/** A listener standing for a host the caller controls: it records what reaches it. */
async function trap() {
  const seen: Array<{ url?: string; authorization?: string }> = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization });
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { seen, hostPort: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('no request value reaches a connection or credential variable', () => {
  it('proxmox_api_host naming another host is a 422 and nothing is sent there; the configured host works', async () => {
    const t = await trap();
    try {
      const started = s.app.engine.stats.started;
      for (const url of ['/v0/admin/proxmox/firewall/datacenter/enable', '/v0/admin/proxmox/firewall/datacenter/disable']) {
        const r = await s.call('POST', url, { proxmox_node: 'px-testing', proxmox_api_host: t.hostPort });
        expect(r.status, r.text).toBe(422);
        expect(r.body.detail).toEqual([expect.objectContaining({ field: 'body.proxmox_api_host', type: 'value_error', input: t.hostPort })]);
      }
      expect(s.app.engine.stats.started).toBe(started);
      const ok = await s.call('POST', '/v0/admin/proxmox/firewall/datacenter/enable', { proxmox_api_host: s.sim.apiHost });
      expect(ok.status, ok.text).toBe(200);
      expect(t.seen).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('the generic runners refuse ansible_*, proxmox_api_* and hosts in extra_vars, and a limit outside the inventory', async () => {
    const started = s.app.engine.stats.started;
    const url = '/v0/admin/run/bundles/ping/run';
    for (const key of ['ansible_host', 'ansible_connection', 'ANSIBLE_BECOME_PASS', 'proxmox_api_host', 'proxmox_api_token_secret', 'proxmox_validate_certs', 'hosts']) {
      const r = await s.call('POST', url, { proxmox_node: 'px-testing', hosts: 'px-testing', extra_vars: { [key]: 'x' } });
      expect(r.status, `${key}: ${r.text}`).toBe(422);
      expect(r.body.detail[0]).toMatchObject({ field: `body.extra_vars.${key}`, type: 'value_error' });
    }
    const local = await s.call('POST', url, { proxmox_node: 'px-testing', hosts: 'localhost' });
    expect([local.status, local.body.detail[0].field]).toEqual([422, 'body.hosts']);
    expect(s.app.engine.stats.started).toBe(started);
  });

  it('every operation: whatever keys a body adds, the extra vars of its runs hold no connection variable but the checked ones', async () => {
    // Injected into every body: connection and credential variables, and a local `hosts` where allowed by the pattern.
    const injected = {
      ansible_host: 'evil.example', ansible_connection: 'evil-connection', ansible_user: 'evil-user', ansible_password: 'evil-password',
      proxmox_api_user: 'evil@pam', proxmox_api_token_id: 'evil-id', proxmox_api_token_secret: 'evil-secret', proxmox_validate_certs: true,
    };
    // The plans' Proxmox lookups are not what is checked here: a double answers them (each id a VM, then each a container).
    const checked: string[] = [];
    for (const kind of ['qemu', 'lxc'] as const) {
    const ctx: RouteContext = {
      config: s.app.config, resolveVmName: async () => 'vm-name', proxmoxApiHosts: () => [s.sim.apiHost], configuredVarNames: () => null,
      proxmox: {
        guest: async (node, vmId) => ({ vmid: Number(vmId), kind, node: node ?? 'px-testing', name: 'vm-name' }),
        nodeInterfaces: async () => [],
        containerTemplates: async () => ['local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'],
        nodeOf: (node) => node ?? 'px-testing',
      },
    };
    for (const def of routeTable) {
      if (!def.body || def.respond) continue;
      if (kind === 'lxc' && def.operationId === 'vm_get_config_cdrom') continue; // refused for a container (no CD-ROM), nothing runs
      const example = ((def.body as { examples?: unknown[] }).examples?.[0] ?? {}) as Record<string, unknown>;
      const params: Record<string, string> = def.url.includes('/scenarios/') ? { scenario_name: 'mini_lab' } : def.url.includes('/run/bundles/') ? { bundles_name: 'ping' } : {};
      let runs: RunSpec[];
      try {
        const body = { ...example, ...injected, ...('hosts' in example ? { hosts: 'px-testing' } : {}), ...('proxmox_api_host' in example ? { proxmox_api_host: s.sim.apiHost } : {}) };
        const planned = await def.plan(body, ctx, params);
        runs = Array.isArray(planned) ? planned : [planned];
      } catch (err) {
        throw new Error(`${def.operationId}: ${(err as Error).message}`);
      }
      for (const run of runs) {
        for (const [key, value] of Object.entries(run.extravars ?? {})) {
          if (!isServiceVar(key)) continue;
          const allowed = (key === 'hosts' && (value === 'proxmox' || value === run.limit)) || (key === 'proxmox_api_host' && value === s.sim.apiHost);
          expect(allowed, `${def.operationId}: extra var ${key}=${JSON.stringify(value)}`).toBe(true);
        }
        expect(JSON.stringify(run.extravars ?? {}), def.operationId).not.toMatch(/evil/);
      }
      checked.push(def.operationId);
    }
    }
    expect(checked.length).toBeGreaterThan(180);
  });
});

describe('one canonical VM id: what the lock sees is what Ansible gets', () => {
  it('while a job holds VM 4001, padded, spaced and numeric spellings of 4001 are refused or wait for it; none runs beside it', async () => {
    s.sim.setTaskDuration(6000);
    const holder = await s.call('POST', '/v0/admin/proxmox/vms/vm_id/start', { proxmox_node: 'px-testing', vm_id: '4001' }, { prefer: 'respond-async' });
    expect(holder.status, holder.text).toBe(202);
    const id = holder.body.job_id as string;
    try {
      await waitFor(() => s.app.jobs.locks.holderOf({ node: 'px-testing', vmid: 4001 }) === id);
      const started = s.app.engine.stats.started;
      // spaces are not digits: refused before anything (as the pattern says), never `targets: []`
      for (const v of [' 4001', '4001 ']) {
        const r = await s.call('POST', '/v0/admin/proxmox/vms/vm_ids/stop_force', { proxmox_node: 'px-testing', vm_ids: [v] }, { prefer: 'respond-async' });
        expect(r.status, r.text).toBe(422);
        expect(r.body.detail[0]).toMatchObject({ field: 'body.vm_ids.0', type: 'string_pattern_mismatch' });
      }
      // leading zeros and numbers are the same VM: the lock is held, 409 with the holder
      const attempts: Array<[string, unknown]> = [
        ['/v0/admin/proxmox/vms/vm_ids/stop_force', { proxmox_node: 'px-testing', vm_ids: ['0000000000004001'] }],
        ['/v0/admin/proxmox/vms/vm_ids/stop_force', { proxmox_node: 'px-testing', vm_ids: [4001] }],
        ['/v0/admin/proxmox/vms/vm_id/stop_force', { proxmox_node: 'px-testing', vm_id: '0000000000004001' }],
        ['/v0/admin/proxmox/vms/vm_id/stop_force', { proxmox_node: 'px-testing', vm_id: 4001 }],
      ];
      for (const [url, body] of attempts) {
        const r = await s.call('POST', url, body, { prefer: 'respond-async, wait=0' });
        expect([r.status, r.body.job_id], `${url} ${JSON.stringify(body)}: ${r.text}`).toEqual([409, id]);
      }
      expect(s.app.engine.stats.started).toBe(started);
      // the holder's record names the canonical id
      const record = (await s.call('GET', `/v0/jobs/${id}`)).body;
      expect(record, JSON.stringify(record)).toMatchObject({ targets: [{ node: 'px-testing', vm_id: 4001 }], request: { body: { vm_id: 4001 } } });
    } finally {
      s.sim.setTaskDuration(0);
      await s.settle(id);
    }
  });
});
