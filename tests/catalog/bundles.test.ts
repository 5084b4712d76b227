import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { Engine, type RunResult, type RunSpec } from '../../src/engine/engine.js';
import { extractResult, logLines } from '../../src/engine/extract.js';
import { bundleRoutes } from '../../src/routes/bundles.js';
import type { Body, RouteContext, RouteDef } from '../../src/routes/types.js';
import { vmRoutes } from '../../src/routes/vms.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { Guest } from '../../src/simulator/model/types.js';
import { silentLog, simulatorInventory, testConfig } from '../helpers.js';

/**
 * The Proxmox bundles of catalog/bundles/core/proxmox/configure/default/vms, run for real
 * (ansible-runner through the Engine) against the Proxmox simulator, which starts from its seed:
 * the default admin (1000, 1020, 1021, 1023), student (3001) and vuln (4000-4004) VMs and the
 * templates 9211, 9221, 9232. Wherever an API route runs the bundle, the run is the route's own plan
 * (playbook, --limit, --tags, extra vars exactly as the HTTP API sends them); VM_IDS / VMS /
 * global_* extra vars narrow a few runs to one or two VMs, because every Proxmox call of the role
 * costs about a CPU second. The phases share the simulator and run in order; runs inside a phase
 * touch disjoint VMs and run two at a time. Each phase then checks the simulator's state.
 */

const NODE = 'px-testing';
const BUNDLES = path.join(REPO_ROOT, 'catalog', 'bundles', 'core', 'proxmox', 'configure', 'default', 'vms');
const ROLE_URL = '/v0/admin/run/bundles/core/proxmox/configure/default/';
const VMS_URL = '/v0/admin/proxmox/vms/vm_ids/';
const ADMIN = [1000, 1020, 1021, 1023];
const VULN = [4000, 4001, 4002, 4003, 4004];
const ADMIN_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAdmin+/Key alice@range42';
const TRAINEE_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITrainee+/Key bob@range42';
const SLOW = 300_000;

let sim: Simulator;
let engine: Engine;
let ctx: RouteContext;
let inventory: string;
const timings: string[] = [];
const ranPlaybooks = new Set<string>();

const route = (method: string, url: string): RouteDef => {
  const def = [...bundleRoutes, ...vmRoutes].find((r) => r.method === method && r.url === url);
  if (!def) throw new Error(`no route ${method} ${url}`);
  return def;
};

async function timed(label: string, spec: RunSpec): Promise<RunResult> {
  const t0 = Date.now();
  ranPlaybooks.add(spec.playbook);
  const r = await engine.run(spec);
  timings.push(`${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

/** What the API runs for this request: the route's plan, its runs in order, stopping at the first failure. */
async function api(method: string, url: string, body: Body): Promise<RunResult[]> {
  const specs = ([] as RunSpec[]).concat(await route(method, url).plan(body, ctx, {}));
  const results: RunResult[] = [];
  for (const spec of specs) {
    const r = await timed(`${method} ${url.replace(/^.*\//, '')} ${spec.tags ?? ''}`, spec);
    results.push(r);
    if (r.rc !== 0) break;
  }
  return results;
}

/** One bundle playbook with extra vars (and tags), as an operator would run it. */
function bundle(name: string, extravars: Body = {}, opts: { file?: string; tags?: string } = {}): Promise<RunResult> {
  const playbook = path.join(BUNDLES, name, opts.file ?? 'main.yml');
  return timed(`${name}/${opts.file ?? 'main.yml'} ${opts.tags ?? ''}`, { playbook, inventory, extravars, tags: opts.tags ?? null, label: name });
}

const log = (r: RunResult) => logLines(r.events).join('\n');
const expectOk = (...runs: RunResult[]) => {
  for (const r of runs) expect(r.rc, log(r).split('\n').slice(-30).join('\n')).toBe(0);
};
const expectFailed = (r: RunResult, message: RegExp) => {
  expect(r.rc).not.toBe(0);
  expect(log(r)).toMatch(message);
};
const published = (r: RunResult | RunResult[], key: string) =>
  ([] as RunResult[]).concat(r).flatMap((x) => extractResult(x.events, key)) as Array<Record<string, unknown>>;

const guest = (vmid: number): Guest | undefined => sim.cluster.guest(vmid);
const mustGuest = (vmid: number): Guest => {
  const g = guest(vmid);
  if (!g) throw new Error(`VM ${vmid} does not exist`);
  return g;
};
const power = (vmid: number) => {
  const g = mustGuest(vmid);
  return g.qmpstatus === 'paused' ? 'paused' : g.status;
};
const snapshotNames = (vmid: number) => mustGuest(vmid).snapshots.map((s) => s.name);
/** Requests logged since mark, e.g. POST .../status/suspend, as "METHOD <vmid> <tail>". */
const since = (mark: number, re: RegExp) =>
  sim.requestLog.slice(mark).filter((q) => q.method !== 'GET' && re.test(q.path))
    .map((q) => `${q.method} ${/\/qemu\/(\d+)/.exec(q.path)?.[1] ?? '-'} ${q.path.replace(/^.*\/qemu\/\d+\/?/, '')}`);
const decode = (v: unknown) => decodeURIComponent(String(v ?? ''));

beforeAll(async () => {
  sim = await startSimulator({ port: 0, taskDurationMs: 0, unauthorizedDelayMs: 0, requestLogSize: 50_000 });
  const invDir = simulatorInventory(sim, NODE, [
    // The vault's cloud-init keys, as the API's vault file would give them.
    '      vars:',
    `        default_admin_vm_ci_ssh_key: "${ADMIN_KEY}"`,
    `        default_trainee_vm_ci_ssh_key: "${TRAINEE_KEY}"`,
    '        default_trainee_vm_ci_password: "trainee-secret"',
  ]);
  inventory = path.join(invDir, 'hosts.yml');
  const config = testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: invDir, RUNNER_MAX_CONCURRENT: '2' });
  engine = new Engine({ config, vaultPasswordFile: null, log: silentLog });
  ctx = { config, resolveVmName: () => Promise.reject(new Error('not used by the bundles')) };
}, SLOW);

afterAll(async () => {
  await engine?.close();
  await sim?.close();
  if (process.env.BUNDLES_TIMING) console.log(timings.join('\n'));
});

// ---------------------------------------------------------------------------------------------

describe('snapshot/create-vms-*', () => {
  let admin: RunResult[];
  let student: RunResult[];
  let vuln: RunResult;
  beforeAll(async () => {
    [admin, student, vuln] = await Promise.all([
      api('POST', `${ROLE_URL}snapshot/create-vms-admin`, { proxmox_node: NODE }),
      api('POST', `${ROLE_URL}snapshot/create-vms-student`, { proxmox_node: NODE }),
      bundle('snapshot/create-vms-vuln', { VM_IDS: ['4002'], VM_SNAPSHOT_NAME: 'before-test', VM_SNAPSHOT_DESCRIPTION: 'test' }),
    ]);
  }, SLOW);

  it('admin and student: every VM of the default set gets the same default-snapshot-from-API-<ddmmyy-HHMM>', () => {
    expectOk(...admin, ...student, vuln);
    const names = [...ADMIN, 3001].map((id) => snapshotNames(id));
    for (const n of names) expect(n).toEqual([expect.stringMatching(/^default-snapshot-from-API-\d{6}-\d{4}$/)]);
    expect(new Set(names.slice(0, 4).flat()).size).toBe(1);
    expect(published(admin, 'snapshot_vm_create').map((s) => [s.vm_id, s.vm_name])).toEqual([
      [1000, 'admin-wazuh'], [1020, 'admin-deployer-api-gateway'], [1021, 'admin-deployer-api-backend'], [1023, 'admin-deployer-ui']]);
  });

  it('vuln with VM_IDS and VM_SNAPSHOT_NAME: only that VM, under that name', () => {
    expect(mustGuest(4002).snapshots).toMatchObject([{ name: 'before-test', description: 'test' }]);
    for (const id of [4000, 4001, 4003, 4004]) expect(snapshotNames(id)).toEqual([]);
    expect(published(vuln, 'snapshot_vm_create')).toMatchObject([{ vm_id: 4002, vm_name: 'vuln-box-02', vm_snapshot_name: 'before-test' }]);
  });
});

describe('snapshot/revert-vms-*', () => {
  let admin: RunResult[];
  let student: RunResult[];
  let vuln: RunResult;
  let mark: number;
  beforeAll(async () => {
    // Changes made after the snapshots, which the revert must undo.
    for (const id of [...ADMIN, 3001, 4002]) mustGuest(id).config.description = 'changed after the snapshot';
    sim.touch();
    mark = sim.requestLog.length;
    const name = snapshotNames(1000)[0]!;
    [admin, student, vuln] = await Promise.all([
      api('POST', `${ROLE_URL}snapshot/revert-vms-admin`, { proxmox_node: NODE, vm_snapshot_name: name }),
      api('POST', `${ROLE_URL}snapshot/revert-vms-student`, { proxmox_node: NODE }),
      bundle('snapshot/revert-vms-vuln', { VM_IDS: '4002', VM_SNAPSHOT_NAME: 'before-test' }),
    ]);
  }, SLOW);

  it('every VM is back to its snapshot (the revert stops a running VM, as Proxmox does)', () => {
    expectOk(...admin, ...student, vuln);
    for (const id of [...ADMIN, 3001, 4002]) {
      expect(mustGuest(id).config.description, `VM ${id}`).not.toBe('changed after the snapshot');
      expect(power(id), `VM ${id}`).toBe('stopped');
    }
    expect(since(mark, /\/rollback$/).sort()).toEqual([...ADMIN, 3001, 4002].map((id) => `POST ${id} snapshot/${snapshotNames(id)[0]}/rollback`).sort());
  });

  it('publishes snapshot_vm_revert per VM; without a name the newest snapshot of each VM is used', () => {
    expect(published(admin, 'snapshot_vm_revert').map((r) => r.vm_id)).toEqual(ADMIN);
    expect(published(student, 'snapshot_vm_list')).toHaveLength(1);
    expect(published(student, 'snapshot_vm_revert')).toMatchObject([{ vm_id: 3001, vm_name: 'student-box-01', vm_snapshot_name: snapshotNames(3001)[0] }]);
    expect(published(vuln, 'snapshot_vm_revert')).toMatchObject([{ vm_id: 4002, vm_snapshot_name: 'before-test' }]);
  });
});

describe('start-stop-pause-resume-vms-*', () => {
  const student: RunResult[][] = [];
  let vuln: RunResult;
  let admin: RunResult;
  const states: string[] = [];
  beforeAll(async () => {
    const studentVerbs = (async () => {
      for (const verb of ['start', 'pause', 'resume']) {
        student.push(await api('POST', `${ROLE_URL}${verb}-vms-student`, { proxmox_node: NODE }));
        states.push(power(3001));
      }
    })();
    [vuln, admin] = await Promise.all([
      // 4003 runs already (seed): skipped, not an error.
      bundle('start-stop-pause-resume-vms-vuln', { proxmox_vm_action: 'vm_start', VM_IDS: ['4003', '4004'] }),
      bundle('start-stop-pause-resume-vms-admin', { PROXMOX_VM_ACTION: 'vm_stop_force', VM_IDS: ['1023'], PROXMOX_NODE: NODE }),
      studentVerbs,
    ]);
  }, SLOW);

  it('student, through the start/pause/resume routes: running, paused, running', () => {
    expectOk(...student.flat());
    expect(states).toEqual(['running', 'paused', 'running']);
    expect([published(student[0]!, 'vm_start'), published(student[1]!, 'vm_pause'), published(student[2]!, 'vm_resume')])
      .toMatchObject([[{ vm_id: 3001, vm_status: 'running' }], [{ vm_id: 3001, vm_qmpstatus: 'paused' }], [{ vm_id: 3001, vm_qmpstatus: 'running' }]]);
  });

  it('vm_start on VM_IDS: the stopped VM starts, the running one is reported as skipped', () => {
    expectOk(vuln);
    expect([power(4003), power(4004)]).toEqual(['running', 'running']);
    expect(published(vuln, 'vm_start').map((s) => s.vm_id)).toEqual([4004]);
    expect(log(vuln)).toContain('VM 4003 is already running: skipped');
  });

  it('PROXMOX_VM_ACTION with PROXMOX_NODE: stopping a stopped VM succeeds', () => {
    expectOk(admin);
    expect(published(admin, 'vm_stop_force')).toMatchObject([{ vm_id: 1023, vm_status: 'stopped', proxmox_node: NODE }]);
  });
});

describe('mass-action', () => {
  let pause: RunResult[];
  let unknown: RunResult[];
  let mark: number;
  let before: Record<number, string>;
  beforeAll(async () => {
    before = Object.fromEntries([...ADMIN, 3001, ...VULN].map((id) => [id, power(id)]));
    mark = sim.requestLog.length;
    pause = await api('POST', `${VMS_URL}pause`, { proxmox_node: NODE, vm_ids: ['4000', '4003'] });
    unknown = await api('POST', `${VMS_URL}stop`, { proxmox_node: NODE, vm_ids: ['4242'] });
  }, SLOW);

  it('acts on exactly the given VMs, in order', () => {
    expectOk(...pause);
    expect(since(mark, /\/status\//)).toEqual(['POST 4000 status/suspend', 'POST 4003 status/suspend', 'POST 4242 status/stop']);
    expect([power(4000), power(4003)]).toEqual(['paused', 'paused']);
    for (const id of [...ADMIN, 3001, 4001, 4002, 4004]) expect(power(id), `VM ${id}`).toBe(before[id]);
    expect(published(pause, 'vm_pause').map((p) => [p.vm_id, p.vm_qmpstatus])).toEqual([[4000, 'paused'], [4003, 'paused']]);
  });

  it('an unknown VM fails the run with Proxmox’s message', () => {
    expectFailed(unknown[0]!, /4242/);
  });
});

describe('mass-delete', () => {
  let refused: RunResult[];
  let deleted: RunResult[];
  beforeAll(async () => {
    refused = await api('DELETE', `${VMS_URL}delete`, { proxmox_node: NODE, vms: [{ id: '4002', name: 'wrong-name' }, { id: '9221', name: 'ubuntu-24-04-template' }] });
    deleted = await api('DELETE', `${VMS_URL}delete`, {
      proxmox_node: NODE, vms: [{ id: '4000', name: 'vuln-box-00' }, { id: '4001', name: 'vuln-box-01' }, { id: '4242', name: 'ghost' }],
    });
  }, SLOW);

  it('refuses a VM whose name differs and a template, before deleting anything', () => {
    expectFailed(refused[0]!, /nothing deleted: VM 4002 is named 'vuln-box-02', not 'wrong-name'; VM 9221 is a template/);
    expect(guest(4002)).toBeDefined();
    expect(guest(9221)).toBeDefined();
  });

  it('force-stops the running (here: paused) VM, deletes both and skips the one that is already gone', () => {
    expectOk(...deleted);
    expect([guest(4000), guest(4001)]).toEqual([undefined, undefined]);
    expect(published(deleted, 'vm_stop_force').map((s) => s.vm_id)).toEqual([4000]);
    expect(published(deleted, 'vm_delete').map((d) => [d.vm_id, d.vm_name])).toEqual([[4000, 'vuln-box-00'], [4001, 'vuln-box-01']]);
    expect(log(deleted[0]!)).toContain('VM 4242 (ghost) does not exist on px-testing: skipped');
  });
});

describe('delete-vms-*', () => {
  let vuln: RunResult[];
  let student: RunResult[];
  let admin: RunResult[];
  beforeAll(async () => {
    [vuln, student] = await Promise.all([
      api('DELETE', `${ROLE_URL}delete-vms-vuln`, { proxmox_node: NODE }),
      api('DELETE', `${ROLE_URL}delete-vms-student`, { proxmox_node: NODE }),
    ]);
    admin = await api('DELETE', `${ROLE_URL}delete-vms-admin`, { proxmox_node: NODE });
  }, SLOW);

  it('deletes every VM of each default set, whatever its state; the templates stay', () => {
    expectOk(...vuln, ...student, ...admin);
    for (const id of [...ADMIN, 3001, ...VULN]) expect(guest(id), `VM ${id}`).toBeUndefined();
    for (const id of [9211, 9221, 9232]) expect(mustGuest(id).config.template).toBe(1);
  });

  it('vuln: the VMs mass-delete removed are skipped; running and paused ones are force-stopped first', () => {
    expect(published(vuln, 'vm_delete').map((d) => d.vm_id)).toEqual([4002, 4003, 4004]);
    expect(published(vuln, 'vm_stop_force').map((d) => d.vm_id)).toEqual([4003, 4004]);
    expect(published(student, 'vm_delete')).toMatchObject([{ vm_id: 3001, vm_name: 'student-box-01' }]);
    expect(published(admin, 'vm_delete').map((d) => d.vm_id)).toEqual(ADMIN);
  });
});

describe('create-vms-*', () => {
  let student: RunResult[];
  let admin: RunResult;
  let vuln: RunResult;
  let again: RunResult;
  let guard: RunResult;
  let mains: RunResult[];
  let mark: number;
  beforeAll(async () => {
    // student: the API route (init.yml --tags student-box-01 with the VM's extra vars, then main.yml).
    // admin: one VM of init.yml with the per-VM overrides; vuln: one VM with the set's defaults.
    [student, admin, vuln] = await Promise.all([
      api('POST', `${ROLE_URL}create-vms-student`, {
        proxmox_node: NODE, vms: { 'student-box-01': { vm_id: 3001, vm_ip: '192.168.143.160', vm_description: 'student box' } },
      }),
      bundle('create-vms-admin', { proxmox_node: NODE, global_vm_id: 1100, global_vm_ci_ip: '192.168.142.150', global_vm_description: 'wazuh (test)' },
        { file: 'init.yml', tags: 'admin-wazuh' }),
      bundle('create-vms-vuln', {}, { file: 'init.yml', tags: 'vuln-box-04' }),
    ]);
    mark = sim.requestLog.length;
    [again, guard, ...mains] = await Promise.all([
      bundle('create-vms-vuln', {}, { file: 'init.yml', tags: 'vuln-box-04' }),
      bundle('create-vms-vuln', { global_vm_id: 4100 }, { file: 'init.yml' }),
      bundle('create-vms-admin'),
      bundle('create-vms-vuln'),
    ]);
  }, SLOW);

  it('student through the API: cloned from 9211, tagged, cloud-init (trainee user and key, address, gateway, bridge), running', () => {
    expectOk(...student);
    expect(student).toHaveLength(2);
    const g = mustGuest(3001);
    expect(g.status).toBe('running');
    expect(g.config).toMatchObject({
      name: 'student-box-01', description: 'student box', tags: 'student', ciuser: 'bob',
      ipconfig0: 'ip=192.168.143.160/24,gw=192.168.143.1', memory: mustGuest(9211).config.memory, scsi0: expect.stringContaining('vm-3001-disk-0'),
    });
    expect(String(g.config.net0)).toMatch(/^virtio=[0-9A-F:]{17},bridge=vmbr143/);
    expect(decode(g.config.sshkeys).trim()).toBe(TRAINEE_KEY);
    expect(g.config.cipassword).toBeDefined();
    expect(published(student, 'vm_clone')).toMatchObject([{ vm_id: 3001, vm_id_clone_from: 9211, vm_name: 'student-box-01' }]);
    expect(published(student, 'cloudinit_set_variables')).toMatchObject([{ vm_id: 3001, ciuser: 'bob', cipassword: 'redacted', sshkeys: 'redacted' }]);
  });

  it('admin with global_* overrides: only the tagged VM, at the given id and address, from template 9232', () => {
    expectOk(admin);
    const g = mustGuest(1100);
    expect(g.status).toBe('running');
    expect(g.config).toMatchObject({ name: 'admin-wazuh', description: 'wazuh (test)', tags: 'admin', ciuser: 'alice', ipconfig0: 'ip=192.168.142.150/24,gw=192.168.142.1' });
    expect(g.config.cores).toBe(mustGuest(9232).config.cores);
    expect(String(g.config.net0)).toContain('bridge=vmbr142');
    expect(decode(g.config.sshkeys).trim()).toBe(ADMIN_KEY);
    for (const id of ADMIN) expect(guest(id), `VM ${id}`).toBeUndefined();
    expect(published(admin, 'vm_clone')).toMatchObject([{ vm_id: 1100, vm_id_clone_from: 9232 }]);
  });

  it('vuln with the set’s defaults: vuln-box-04 at 4004 from 9221, on vmbr144', () => {
    expectOk(vuln);
    const g = mustGuest(4004);
    expect(g.status).toBe('running');
    expect(g.config).toMatchObject({ name: 'vuln-box-04', description: 'vulnerable box 4', tags: 'vuln', ciuser: 'alice', ipconfig0: 'ip=192.168.144.174/24,gw=192.168.144.1' });
    expect(String(g.config.net0)).toContain('bridge=vmbr144');
    for (const id of [4000, 4001, 4002, 4003]) expect(guest(id), `VM ${id}`).toBeUndefined();
  });

  it('running init.yml again for an existing VM neither clones nor starts it again', () => {
    expectOk(again);
    expect(published(again, 'vm_clone')).toEqual([]);
    expect(published(again, 'vm_start')).toEqual([]);
    expect(since(mark, /\/qemu\/4004\/(clone|status\/start)$/)).toEqual([]);
    expect(mustGuest(4004).status).toBe('running');
  });

  it('global_* overrides without --tags are refused before anything changes', () => {
    expectFailed(guard, /apply to a single VM: run with --tags <vm key>/);
    expect(guest(4100)).toBeUndefined();
  });

  it('the guest plays (init.yml play 2, main.yml stage_01) find no guest hosts in this inventory and are skipped', () => {
    expectOk(...mains);
    for (const r of [...mains, student[1]!]) expect(log(r)).toMatch(/skipping: no hosts matched/);
    expect(log(vuln)).toMatch(/PLAY \[Wait for vuln-box-04 \(stage_00\)[^\]]*\][\s*]*skipping: no hosts matched/);
  });
});

describe('coverage', () => {
  it('every playbook of every bundle under default/vms ran in this file', () => {
    const all = fs.readdirSync(BUNDLES, { recursive: true }).map(String)
      .filter((f) => /(^|\/)(main|init)\.yml$/.test(f) && !f.startsWith('_shared')).map((f) => path.join(BUNDLES, f));
    expect(all).toHaveLength(17 + 3);
    expect(all.filter((f) => !ranPlaybooks.has(f))).toEqual([]);
  });
});
