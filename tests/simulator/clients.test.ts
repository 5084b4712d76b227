import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { call, data } from './client.js';

/**
 * Real third-party Proxmox clients against the simulator: Debian's python3-proxmoxer and the
 * community.general Proxmox modules of Debian's ansible package. Each checks the state afterwards.
 */

const run = promisify(execFile);
const here = path.dirname(new URL(import.meta.url).pathname);
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
});
afterAll(async () => sim.close());

describe('python3-proxmoxer 1.2.0', () => {
  it('logs in with a token and with a ticket, creates, clones, powers, snapshots and reads tasks', async () => {
    sim.reset();
    const { stdout } = await run('/usr/bin/python3', [path.join(here, 'clients', 'proxmoxer_flow.py')], {
      env: {
        PATH: '/usr/bin:/bin', SIM_HOST: '127.0.0.1', SIM_PORT: String(sim.port), SIM_USER: sim.token.user,
        SIM_TOKEN_NAME: sim.token.tokenId, SIM_TOKEN_VALUE: sim.token.secret, SIM_ROOT_PASSWORD: 'range42-sim',
      },
      timeout: 60_000,
    });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      version: '8.4.1',
      nodes: ['px-lab-02', 'px-testing'],
      create: 'OK', clone: 'OK', clone_upid_type: 'qmclone', start: 'OK', status_running: 'running',
      snapshot: 'OK', snapshots: ['first', 'current'], stop: 'OK',
      last_log_line: 'TASK OK',
      ticket_nodes: 2, ticket_start: 'OK', ticket_task_user: 'root@pam', after_renewal: 2,
      bad_password: 'AuthenticationError',
    });
    expect(out.config_net0).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$/);
    expect(out.task_types).toEqual(expect.arrayContaining(['qmclone', 'qmcreate', 'qmsnapshot', 'qmstart', 'qmstop']));
    expect(out.missing).toBe("500 Internal Server Error: Configuration file 'nodes/px-testing/qemu-server/999.conf' does not exist");
    // proxmoxer 1.2.0 reads `errors` from `data` (null), so only the status line reaches the user
    expect(out.bad_bool).toBe('400 Bad Request: Parameter verification failed.');
    expect(sim.requestLog.find((r) => r.status === 400)?.params).toMatchObject({ full: 'True', newid: '852' });
    // the ticket was renewed by posting it back as the password
    const logins = sim.requestLog.filter((r) => r.path === '/access/ticket' && r.status === 200);
    expect(logins.length).toBeGreaterThanOrEqual(2);

    const vm = await data<Record<string, unknown>>(call(sim, 'GET', '/nodes/px-testing/qemu/851/status/current'));
    expect(vm).toMatchObject({ status: 'running', name: 'pxr-clone' });
    expect(sim.cluster.guest(850)?.config.name).toBe('pxr-created');
  });
});

describe('community.general 6.6.2 modules', () => {
  it('clone, start, snapshot, NIC, tasks, stop, create and remove, idempotent where they should be', async () => {
    sim.reset();
    const { stdout } = await run('/usr/bin/ansible-playbook', [
      path.join(here, 'clients', 'community_general.yml'),
      '-e', `sim_host=127.0.0.1:${sim.port} sim_user=${sim.token.user} sim_token_id=${sim.token.tokenId} sim_token_secret=${sim.token.secret}`,
    ], {
      env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' },
      timeout: 180_000,
      maxBuffer: 32 * 1024 * 1024,
    }).catch((err: { stdout?: string }) => {
      throw new Error(`ansible-playbook failed: ${summarize(err.stdout ?? '')}`);
    });
    const report = JSON.parse(stdout) as { plays: { tasks: { task: { name: string }; hosts: Record<string, { msg?: unknown }> }[] }[] };
    const last = report.plays[0]!.tasks.at(-1)!;
    const msg = last.hosts.localhost!.msg as Record<string, unknown>;
    expect(msg).toMatchObject({
      clone: true, start: true, start_again: false, snap: true, snap_again: false,
      nic: true, nic_again: false, stop: true, current: 'stopped', create: true, remove: true,
      storages: ['local', 'local-lvm'],
    });
    expect(msg.task_types).toEqual(['qmclone', 'qmsnapshot', 'qmstart']);

    const vm = sim.cluster.guest(860)!;
    expect(vm.status).toBe('stopped');
    expect(vm.snapshots.map((s) => s.name)).toEqual(['cg-snap']);
    expect(String(vm.config.net1)).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr142,firewall=1,tag=42$/);
    expect(sim.cluster.guest(861)).toBeUndefined();
    const created = sim.requestLog.find((r) => r.method === 'POST' && r.path === '/nodes/px-testing/qemu');
    expect(created?.params).toMatchObject({ vmid: 861, tags: 'web,lab' });
  });
});

function summarize(stdout: string): string {
  try {
    const report = JSON.parse(stdout) as { plays: { tasks: { task: { name: string }; hosts: Record<string, { failed?: boolean; msg?: string }> }[] }[] };
    const failed = report.plays.flatMap((p) => p.tasks).find((t) => Object.values(t.hosts).some((h) => h.failed));
    return failed ? `${failed.task.name}: ${JSON.stringify(failed.hosts)}` : stdout.slice(0, 2000);
  } catch {
    return stdout.slice(0, 2000);
  }
}
