import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import type { Engine, RunResult, RunSpec } from '../../src/engine/engine.js';
import { extractResult, logLines } from '../../src/engine/extract.js';
import type { RunnerEvent } from '../../src/engine/types.js';
import { routeTable } from '../../src/routes/table.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { FIXTURE_INVENTORY, fixturePlaybook, simulatorInventory, tempDir, testConfig, testEngine } from '../helpers.js';

/**
 * The same playbooks on both engines (RUNNER_ENGINE=ansible-runner and warm): rc, status, the
 * extracted result, the log lines, and the job events themselves (kind, order, task, host,
 * result, stdout with its colour codes), volatile values aside: uuids, pids, timestamps,
 * durations, the run's ident and private directory.
 */

const secret = 's3cr3t-' + Math.random().toString(36).slice(2);
const password = 'pw-' + Math.random().toString(36).slice(2);
const sha1 = execFileSync('/usr/bin/python3', ['-c', 'import hashlib,sys;print(hashlib.sha1(sys.argv[1].encode()).hexdigest())', secret]).toString().trim();

function vaultSetup(): { vaultFile: string; pwFile: string } {
  const dir = tempDir();
  const pwFile = path.join(dir, 'pw');
  fs.writeFileSync(pwFile, password);
  const vaultFile = path.join(dir, 'vault.yml');
  fs.writeFileSync(vaultFile, `vault_secret: ${secret}\n`);
  execFileSync('/usr/bin/ansible-vault', ['encrypt', '--vault-password-file', pwFile, vaultFile]);
  return { vaultFile, pwFile };
}

const { vaultFile, pwFile } = vaultSetup();
const engines: Record<'plain' | 'warm', Engine> = {
  plain: testEngine({ env: { RUNNER_ENGINE: 'ansible-runner', API_BACKEND_VAULT_FILE: vaultFile }, vaultPasswordFile: pwFile }),
  warm: testEngine({ env: { RUNNER_ENGINE: 'warm', API_BACKEND_VAULT_FILE: vaultFile }, vaultPasswordFile: pwFile }),
};
afterAll(async () => {
  await Promise.all(Object.values(engines).map((e) => e.close()));
});

const VOLATILE_KEYS = new Set(['uuid', 'parent_uuid', 'pid', 'created', 'start', 'end', 'duration', 'runner_ident', 'playbook_uuid', 'task_uuid', 'play_uuid', 'delta', 'event_loop', 'worker_id']);

function normalise(value: unknown, run: RunResult): unknown {
  if (Array.isArray(value)) return value.map((v) => normalise(v, run));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!VOLATILE_KEYS.has(k)) out[k] = normalise(v, run);
    return out;
  }
  if (typeof value === 'string') {
    return value
      .replaceAll(run.id, '<ident>')
      .replace(/\/[^\s"']*\/r42-run-[A-Za-z0-9]+/g, '<private>')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?/g, '<time>')
      .replace(/ansible-(local|tmp)-[0-9a-z_.-]+/g, 'ansible-$1-<x>');
  }
  return value;
}

function shape(events: RunnerEvent[], run: RunResult): unknown[] {
  return events.map((e) => normalise(e, run));
}

// Several hosts run in parallel: the order of their events (and so counters and line numbers) is
// Ansible's scheduling, not the engine's. Such cases compare the events and lines as multisets.
const ORDER_KEYS = new Set(['counter', 'start_line', 'end_line']);
// (Keys are sorted too: per-host dicts such as playbook_on_stats' fill in the hosts' finishing order.)
const sortedKeys = (_k: string, v: unknown) =>
  v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).filter(([k]) => !ORDER_KEYS.has(k)).sort(([a], [b]) => (a < b ? -1 : 1)))
    : v;
const multiset = (xs: unknown[]) => xs.map((x) => JSON.stringify(x, sortedKeys)).sort();

const cases: Array<{ name: string; spec: RunSpec; key: string; parallelHosts?: boolean }> = [
  { name: 'ping', spec: { playbook: fixturePlaybook('ping'), inventory: FIXTURE_INVENTORY, limit: 'testhost' }, key: 'ping' },
  { name: 'publish (request values, every host)', spec: { playbook: fixturePlaybook('publish'), inventory: FIXTURE_INVENTORY, extravars: { value: "{{ lookup('pipe','id') }}", nested: { a: [1, 'é\n'] } } }, key: 'echo_back', parallelHosts: true },
  { name: 'fail', spec: { playbook: fixturePlaybook('fail'), inventory: FIXTURE_INVENTORY, limit: 'testhost' }, key: 'echo_back' },
  { name: 'tags', spec: { playbook: fixturePlaybook('tags'), inventory: FIXTURE_INVENTORY, limit: 'testhost', tags: 'beta' }, key: 'beta_marker' },
  { name: 'vault', spec: { playbook: fixturePlaybook('vault'), inventory: FIXTURE_INVENTORY, limit: 'testhost', extravars: { expected_sha1: sha1 } }, key: 'vault_check' },
  { name: 'parse error', spec: { playbook: fixturePlaybook('parse-error'), inventory: FIXTURE_INVENTORY }, key: 'x' },
  { name: 'unknown host limit', spec: { playbook: fixturePlaybook('ping'), inventory: FIXTURE_INVENTORY, limit: 'nosuchhost' }, key: 'ping' },
];

describe('differential: the warm engine answers as ansible-runner does', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const plain = await engines.plain.run(c.spec);
      const run = engines.warm.start(c.spec);
      const warm = await run.done;
      expect(run.playbookMode === null || run.playbookMode === 'warm', run.playbookWhy ?? '').toBe(true);
      expect({ rc: warm.rc, status: warm.status }).toEqual({ rc: plain.rc, status: plain.status });
      if (c.parallelHosts) {
        expect(multiset(extractResult(warm.events, c.key))).toEqual(multiset(extractResult(plain.events, c.key)));
        expect(multiset(logLines(warm.events))).toEqual(multiset(logLines(plain.events)));
        expect(multiset(shape(warm.events, warm))).toEqual(multiset(shape(plain.events, plain)));
      } else {
        expect(extractResult(warm.events, c.key)).toEqual(extractResult(plain.events, c.key));
        expect(logLines(warm.events)).toEqual(logLines(plain.events));
        expect(shape(warm.events, warm)).toEqual(shape(plain.events, plain));
      }
    });
  }
});

/**
 * The same HTTP cases through the API on both engines: two apps built on the repository's
 * playbooks and role (RUNNER_ENGINE=ansible-runner and warm), each against a simulator of its own
 * in the same initial state, called in the same order: reads, a power action, the same action
 * failing on Proxmox, a configuration write and a bundle. HTTP status, rc, result and log lines
 * must be the same, volatile values aside (task ids, times, usage counters, the snapshot name made
 * from the clock).
 */
const VOLATILE_RESULT_KEYS = new Set(['vm_uptime', 'cpu_current_usage', 'ram_current_usage', 'disk_read', 'disk_write', 'net_in', 'net_out', 'uptime', 'cpu', 'mem', 'netin', 'netout', 'diskread', 'diskwrite', 'snaptime']);

function normaliseAnswer(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normaliseAnswer);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = VOLATILE_RESULT_KEYS.has(k) ? '<volatile>' : normaliseAnswer(v);
    return out;
  }
  if (typeof value === 'string') {
    return value
      .replace(/UPID:[^\s"',}\]]+/g, '<upid>')
      .replace(/snapshot_\d{8}_\d{6}/g, 'snapshot_<time>')
      // the default snapshot name is made from the clock to the minute: the two runs may straddle one
      .replace(/default-snapshot-from-API-\d{6}-\d{4}/g, 'default-snapshot-from-API-<time>')
      .replace(/\/[^\s"']*\/r42-run-[A-Za-z0-9]+/g, '<private>')
      .replace(/"(vm_uptime|cpu_current_usage|ram_current_usage|disk_read|disk_write|net_in|net_out|uptime|cpu|mem|netin|netout|diskread|diskwrite|snaptime)": [0-9.e+-]+/g, '"$1": <volatile>');
  }
  return value;
}

describe('differential: the HTTP cases answer the same on both engines', () => {
  type Side = { app: Awaited<ReturnType<typeof createApp>>; sim: Simulator; base: string };
  const sides: Partial<Record<'plain' | 'warm', Side>> = {};
  beforeAll(async () => {
    await Promise.all((['plain', 'warm'] as const).map(async (kind) => {
      const sim = await startSimulator({ port: 0 });
      const inventoryDir = simulatorInventory(sim);
      const app = await createApp(testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: inventoryDir, RUNNER_ENGINE: kind === 'warm' ? 'warm' : 'ansible-runner' }), { logger: false });
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      sides[kind] = { app, sim, base };
    }));
  });
  afterAll(async () => {
    await Promise.all(Object.values(sides).map(async (s) => {
      await s!.app.close();
      await s!.sim.close();
    }));
  });

  const node = { proxmox_node: 'px-testing' };
  // `logs`: the answer carries log lines (raw mode, a failure, a runner route).
  const httpCases: Array<{ name: string; operationId: string; body?: Record<string, unknown>; url?: string; status: number; logs?: boolean }> = [
    { name: 'vm_list (raw: log lines)', operationId: 'vm_list', body: { ...node, as_json: false }, status: 200, logs: true },
    { name: 'vm_get_config', operationId: 'vm_get_config', status: 200 },
    { name: 'snapshot_vm_list', operationId: 'snapshot_vm_list', status: 200 },
    { name: 'vm_start', operationId: 'vm_start', body: { ...node, vm_id: '4001' }, status: 200 },
    { name: 'vm_start on a running VM: 500 with the Proxmox task error', operationId: 'vm_start', body: { ...node, vm_id: '4001' }, status: 500, logs: true },
    { name: 'vm_set_tag (a configuration write)', operationId: 'vm_set_tag', status: 200 },
    { name: 'a bundle (snapshot/create-vms-student)', operationId: 'run_bundle_nested', body: { ...node, hosts: 'px-testing' }, url: '/v0/admin/run/bundles/core/proxmox/configure/default/vms/snapshot/create-vms-student/run', status: 200, logs: true },
  ];

  for (const c of httpCases) {
    it(c.name, async () => {
      const def = routeTable.find((d) => d.operationId === c.operationId)!;
      const body = c.body ?? (def.body as { examples: Record<string, unknown>[] }).examples[0];
      const [plain, warm] = await Promise.all((['plain', 'warm'] as const).map(async (kind) => {
        const r = await fetch(`${sides[kind]!.base}${c.url ?? def.url}`, { method: def.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: r.status, body: normaliseAnswer(await r.json()) as Record<string, unknown> };
      }));
      expect(plain!.status, JSON.stringify(plain!.body).slice(0, 800)).toBe(c.status);
      expect(warm!.status).toBe(plain!.status);
      expect(warm!.body.rc).toBe(plain!.body.rc);
      expect(warm!.body.result).toEqual(plain!.body.result);
      expect(warm!.body.log_multiline).toEqual(plain!.body.log_multiline);
      expect(warm!.body).toEqual(plain!.body);
      if (c.logs) expect((warm!.body.log_multiline as string[]).some((l) => l.startsWith('TASK ['))).toBe(true);
      else expect((warm!.body.result as unknown[]).length).toBeGreaterThan(0);
      if (c.status === 500) expect(JSON.stringify(warm!.body)).toContain('VM 4001 already running');
    });
  }
  it('the simulators end in the same state', () => {
    const state = (s: Side) => normaliseAnswer(JSON.parse(JSON.stringify(s.sim.cluster.guestsOf('px-testing', 'qemu').map((g) => ({ vmid: g.vmid, status: g.status, tags: g.config.tags, snapshots: g.snapshots.length })))));
    expect(state(sides.warm!)).toEqual(state(sides.plain!));
  });
});
