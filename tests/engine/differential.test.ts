import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine, RunResult, RunSpec } from '../../src/engine/engine.js';
import { extractResult, logLines } from '../../src/engine/extract.js';
import type { RunnerEvent } from '../../src/engine/types.js';
import { FIXTURE_INVENTORY, fixturePlaybook, tempDir, testEngine } from '../helpers.js';

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
