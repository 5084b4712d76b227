import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { reduceEvent } from '../../src/jobs/events.js';
import { LockConflictError } from '../../src/errors.js';
import { lockOrder, VmLocks } from '../../src/jobs/locks.js';
import { requestHash } from '../../src/jobs/submit.js';
import { Redactor, REDACTED, secretValuesOf } from '../../src/jobs/redact.js';
import { secretsOfVarsFile, ServiceSecrets } from '../../src/jobs/secrets.js';
import { DefaultVmSets, targetsOf } from '../../src/jobs/targets.js';
import { parsePrefer } from '../../src/routes/handler.js';
import { NO_VM_LOCK, VM_LOCKS } from '../../src/routes/locks.js';
import { routeTable } from '../../src/routes/table.js';
import { tempDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const vm = (vmid: number, node = 'px-testing') => ({ node, vmid });

describe('per-VM locks', () => {
  it('orders targets by node then VM id, without duplicates', () => {
    expect(lockOrder([vm(20), vm(3, 'b'), vm(100), vm(20), vm(1, 'a')])).toEqual([vm(1, 'a'), vm(3, 'b'), vm(20), vm(100)]);
  });

  it('a second job waits for the first and gets the lock when it is released (first come, first served)', async () => {
    const locks = new VmLocks();
    const release1 = await locks.acquire('j1', [vm(1)], 0);
    const order: string[] = [];
    const p2 = locks.acquire('j2', [vm(1)], 5000).then((r) => (order.push('j2'), r));
    const p3 = locks.acquire('j3', [vm(1)], 5000).then((r) => (order.push('j3'), r));
    await sleep(20);
    expect(order).toEqual([]);
    release1();
    (await p2)();
    (await p3)();
    expect(order).toEqual(['j2', 'j3']);
    expect(locks.size).toBe(0);
  });

  it('gives up at the deadline, names the holder, and keeps nothing it had taken', async () => {
    const locks = new VmLocks();
    const release = await locks.acquire('holder', [vm(5)], 0);
    const started = Date.now();
    const err = await locks.acquire('late', [vm(1), vm(5), vm(9)], 100).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(err).toBeInstanceOf(LockConflictError);
    expect(err).toMatchObject({ holder: 'holder', target: vm(5) });
    expect(locks.holderOf(vm(1))).toBeNull();
    expect(locks.holderOf(vm(9))).toBeNull();
    release();
    expect(locks.size).toBe(0);
  });

  it('overlapping sets asked for in opposite orders never deadlock: every job ends up running alone', async () => {
    const locks = new VmLocks();
    const running = new Set<string>();
    let overlaps = 0;
    const job = async (id: string, ids: number[]) => {
      const release = await locks.acquire(id, ids.map((i) => vm(i)), 10_000);
      for (const other of running) if (other !== id) overlaps++;
      running.add(id);
      await sleep(5);
      running.delete(id);
      release();
    };
    const sets = [[1, 2, 3], [3, 2, 1], [2, 3], [3, 1], [1, 2, 3, 4], [4, 3, 2, 1]];
    await Promise.all(Array.from({ length: 30 }, (_, i) => job(`j${i}`, sets[i % sets.length]!)));
    expect(overlaps).toBe(0);
    expect(locks.size).toBe(0);
  });
});

describe('the route table says which VMs each operation changes', () => {
  it('every operation is either locking or listed as taking no VM lock', () => {
    const ids = routeTable.map((d) => d.operationId);
    expect(ids.filter((id) => !VM_LOCKS[id] && !NO_VM_LOCK.has(id))).toEqual([]);
    expect(ids.filter((id) => VM_LOCKS[id] && NO_VM_LOCK.has(id))).toEqual([]);
    expect(Object.keys(VM_LOCKS).filter((id) => !ids.includes(id))).toEqual([]);
    for (const d of routeTable) expect(Boolean(d.locks), d.operationId).toBe(Boolean(VM_LOCKS[d.operationId]));
  });

  it('derives the VMs from the body: one id, clone source and target, lists, create-vms maps, role default sets', () => {
    const sets = new DefaultVmSets(path.join(REPO_ROOT, 'catalog'));
    const of = (op: string, body: Record<string, unknown>) => {
      const t = targetsOf(routeTable.find((d) => d.operationId === op)!.locks, body, 'px-testing', sets);
      return t === 'node' ? t : t.map((x) => x.vmid);
    };
    expect(of('vm_start', { vm_id: '4001' })).toEqual([4001]);
    expect(of('network_add_interfaces_vm', { vm_id: 4001 })).toEqual([4001]);
    expect(of('vm_clone', { vm_id: '9221', vm_new_id: '4011' })).toEqual([9221, 4011]);
    expect(of('mass_vm_start', { vm_ids: ['4000', '4001', '4000'] })).toEqual([4000, 4001]);
    expect(of('mass_vm_delete', { vms: [{ id: '4000', name: 'a' }, { id: '4002', name: 'b' }] })).toEqual([4000, 4002]);
    expect(of('bundle_create_vms_student', { vms: { 'student-box-01': { vm_id: 3001 } } })).toEqual([3001]);
    expect(of('bundle_stop_vms_admin', {})).toEqual([1000, 1020, 1021, 1023]);
    expect(of('bundle_delete_vms_vuln', {})).toEqual([4000, 4001, 4002, 4003, 4004]);
    expect(of('vm_list', { proxmox_node: 'px-testing' })).toEqual([]);
  });

  it('a catalog without default_vms.yml: the ids its bundle playbook names, else the whole node', () => {
    const catalog = tempDir();
    const bundles = path.join(catalog, 'bundles', 'core', 'proxmox', 'configure', 'default', 'vms');
    const write = (bundle: string, text: string) => {
      fs.mkdirSync(path.join(bundles, bundle), { recursive: true });
      fs.writeFileSync(path.join(bundles, bundle, 'main.yml'), text);
    };
    // upstream's shape: the VM set is a play variable of the bundle
    write('start-stop-pause-resume-vms-admin', '- hosts: px-testing\n  vars:\n    VM_IDS: ["1000", "1020"]\n  tasks: []\n');
    write('delete-vms-admin', '- hosts: proxmox\n  vars:\n    VMS:\n      - { ID: 1000, NAME: a }\n      - { ID: 1021, NAME: b }\n  tasks: []\n');
    // computed, or not named at all: unknowable
    write('snapshot/create-vms-admin', '- hosts: proxmox\n  vars:\n    VM_IDS: "{{ lookup(\'file\', \'ids\') }}"\n  tasks: []\n');
    write('snapshot/revert-vms-admin', '- hosts: proxmox\n  tasks: []\n');
    const sets = new DefaultVmSets(catalog);
    const of = (op: string) => {
      const t = targetsOf(routeTable.find((d) => d.operationId === op)!.locks, {}, 'px-testing', sets);
      return t === 'node' ? t : t.map((x) => x.vmid);
    };
    expect(of('bundle_stop_vms_admin')).toEqual([1000, 1020]);
    expect(of('bundle_delete_vms_admin')).toEqual([1000, 1021]);
    expect(of('bundle_snapshot_create_vms_admin')).toBe('node');
    expect(of('bundle_snapshot_revert_vms_admin')).toBe('node');
  });
});

describe('redaction', () => {
  it('by key in structures, by value in text, booleans and ids left alone', () => {
    const body = { user: 'bob', password: 'hunter2-secret', change_pwd_at_logon: true, proxmox_api_token_id: 'r42', nested: { lxc_password: 'x' }, list: [{ TARGET_PASSWORD: 'p@ss-word' }] };
    const r = new Redactor(['s3rvice-token', ...secretValuesOf(body)]);
    expect(r.value(body)).toEqual({ user: 'bob', password: REDACTED, change_pwd_at_logon: true, proxmox_api_token_id: 'r42', nested: { lxc_password: REDACTED }, list: [{ TARGET_PASSWORD: REDACTED }] });
    expect(r.text('set hunter2-secret and s3rvice-token, p@ss-word')).toBe(`set ${REDACTED} and ${REDACTED}, ${REDACTED}`);
    expect(r.text('x stays, too short to be hunted')).toBe('x stays, too short to be hunted');
    expect(r.value({ log: ['hunter2-secret!'], n: 5, nil: null })).toEqual({ log: [`${REDACTED}!`], n: 5, nil: null });
    expect(new Redactor([]).text('a.b*c')).toBe('a.b*c');
    expect(new Redactor(['a.b*c']).text('xa.b*cx aXbbc')).toBe(`x${REDACTED}x aXbbc`); // literal, not a pattern
  });

  it('service secrets: inventory and vault-file secret keys, secret-named environment variables, the vault password', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'hosts.yml'), 'all:\n  hosts:\n    h:\n      proxmox_api_token_secret: inv-token-secret\n      proxmox_api_token_id: not-secret\n      ansible_password: inv-password\n');
    const vaultFile = path.join(dir, 'vault.yml');
    fs.writeFileSync(vaultFile, 'creds:\n  api_key: vault-api-key\n  user: plain\n');
    const pw = path.join(dir, 'pw');
    fs.writeFileSync(pw, 'vault-pass-file\n');
    const secrets = new ServiceSecrets({ inventoryDir: dir, vaultFile, vaultPassword: null, apiAuthToken: 'bearer-token' }, pw, { MY_TOKEN: 'env-token', HOME: '/root' });
    expect(secrets.values().sort()).toEqual(['bearer-token', 'env-token', 'inv-password', 'inv-token-secret', 'vault-api-key', 'vault-pass-file'].sort());
    expect(secretsOfVarsFile(path.join(dir, 'missing.yml'), null)).toEqual([]);
  });
});

describe('event reduction', () => {
  const redactor = new Redactor(['tok-secret-1']);
  const base = { created: '2026-01-02T03:04:05.678901', event_data: { task: 'Start VM', task_action: 'ansible.builtin.uri', host: 'px-testing', play: 'P', playbook: '/repo/catalog/bundles/x/main.yml' } };
  const reduce = (e: object) => reduceEvent(e as never, { redactor, roots: ['/repo/catalog'] });

  it('keeps what a UI shows: task, host, duration, message; drops the rest', () => {
    expect(reduce({ ...base, event: 'playbook_on_start' })).toEqual({ t: '2026-01-02T03:04:05.678Z', type: 'playbook_start', playbook: 'bundles/x/main.yml' });
    expect(reduce({ ...base, event: 'playbook_on_task_start' })).toMatchObject({ type: 'task_start', task: 'Start VM', action: 'ansible.builtin.uri' });
    expect(reduce({ ...base, event: 'runner_on_ok', event_data: { ...base.event_data, duration: 0.12345, res: { changed: true, msg: 'done tok-secret-1', json: { big: 'x'.repeat(10_000) } } } }))
      .toEqual({ t: '2026-01-02T03:04:05.678Z', type: 'task_ok', task: 'Start VM', action: 'ansible.builtin.uri', host: 'px-testing', changed: true, duration: 0.123, msg: `done ${REDACTED}` });
    expect(reduce({ ...base, event: 'runner_on_failed', event_data: { ...base.event_data, ignore_errors: true, res: { stderr: 'boom' } } })).toMatchObject({ type: 'task_failed', ignored: true, msg: 'boom' });
    expect(reduce({ ...base, event: 'runner_on_skipped' })).toMatchObject({ type: 'task_skipped', host: 'px-testing' });
    expect(reduce({ ...base, event: 'runner_on_unreachable', event_data: { ...base.event_data, res: { msg: 'no route' } } })).toMatchObject({ type: 'host_unreachable', msg: 'no route' });
    expect(reduce({ ...base, event: 'playbook_on_stats', event_data: { ok: { h: 3 }, failures: { h: 1 }, dark: {} } })).toMatchObject({ type: 'stats', hosts: { h: { ok: 3, failed: 1, unreachable: 0 } } });
    expect(reduce({ event: 'verbose', stdout: '\u001b[0;31mERROR! bad tok-secret-1\u001b[0m' })).toMatchObject({ type: 'message', level: 'error', text: `ERROR! bad ${REDACTED}` });
    expect(reduce({ event: 'verbose', stdout: '   ' })).toBeNull();
    expect(reduce({ ...base, event: 'runner_on_start' })).toBeNull();
    expect(reduce({ ...base, event: 'runner_item_on_ok' })).toBeNull();
  });
});

describe('request details', () => {
  it('parses RFC 7240 Prefer', () => {
    expect(parsePrefer(undefined)).toEqual({ respondAsync: false, waitS: null });
    expect(parsePrefer('respond-async')).toEqual({ respondAsync: true, waitS: null });
    expect(parsePrefer('handling=lenient, Respond-Async; x=1, wait=10')).toEqual({ respondAsync: true, waitS: 10 });
    expect(parsePrefer(['wait="3"', 'return=minimal'])).toEqual({ respondAsync: false, waitS: 3 });
  });

  it('the Idempotency-Key fingerprint ignores key order but not values', () => {
    expect(requestHash('POST', '/a', { x: 1, y: { b: 2, a: 1 } })).toBe(requestHash('POST', '/a', { y: { a: 1, b: 2 }, x: 1 }));
    expect(requestHash('POST', '/a', { x: 1 })).not.toBe(requestHash('POST', '/a', { x: 2 }));
    expect(requestHash('POST', '/a', { x: 1 })).not.toBe(requestHash('POST', '/b', { x: 1 }));
  });
});
