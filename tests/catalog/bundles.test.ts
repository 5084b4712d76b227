import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { Engine, type RunResult, type RunSpec } from '../../src/engine/engine.js';
import { extractResult, logLines } from '../../src/engine/extract.js';
import { toUnsafeYaml } from '../../src/engine/extravars.js';
import { bundleRoutes } from '../../src/routes/bundles.js';
import type { Body, RouteContext, RouteDef } from '../../src/routes/types.js';
import { vmRoutes } from '../../src/routes/vms.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { Guest } from '../../src/simulator/model/types.js';
import { silentLog, simulatorInventory, tempDir, testConfig } from '../helpers.js';

/**
 * The Proxmox bundles of catalog/bundles/core/proxmox/configure/default/vms, run for real
 * (ansible-runner through the Engine) against the Proxmox simulator, which starts from its seed:
 * the default admin (1000, 1020, 1021, 1023), student (3001) and vuln (4000-4004) VMs and the
 * templates 9211, 9221, 9232. Every bundle playbook runs at least once, and the simulator's state
 * is checked afterwards.
 *
 * Every Proxmox call of the role costs about a CPU second, so:
 * - the runs of the API routes (the route's own plan: playbook, --limit, --tags and extra vars
 *   exactly as the HTTP API sends them) cover the student bundles and the mass routes;
 * - the admin and vuln variants, which share every task with the student ones and differ only in
 *   their default set, run narrowed to one or two VMs (VM_IDS, VMS; import_playbook vars), several
 *   bundles in one ansible-playbook run.
 * Two chains of runs on disjoint VMs run side by side in each phase.
 */

const NODE = 'px-testing';
const BUNDLES = path.join(REPO_ROOT, 'catalog', 'bundles', 'core', 'proxmox', 'configure', 'default', 'vms');
const ROLE_URL = '/v0/admin/run/bundles/core/proxmox/configure/default/';
const VMS_URL = '/v0/admin/proxmox/vms/vm_ids/';
const ADMIN_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAdmin+/Key alice@range42';
const TRAINEE_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITrainee+/Key bob@range42';
const SLOW = 400_000;

let sim: Simulator;
let engine: Engine;
let ctx: RouteContext;
let inventory: string;
let workDir: string;
let batches = 0;
const timings: string[] = [];
const ranPlaybooks = new Set<string>();

const route = (method: string, url: string): RouteDef => {
  const def = [...bundleRoutes, ...vmRoutes].find((r) => r.method === method && r.url === url);
  if (!def) throw new Error(`no route ${method} ${url}`);
  return def;
};

async function timed(label: string, spec: RunSpec): Promise<RunResult> {
  const t0 = Date.now();
  const r = await engine.run(spec);
  timings.push(`${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s, rc ${r.rc}`);
  return r;
}

/** What the API runs for this request: the route's plan, its runs in order, stopping at the first failure. */
async function api(method: string, url: string, body: Body): Promise<RunResult[]> {
  const specs = ([] as RunSpec[]).concat(await route(method, url).plan(body, ctx, {}));
  const results: RunResult[] = [];
  for (const spec of specs) {
    ranPlaybooks.add(spec.playbook);
    const r = await timed(`${method} ${url.replace(/^.*\/(vm_ids\/)?/, '')} ${spec.tags ?? ''}`, spec);
    results.push(r);
    if (r.rc !== 0) break;
  }
  return results;
}

/**
 * Several bundle playbooks in one ansible-playbook run, in order: a playbook that imports each
 * with its variables (import_playbook vars, i.e. play vars of the bundle's plays).
 */
function batch(steps: Array<{ bundle: string; file?: string; vars?: Body }>, opts: { tags?: string; extravars?: Body } = {}): Promise<RunResult> {
  const lines = steps.flatMap(({ bundle, file, vars }) => {
    const playbook = path.join(BUNDLES, bundle, file ?? 'main.yml');
    ranPlaybooks.add(playbook);
    return [`- name: ${bundle}/${file ?? 'main.yml'}`, `  ansible.builtin.import_playbook: ${JSON.stringify(playbook)}`,
      ...(vars ? [`  vars: ${toUnsafeYaml(vars).trim()}`] : [])];
  });
  const playbook = path.join(workDir, `batch-${++batches}.yml`);
  fs.writeFileSync(playbook, `${lines.join('\n')}\n`);
  return timed(`batch ${steps.map((s) => s.bundle).join(' + ')} ${opts.tags ?? ''}`,
    { playbook, inventory, tags: opts.tags ?? null, extravars: opts.extravars ?? null, label: `batch-${batches}` });
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
/** Changing requests logged since mark whose path matches, as "METHOD <vmid> <rest of the path>". */
const since = (mark: number, re: RegExp) =>
  sim.requestLog.slice(mark).filter((q) => q.method !== 'GET' && re.test(q.path))
    .map((q) => `${q.method} ${/\/qemu\/(\d+)/.exec(q.path)?.[1] ?? '-'} ${q.path.replace(/^.*\/qemu\/\d+\/?/, '')}`);
const decode = (v: unknown) => decodeURIComponent(String(v ?? ''));

beforeAll(async () => {
  sim = await startSimulator({ port: 0, taskDurationMs: 0, unauthorizedDelayMs: 0, requestLogSize: 50_000 });
  workDir = tempDir('r42-bundles-');
  const invDir = simulatorInventory(sim, NODE, [
    // The vault's cloud-init keys, as the API's vault file gives them.
    '      vars:',
    `        default_admin_vm_ci_ssh_key: "${ADMIN_KEY}"`,
    `        default_trainee_vm_ci_ssh_key: "${TRAINEE_KEY}"`,
    '        default_trainee_vm_ci_password: "trainee-secret"',
  ]);
  inventory = path.join(invDir, 'hosts.yml');
  const config = testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: invDir, RUNNER_MAX_CONCURRENT: '2' });
  engine = new Engine({ config, vaultPasswordFile: null, log: silentLog });
  ctx = { config, resolveVmName: () => Promise.reject(new Error('not used by the bundles')), proxmoxApiHosts: () => [], configuredVarNames: () => null };
}, SLOW);

afterAll(async () => {
  await engine?.close();
  await sim?.close();
  if (process.env.BUNDLES_TIMING) console.log(timings.join('\n'));
});

// ---------------------------------------------------------------------------------------------

describe('phase 1: snapshot, revert, power and delete bundles; the mass routes', () => {
  let b: RunResult;
  const mass: Record<string, RunResult[]> = {};
  let mark: number;
  let before: Record<number, string>;

  beforeAll(async () => {
    before = Object.fromEntries(sim.state.guests.filter((g) => g.type === 'qemu').map((g) => [g.vmid, power(g.vmid)]));
    mark = sim.requestLog.length;
    const massChain = async () => {
      mass.pause = await api('POST', `${VMS_URL}pause`, { proxmox_node: NODE, vm_ids: ['4000', '1021'] });
      mass.refused = await api('DELETE', `${VMS_URL}delete`, { proxmox_node: NODE, vms: [{ id: '4002', name: 'wrong-name' }, { id: '9221', name: 'ubuntu-24-04-template' }] });
      mass.deleted = await api('DELETE', `${VMS_URL}delete`, { proxmox_node: NODE, vms: [{ id: '4000', name: 'vuln-box-00' }, { id: '4242', name: 'ghost' }] });
    };
    [b] = await Promise.all([
      batch([
        { bundle: 'snapshot/create-vms-student' }, // the default set (3001), default name
        { bundle: 'snapshot/create-vms-admin', vars: { VM_IDS: ['1020'], VM_SNAPSHOT_NAME: 'phase-1', VM_SNAPSHOT_DESCRIPTION: 'test' } },
        { bundle: 'snapshot/create-vms-vuln', vars: { VM_IDS: '4002', VM_SNAPSHOT_NAME: 'phase-1' } },
        { bundle: 'snapshot/revert-vms-admin', vars: { VM_IDS: ['1020'], VM_SNAPSHOT_NAME: 'phase-1' } },
        { bundle: 'snapshot/revert-vms-vuln', vars: { VM_IDS: ['4002'], VM_SNAPSHOT_NAME: 'phase-1' } },
        { bundle: 'start-stop-pause-resume-vms-student', vars: { proxmox_vm_action: 'vm_stop' } }, // default set: 3001, stopped already
        { bundle: 'start-stop-pause-resume-vms-admin', vars: { PROXMOX_VM_ACTION: 'vm_stop_force', VM_IDS: ['1023'], PROXMOX_NODE: NODE } },
        { bundle: 'start-stop-pause-resume-vms-vuln', vars: { PROXMOX_VM_ACTION: 'vm_start', VM_IDS: ['4003'] } }, // runs already
        { bundle: 'create-vms-admin' }, // stage_01: guest plays only
        { bundle: 'create-vms-vuln' },
      ]),
      massChain(),
    ]);
  }, SLOW);

  it('the bundles run', () => {
    expectOk(b);
  });

  it('snapshot/create-vms-*: the default set under default-snapshot-from-API-<ddmmyy-HHMM>; VM_IDS and VM_SNAPSHOT_NAME narrow and name it', () => {
    expect(snapshotNames(3001)).toEqual([expect.stringMatching(/^default-snapshot-from-API-\d{6}-\d{4}$/)]);
    expect(mustGuest(1020).snapshots).toMatchObject([{ name: 'phase-1', description: 'test' }]);
    expect(snapshotNames(4002)).toEqual(['phase-1']);
    for (const id of [1000, 1021, 4003]) expect(snapshotNames(id), `VM ${id}`).toEqual([]);
    expect(published(b, 'snapshot_vm_create').map((s) => [s.vm_id, s.vm_name])).toEqual([[3001, 'student-box-01'], [1020, 'admin-deployer-api-gateway'], [4002, 'vuln-box-02']]);
  });

  it('snapshot/revert-vms-*: each VM rolled back to the snapshot (which stops a running VM, as on Proxmox)', () => {
    expect(since(mark, /\/rollback$/)).toEqual(['POST 1020 snapshot/phase-1/rollback', 'POST 4002 snapshot/phase-1/rollback']);
    expect(before[1020]).toBe('running');
    expect([power(1020), power(4002)]).toEqual(['stopped', 'stopped']);
    expect(published(b, 'snapshot_vm_revert')).toMatchObject([{ vm_id: 1020, vm_snapshot_name: 'phase-1' }, { vm_id: 4002, vm_name: 'vuln-box-02' }]);
  });

  it('start-stop-pause-resume-vms-*: the action on the set or on VM_IDS; a start of a running VM is reported, not redone', () => {
    expect(published(b, 'vm_stop')).toMatchObject([{ vm_id: 3001, vm_status: 'stopped' }]);
    expect(published(b, 'vm_stop_force')).toMatchObject([{ vm_id: 1023, vm_status: 'stopped', proxmox_node: NODE }]);
    // one entry per VM of the set, as the original answers: the running VM is reported as it is
    expect(published(b, 'vm_start')).toEqual([{ action: 'vm_start', source: 'proxmox', proxmox_node: NODE, vm_id: 4003, vm_status: 'running', skipped: 'already running' }]);
    expect(power(4003)).toBe('running');
  });

  it('mass-action: exactly the given VMs, in order', () => {
    expectOk(...mass.pause!);
    // (mass-delete force-stops 4000 afterwards)
    expect(since(mark, /\/qemu\/(4000|1021)\/status\//)).toEqual(['POST 4000 status/suspend', 'POST 1021 status/suspend', 'POST 4000 status/stop']);
    expect(power(1021)).toBe('paused');
    expect(published(mass.pause!, 'vm_pause').map((p) => [p.vm_id, p.vm_status, p.vm_qmpstatus])).toEqual([[4000, 'running', 'paused'], [1021, 'running', 'paused']]);
    expect(since(mark, /\/status\/suspend$/)).toHaveLength(2);
    for (const id of [1000, 4001, 9221]) expect(power(id), `VM ${id}`).toBe(before[id]);
  });

  it('mass-delete: refuses a VM of another name and a template before any change; deletes, skips the VMs already gone', () => {
    expectFailed(mass.refused![0]!, /nothing deleted: VM 4002 is named 'vuln-box-02', not 'wrong-name'; VM 9221 is a template/);
    expect(published(mass.refused!, 'vm_delete')).toEqual([]);
    expectOk(...mass.deleted!);
    expect(guest(4000)).toBeUndefined();
    expect(published(mass.deleted!, 'vm_stop_force').map((s) => s.vm_id)).toEqual([4000]); // paused counts as running
    expect(published(mass.deleted!, 'vm_delete')).toMatchObject([{ vm_id: 4000, vm_name: 'vuln-box-00' }]);
    expect(log(mass.deleted![0]!)).toContain('VM 4242 (ghost) does not exist on px-testing: skipped');
  });
});

describe('phase 2: the student bundles through the API; create-vms-admin and -vuln', () => {
  let revert: RunResult;
  let create: RunResult[];
  let b: RunResult;
  let guard: RunResult;
  let deletes: RunResult;
  let mark: number;

  beforeAll(async () => {
    mark = sim.requestLog.length;
    const studentChain = async () => {
      revert = await batch([{ bundle: 'snapshot/revert-vms-student' }, { bundle: 'delete-vms-student' }]);
      create = await api('POST', `${ROLE_URL}create-vms-student`, {
        proxmox_node: NODE, vms: { 'student-box-01': { vm_id: 3101, vm_ip: '192.168.143.165', vm_description: 'student box (test)' } },
      });
    };
    const otherChain = async () => {
      // Both VMs exist (seed): their tag and cloud-init settings are set again, nothing is cloned
      // or started (the student's create above clones and starts).
      b = await batch([{ bundle: 'create-vms-admin', file: 'init.yml' }, { bundle: 'create-vms-vuln', file: 'init.yml' }], { tags: 'admin-wazuh,vuln-box-03' });
      guard = await batch([{ bundle: 'create-vms-vuln', file: 'init.yml' }], { extravars: { global_vm_id: 4100 } });
      deletes = await batch([
        { bundle: 'delete-vms-admin', vars: { VMS: [{ ID: '1023', NAME: 'admin-deployer-ui' }] } },
        { bundle: 'delete-vms-vuln', vars: { VMS: [{ ID: 4004, NAME: 'vuln-box-04' }, { ID: '4001' }] } },
      ]);
    };
    await Promise.all([studentChain(), otherChain()]);
  }, SLOW);

  it('snapshot/revert-vms-student without a name: the newest snapshot', () => {
    expectOk(revert);
    expect(published(revert, 'snapshot_vm_list')).toHaveLength(1);
    expect(published(revert, 'snapshot_vm_revert')).toMatchObject([{ vm_id: 3001, vm_name: 'student-box-01', vm_snapshot_name: expect.stringMatching(/^default-snapshot-from-API-/) }]);
    expect(since(mark, /\/qemu\/3001\/snapshot\/.*\/rollback$/)).toHaveLength(1);
  });

  it('delete-vms-student: the default set is gone', () => {
    expect(published(revert, 'vm_delete')).toMatchObject([{ vm_id: 3001, vm_name: 'student-box-01' }]);
    expect(guest(3001)).toBeUndefined();
  });

  it('create-vms-student through the API (init.yml --tags student-box-01 with the VM’s variables, then main.yml)', () => {
    expectOk(...create);
    expect(create).toHaveLength(2);
    const g = mustGuest(3101);
    expect(g.status).toBe('running');
    expect(g.config).toMatchObject({
      name: 'student-box-01', description: 'student box (test)', tags: 'student', ciuser: 'bob',
      ipconfig0: 'ip=192.168.143.165/24,gw=192.168.143.1', memory: mustGuest(9211).config.memory, scsi0: expect.stringContaining('vm-3101-disk-0'),
    });
    expect(String(g.config.net0)).toMatch(/^virtio=[0-9A-F:]{17},bridge=vmbr143/);
    expect(decode(g.config.sshkeys).trim()).toBe(TRAINEE_KEY);
    expect(g.config.cipassword).toBeDefined();
    expect(published(create, 'vm_clone')).toMatchObject([{ vm_id: 3101, vm_id_clone_from: 9211, vm_name: 'student-box-01' }]);
    expect(published(create, 'cloudinit_set_variables')).toMatchObject([{ vm_id: 3101, ciuser: 'bob', cipassword: 'redacted', sshkeys: 'redacted' }]);
    expect(published(create, 'vm_start')).toMatchObject([{ vm_id: 3101, vm_status: 'running' }]);
  });

  it('create-vms-admin and -vuln --tags admin-wazuh,vuln-box-03 on the existing VMs: tag and cloud-init set again, no clone, no start', () => {
    expectOk(b);
    expect(mustGuest(1000).config).toMatchObject({ name: 'admin-wazuh', tags: 'admin', ciuser: 'alice', ipconfig0: 'ip=192.168.142.100/24,gw=192.168.142.1' });
    expect(mustGuest(4003).config).toMatchObject({ name: 'vuln-box-03', tags: 'vuln', ciuser: 'alice', ipconfig0: 'ip=192.168.144.173/24,gw=192.168.144.1' });
    for (const id of [1000, 4003]) {
      const g = mustGuest(id);
      expect(g.status).toBe('running');
      // a running VM keeps the cloud-init changes pending until its next start
      expect(decode(g.pending.sshkeys ?? g.config.sshkeys).trim()).toBe(ADMIN_KEY);
      expect(String(g.pending.net0 ?? g.config.net0)).toContain(id === 1000 ? 'bridge=vmbr142' : 'bridge=vmbr144');
    }
    expect(published(b, 'cloudinit_set_variables').map((c) => c.vm_id)).toEqual([1000, 4003]);
    expect(published(b, 'vm_set_tag').map((c) => c.vm_id)).toEqual([1000, 4003]);
    expect(published(b, 'vm_clone')).toEqual([]);
    expect(published(b, 'vm_start')).toEqual([]);
    expect(since(mark, /\/clone$/)).toEqual(['POST 9211 clone']); // the student's, no other
  });

  it('global_* variables without --tags are refused before anything changes', () => {
    expectFailed(guard, /apply to a single VM: run with --tags <vm key>/);
    expect(guest(4100)).toBeUndefined();
  });

  it('the guest plays (init.yml play 2, main.yml stage_01) find no guest hosts in this inventory and are skipped', () => {
    expect(log(b)).toMatch(/PLAY \[Wait for vuln-box-03 \(stage_00\)[^\]]*\]\s*\**\s*skipping: no hosts matched/);
    expect(log(create[1]!)).toMatch(/skipping: no hosts matched/);
  });

  it('delete-vms-admin and -vuln with VMS: deleted (a VMS entry without NAME is not name-checked); the templates stay', () => {
    expectOk(deletes);
    expect(published(deletes, 'vm_delete').map((d) => [d.vm_id, d.vm_name])).toEqual([[1023, 'admin-deployer-ui'], [4004, 'vuln-box-04'], [4001, 'vuln-box-01']]);
    for (const id of [1023, 4001, 4004]) expect(guest(id), `VM ${id}`).toBeUndefined();
    for (const id of [9211, 9221, 9232]) expect(mustGuest(id).config.template).toBe(1);
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
