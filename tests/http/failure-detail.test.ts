import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { apiCaller, simulatorInventory, testConfig, waitFor, type ApiCall } from '../helpers.js';

/**
 * Issue 25.3: the deployer UI shows only a non-2xx answer's `detail`. Every failure class, through
 * the listening service, real Ansible runs of the repository's role against the simulator: the
 * answer keeps its fields (`rc`, `result`, `log_multiline`, `error`) and has a `detail` naming the
 * cause; Proxmox's "already exists" and lock refusals are 409s.
 */

const P = '/v0/admin/proxmox';
let sim: Simulator;
let app: FastifyInstance;
let api: ApiCall;
/** A second service on the same simulator whose runs time out after 1 s (RUNNER_TIMEOUT). */
let hasty: FastifyInstance;
let hastyApi: ApiCall;

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  const inventory = simulatorInventory(sim, 'px-testing');
  app = await createApp(testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: inventory, JOBS_LOCK_WAIT: '0.2' }), { logger: false });
  api = apiCaller(await app.listen({ host: '127.0.0.1', port: 0 }));
  hasty = await createApp(testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: inventory, RUNNER_TIMEOUT: '1' }), { logger: false });
  hastyApi = apiCaller(await hasty.listen({ host: '127.0.0.1', port: 0 }));
});
afterAll(async () => {
  await app?.close();
  await hasty?.close();
  await sim?.close();
});
afterEach(() => {
  sim.setFaults({});
  sim.setTaskDuration(0);
  sim.reset();
});

/** A failure answer keeps the run's envelope and adds a `detail` string. */
function expectRunFailure(a: { status: number; body: any }, status: number) {
  expect(a.status, JSON.stringify(a.body).slice(0, 2000)).toBe(status);
  expect(a.body.rc).not.toBe(0);
  expect(Array.isArray(a.body.result)).toBe(true);
  expect(Array.isArray(a.body.log_multiline)).toBe(true);
  expect(typeof a.body.error).toBe('string');
  expect(typeof a.body.detail).toBe('string');
  return a.body.detail as string;
}

describe('detail on every failure answer (issue 25.3)', () => {
  it('a clone to a taken id: 409, the detail names the VM and the node, with Proxmox\'s words', async () => {
    const a = await api('POST', `${P}/vms/vm_id/clone`, { proxmox_node: 'px-testing', vm_id: '9221', vm_new_id: '4001', vm_name: 'copy', full_clone: true });
    const detail = expectRunFailure(a, 409);
    expect(detail).toMatch(/^VM 4001 already exists on node px-testing/);
    expect(detail).toContain('unable to create VM 4001: config file already exists');
    // the job records the same status
    const job = (await api('GET', `/v0/jobs/${a.headers.get('x-job-id')}`)).body;
    expect(job.http_status).toBe(409);
  });

  it('a Proxmox 4xx: the task, the node and Proxmox\'s parameter message', async () => {
    const a = await api('DELETE', `${P}/network/node/delete`, { proxmox_node: 'px-testing', iface_name: 'vmbr199' });
    const detail = expectRunFailure(a, 500);
    expect(detail).toBe('Delete node interface vmbr199 failed on node px-testing: Proxmox refused the request (HTTP 400): Parameter verification failed: iface: interface does not exist');
  });

  it('a bridge that exists with other settings: 409 from the plan, the detail names the difference; nothing runs', async () => {
    const started = app.engine.stats.started;
    const a = await api('POST', `${P}/network/node/add`, { proxmox_node: 'px-testing', iface_name: 'vmbr0', iface_type: 'bridge', iface_autostart: 1, ip_address: '192.168.150.1', ip_netmask: '255.255.255.0' });
    expect(a.status, a.text).toBe(409);
    expect(a.body.detail).toMatch(/^:: err - network interface vmbr0 already exists on node px-testing with other settings: /);
    expect(app.engine.stats.started).toBe(started);
  });

  it('a Proxmox 5xx in a run: Proxmox\'s message and status', async () => {
    sim.setFaults({ errorNext: 1000 });
    const a = await api('POST', `${P}/vms/list`, { proxmox_node: 'px-testing' });
    const detail = expectRunFailure(a, 500);
    expect(detail).toMatch(/ failed on node px-testing: Proxmox failed \(HTTP 500\): simulated failure \(fault injection\)$/);
  });

  it('a Proxmox 5xx when the service reads Proxmox itself (what guest an id is): 502 naming it; nothing runs', async () => {
    const started = app.engine.stats.started;
    sim.setFaults({ errorNext: 1000 });
    const a = await api('POST', `${P}/vms/vm_id/start`, { proxmox_node: 'px-testing', vm_id: '4002' });
    expect(a.status, a.text).toBe(502);
    expect(a.body.detail).toMatch(/Proxmox API answered 500 for GET \/cluster\/resources/);
    expect(app.engine.stats.started).toBe(started);
  });

  it('an id that is neither a VM nor a container: 404 naming it', async () => {
    const a = await api('POST', `${P}/vms/vm_id/start`, { proxmox_node: 'px-testing', vm_id: '7777' });
    expect(a.status, a.text).toBe(404);
    expect(a.body.detail).toBe(':: err - vm_id NOT FOUND : 7777 is neither a VM nor a container on node px-testing');
  });

  it('a failed Proxmox task: the task\'s exit status', async () => {
    // the mass routes run on the ids they are given without reading Proxmox first: qemu-server forks
    // the start task, which fails on the missing configuration
    const a = await api('POST', `${P}/vms/vm_ids/start`, { proxmox_node: 'px-testing', vm_ids: ['7777'] });
    const detail = expectRunFailure(a, 500);
    expect(detail).toMatch(/VM 7777 failed on node px-testing: the Proxmox task failed: Configuration file 'nodes\/px-testing\/qemu-server\/7777.conf' does not exist$/);
  });

  it('lock conflicts, Proxmox\'s and the service\'s: 409, the detail names the VM and the node', async () => {
    // a guest Proxmox has locked (a backup running): the run fails, Proxmox's words are kept
    sim.cluster.guest(4002)!.config.lock = 'backup';
    const a = await api('POST', `${P}/vms/vm_id/start`, { proxmox_node: 'px-testing', vm_id: '4002' });
    const detail = expectRunFailure(a, 409);
    expect(detail).toMatch(/^VM 4002 on node px-testing is locked \(backup\)/);
    expect(detail).toContain('Start VM 4002 was refused');
    expect(detail).toContain('(Proxmox: VM is locked (backup))');
    // a VM another job of this service holds: nothing runs, the answer is as before
    sim.setTaskDuration(3000);
    const first = api('POST', `${P}/vms/vm_id/start`, { proxmox_node: 'px-testing', vm_id: '4004' });
    await waitFor(() => app.jobs.activeCount > 0, 20_000);
    const b = await api('POST', `${P}/vms/vm_id/stop`, { proxmox_node: 'px-testing', vm_id: '4004' });
    expect(b.status).toBe(409);
    expect(b.body.detail).toMatch(/^:: err - VM LOCKED : px-testing\/4004 is being changed by job [0-9a-f-]{36}$/);
    expect(b.body.job_id).toBeTruthy();
    expect((await first).status).toBe(200);
  });

  it('a run that times out: the task it was in and the limit', async () => {
    sim.setTaskDuration(20_000);
    const a = await hastyApi('POST', `${P}/vms/vm_id/start`, { proxmox_node: 'px-testing', vm_id: '4004' });
    const detail = expectRunFailure(a, 500);
    expect(a.body.rc).toBe(254);
    expect(detail).toMatch(/^Timed out( during "[^"]+" on px-testing)?: the run was stopped after 1 s: it timed out \(RUNNER_TIMEOUT\)/);
  });

  it('a canceled run: what it was doing when canceled', async () => {
    sim.setTaskDuration(20_000);
    const pending = api('POST', `${P}/vms/vm_id/start`, { proxmox_node: 'px-testing', vm_id: '4004' });
    let id = '';
    await waitFor(() => {
      void api('GET', '/v0/jobs?status=running&operation=vm_start').then((r) => (id = r.body.jobs?.[0]?.id ?? ''));
      return id !== '';
    }, 20_000, 200);
    // in the Proxmox call (the task runs 20 s)
    await waitFor(() => sim.requestLog.some((r) => r.path.includes('/qemu/4004/status/start')), 20_000);
    expect((await api('POST', `/v0/jobs/${id}/cancel`)).status).toBe(200);
    const a = await pending;
    const detail = expectRunFailure(a, 500);
    expect(detail).toBe('Canceled during "Start VM 4004" on px-testing: the run was canceled');
  });

  it('the log form of a failure ({rc, log_multiline}) has its detail too', async () => {
    sim.setFaults({ errorNext: 1000 });
    const a = await api('POST', `${P}/vms/list`, { proxmox_node: 'px-testing', as_json: false });
    expect(a.status).toBe(500);
    expect(Object.keys(a.body).sort()).toEqual(['detail', 'log_multiline', 'rc']);
    expect(a.body.detail).toContain('failed on node px-testing');
  });
});
