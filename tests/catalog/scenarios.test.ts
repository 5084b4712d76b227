import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { Engine, type RunResult, type RunSpec } from '../../src/engine/engine.js';
import { extractResult, logLines } from '../../src/engine/extract.js';
import { runnerRoutes } from '../../src/routes/runner.js';
import type { Body, RouteContext } from '../../src/routes/types.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { Guest } from '../../src/simulator/model/types.js';
import { silentLog, simulatorInventory, testConfig } from '../helpers.js';

/**
 * The scenarios of catalog/scenarios, run for real (ansible-runner through the Engine) against the
 * Proxmox simulator, each through the API's scenario route (POST /v0/admin/run/scenarios/<name>/run,
 * the route's own plan): mini_lab (two VMs from templates: clone, tag, cloud-init, VM network,
 * firewall aliases and rules, start, baseline snapshot), then its teardown scenario.
 * debug_scenario and its teardown are built through the HTTP API in tests/e2e/bundles.test.ts.
 */

const NODE = 'px-testing';
const TRAINEE_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITrainee+/Key bob@range42';
const SLOW = 400_000;
const ATTACKER = 5101;
const TARGET = 5102;

let sim: Simulator;
let engine: Engine;
let ctx: RouteContext;
const timings: string[] = [];

/** The scenario route's plan for this scenario, run. */
async function scenario(name: string, body: Body = { proxmox_node: NODE, hosts: null }): Promise<RunResult> {
  const def = runnerRoutes.find((r) => r.operationId === 'run_scenario')!;
  const spec = (await def.plan(body, ctx, { scenario_name: name })) as RunSpec;
  expect(spec.playbook).toBe(path.join(REPO_ROOT, 'catalog', 'scenarios', name, 'main.yml'));
  const t0 = Date.now();
  const r = await engine.run(spec);
  timings.push(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s, rc ${r.rc}`);
  return r;
}

const log = (r: RunResult) => logLines(r.events).join('\n');
const expectOk = (r: RunResult) => expect(r.rc, log(r).split('\n').slice(-30).join('\n')).toBe(0);
const published = (r: RunResult, key: string) => extractResult(r.events, key) as Array<Record<string, unknown>>;
const guest = (vmid: number): Guest | undefined => sim.cluster.guest(vmid);
const mustGuest = (vmid: number): Guest => {
  const g = guest(vmid);
  if (!g) throw new Error(`VM ${vmid} does not exist`);
  return g;
};
const decode = (v: unknown) => decodeURIComponent(String(v ?? ''));
/** A rule as the scenario defines it: the fields it sets. */
const ruleView = (r: Record<string, unknown>) =>
  Object.fromEntries(['type', 'action', 'source', 'proto', 'dport', 'comment', 'enable'].filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));

beforeAll(async () => {
  sim = await startSimulator({ port: 0, taskDurationMs: 0, unauthorizedDelayMs: 0 });
  const invDir = simulatorInventory(sim, NODE, ['      vars:', `        default_trainee_vm_ci_ssh_key: "${TRAINEE_KEY}"`]);
  const config = testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: invDir, RUNNER_MAX_CONCURRENT: '2' });
  engine = new Engine({ config, vaultPasswordFile: null, log: silentLog });
  ctx = { config, resolveVmName: () => Promise.reject(new Error('not used by the scenarios')), proxmoxApiHosts: () => [], configuredVarNames: () => null };
}, SLOW);

afterAll(async () => {
  await engine?.close();
  await sim?.close();
  if (process.env.SCENARIOS_TIMING) console.log(timings.join('\n'));
});

describe('building the labs', () => {
  let lab: RunResult;
  let again: RunResult;
  let guestsBefore: number[];

  beforeAll(async () => {
    guestsBefore = sim.state.guests.map((g) => g.vmid).sort();
    lab = await scenario('mini_lab');
    again = await scenario('mini_lab');
  }, SLOW);

  it('mini_lab: both VMs cloned from their templates, tagged, with the lab’s cloud-init settings, running', () => {
    expectOk(lab);
    const attacker = mustGuest(ATTACKER);
    const target = mustGuest(TARGET);
    expect(attacker.config).toMatchObject({ name: 'mini-lab-attacker', tags: 'mini-lab', memory: mustGuest(9221).config.memory, ciuser: 'bob',
      ipconfig0: 'ip=192.168.144.51/24,gw=192.168.144.1', nameserver: '192.168.144.1', searchdomain: 'lab.range42.internal' });
    expect(target.config).toMatchObject({ name: 'mini-lab-target', tags: 'mini-lab', memory: mustGuest(9211).config.memory, ipconfig0: 'ip=192.168.144.52/24,gw=192.168.144.1' });
    expect(decode(target.config.sshkeys).trim()).toBe(TRAINEE_KEY);
    expect([attacker.status, target.status]).toEqual(['running', 'running']);
    expect(published(lab, 'vm_clone').map((c) => [c.vm_id, c.vm_id_clone_from])).toEqual([[ATTACKER, 9221], [TARGET, 9211]]);
  });

  it('mini_lab: net0 on the lab LAN with the firewall on; the target’s second interface on vmbr140, link down', () => {
    for (const g of [mustGuest(ATTACKER), mustGuest(TARGET)]) expect(String(g.config.net0)).toMatch(/^virtio=[0-9A-F:]{17},bridge=vmbr144,firewall=1$/);
    expect(String(mustGuest(TARGET).config.net1)).toMatch(/^virtio=[0-9A-F:]{17},bridge=vmbr140,firewall=1,link_down=1$/);
    expect(mustGuest(ATTACKER).config.net1).toBeUndefined();
  });

  it('mini_lab: firewall aliases, rules in the listed order, firewall on', () => {
    const attacker = mustGuest(ATTACKER).firewall;
    const target = mustGuest(TARGET).firewall;
    expect(target.aliases.map((a) => [a.name, a.cidr])).toEqual([['attacker', '192.168.144.51/32'], ['admin_net', '192.168.142.0/24']]);
    expect(target.rules.map(ruleView)).toEqual([
      { type: 'in', action: 'ACCEPT', source: 'admin_net', proto: 'tcp', dport: '22', comment: 'SSH from the admin network', enable: 1 },
      { type: 'in', action: 'ACCEPT', source: 'attacker', proto: 'tcp', dport: '22,80,443', comment: 'the attack surface', enable: 1 },
      { type: 'in', action: 'ACCEPT', source: 'attacker', proto: 'icmp', comment: 'ping from the attacker', enable: 1 },
      { type: 'in', action: 'DROP', comment: 'nothing else comes in', enable: 1 },
    ]);
    expect(attacker.aliases.map((a) => a.name)).toEqual(['admin_net']);
    expect(attacker.rules.map((r) => [r.action, r.source ?? ''])).toEqual([['ACCEPT', 'admin_net'], ['DROP', '']]);
    expect([Number(attacker.options.enable), Number(target.options.enable)]).toEqual([1, 1]);
  });

  it('mini_lab: a "baseline" snapshot of each VM; the guest stage is skipped without guest hosts', () => {
    for (const id of [ATTACKER, TARGET]) expect(mustGuest(id).snapshots.map((s) => [s.name, s.description])).toEqual([['baseline', 'mini_lab: freshly built']]);
    expect(log(lab)).toMatch(/PLAY \[Guests \(mini_lab 05\)\]\s*\**\s*skipping: no hosts matched/);
  });

  it('mini_lab a second time stops at the preflight: its VM ids are taken', () => {
    expect(again.rc).not.toBe(0);
    expect(log(again)).toMatch(/VM ids already used: 5101, 5102 \(run the mini_lab\/teardown scenario first\)/);
    expect(published(again, 'vm_clone')).toEqual([]);
  });

  it('nothing else was created', () => {
    expect(sim.state.guests.map((g) => g.vmid).sort()).toEqual([...guestsBefore, ATTACKER, TARGET].sort());
  });
});

describe('tearing the labs down', () => {
  let lab: RunResult;
  let guestsBefore: number[];

  beforeAll(async () => {
    guestsBefore = sim.state.guests.map((g) => g.vmid);
    lab = await scenario('mini_lab/teardown');
  }, SLOW);

  it('mini_lab/teardown: the lab VMs are stopped and deleted, nothing else', () => {
    expectOk(lab);
    expect(published(lab, 'vm_stop_force').map((s) => s.vm_id)).toEqual([ATTACKER, TARGET]);
    expect(published(lab, 'vm_delete').map((s) => [s.vm_id, s.vm_name])).toEqual([[ATTACKER, 'mini-lab-attacker'], [TARGET, 'mini-lab-target']]);
    expect(sim.state.guests.map((g) => g.vmid).sort()).toEqual(guestsBefore.filter((id) => ![ATTACKER, TARGET].includes(id)).sort());
  });
});
