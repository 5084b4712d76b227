import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTRA_VARS_LIMITS } from '../../src/routes/runner.js';
import { tempDir } from '../helpers.js';
import { startJobsStack, type JobsStack } from '../jobs/stack.js';

/**
 * Attacks of issue 24 (items 1, 5 and 7), through the listening service:
 * - a request variable switched off the Ubuntu roles' "not the controller" guard and created a
 *   sudo user on the service's own machine;
 * - keys of nested extra-vars objects were templated (a `lookup('pipe', ...)` in a key ran);
 * - extra vars had no depth bound (a 1,000-deep array started a run that died of recursion).
 * The inventory's `px-testing` is reached with `ansible_connection: local`: the service's machine.
 */

const PROBE_USER = 'r42probe';
const userExists = (name: string) => spawnSync('getent', ['passwd', name]).status === 0;

let s: JobsStack;
beforeAll(async () => {
  s = await startJobsStack();
});
afterAll(async () => {
  await s?.close();
  // Only a regression would have created it; never leave it behind on the machine.
  if (userExists(PROBE_USER)) spawnSync('userdel', ['-r', PROBE_USER]);
});

describe('no request value switches off a safety check of the roles', () => {
  const addUser = '/v0/admin/run/bundles/core%2Flinux%2Fubuntu%2Fconfigure%2Fadd-user/run';
  const attack = { TARGET_USER: PROBE_USER, TARGET_PASSWORD: 'Chosen-by-caller-1', TARGET_GROUPS: ['sudo'], r42_allow_controller_target: true };

  it('the reported request, and its variants on the generic runners, are 422 and run nothing', async () => {
    const started = s.app.engine.stats.started;
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [addUser, attack, 'r42_allow_controller_target'],
      // root's password, the nested spelling of the route, another case, a string for the boolean
      [addUser, { ...attack, TARGET_USER: 'root', TARGET_UPDATE_PASSWORD: 'always' }, 'r42_allow_controller_target'],
      ['/v0/admin/run/bundles/core/linux/ubuntu/configure/add-user/run', attack, 'r42_allow_controller_target'],
      [addUser, { ...attack, r42_allow_controller_target: undefined, R42_ALLOW_CONTROLLER_TARGET: 'yes' }, 'R42_ALLOW_CONTROLLER_TARGET'],
      ['/v0/admin/run/bundles/core%2Flinux%2Fubuntu%2Finstall%2Fdocker/run', { r42_allow_controller_target: true }, 'r42_allow_controller_target'],
      ['/v0/admin/run/scenarios/mini_lab/run', { r42_allow_controller_target: true }, 'r42_allow_controller_target'],
    ];
    for (const [url, extra_vars, key] of cases) {
      const r = await s.call('POST', url, { proxmox_node: 'px-testing', hosts: 'px-testing', extra_vars });
      expect(r.status, `${url} ${JSON.stringify(extra_vars)}: ${r.text}`).toBe(422);
      expect(r.body.detail).toEqual([expect.objectContaining({ field: `body.extra_vars.${key}`, type: 'value_error', msg: expect.stringMatching(/safety switch/) })]);
    }
    expect(s.app.engine.stats.started).toBe(started);
    expect(userExists(PROBE_USER)).toBe(false);
  });

  it('the named add-user route refuses the switch at the top of its body', async () => {
    const started = s.app.engine.stats.started;
    const body = { proxmox_node: 'px-testing', hosts: 'px-testing', user: PROBE_USER, password: 'Chosen-by-caller-1', change_pwd_at_logon: false, shell_path: '/bin/bash', r42_allow_controller_target: true };
    const r = await s.call('POST', '/v0/admin/run/bundles/core/linux/ubuntu/configure/add-user', body);
    expect(r.status, r.text).toBe(422);
    expect(r.body.detail).toEqual([expect.objectContaining({ field: 'body.r42_allow_controller_target', type: 'value_error' })]);
    expect(s.app.engine.stats.started).toBe(started);
  });

  it('without the switch, the same request runs and the role refuses the controller: no user is made', async () => {
    const { r42_allow_controller_target: _, ...vars } = attack;
    const r = await s.call('POST', addUser, { proxmox_node: 'px-testing', hosts: 'px-testing', extra_vars: vars });
    expect(r.status, r.text).toBe(500);
    expect(r.text).toMatch(/refusing to change the controller/);
    expect(userExists(PROBE_USER)).toBe(false);
  });
});

describe('extra vars are data at every depth, and bounded', () => {
  // A catalog of one bundle that hands the keys of a caller's dictionary to the templar, as
  // `dict2items` loops do; the service is started on it (its own catalog directory).
  let p: JobsStack;
  const marker = path.join(os.tmpdir(), `r42-pwned-${process.pid}`);
  beforeAll(async () => {
    const catalog = tempDir('r42-probe-catalog-');
    fs.mkdirSync(path.join(catalog, 'bundles', 'probe', 'dict-loop'), { recursive: true });
    fs.mkdirSync(path.join(catalog, 'scenarios'), { recursive: true });
    fs.writeFileSync(path.join(catalog, 'bundles', 'probe', 'dict-loop', 'main.yml'), [
      '- hosts: all', '  gather_facts: false', '  tasks:',
      '    - ansible.builtin.debug:', '        msg: "{{ item.key }}={{ item.value }}"', '      loop: "{{ probe_dict | dict2items }}"',
      '    - ansible.builtin.debug:', '        msg: "{{ probe_dict.keys() | list }} {{ probe_list }}"', '',
    ].join('\n'));
    p = await startJobsStack({ API_BACKEND_PUBLIC_PLAYBOOKS_DIR: catalog });
  });
  afterAll(async () => {
    await p?.close();
    fs.rmSync(marker, { force: true });
  });

  it('a Jinja expression in a nested key (dict and list of dicts) is printed, never run', async () => {
    const expr = `{{ lookup('pipe', 'touch ${marker}') }}`;
    const r = await p.call('POST', '/v0/admin/run/bundles/probe%2Fdict-loop/run', {
      proxmox_node: 'px-testing', hosts: 'px-testing',
      extra_vars: { probe_dict: { [expr]: 1, plain: { [expr]: 2 } }, probe_list: [{ [expr]: 3 }] },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.log_multiline.join('\n')).toContain(`${expr}=1`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it(`a value nested deeper than ${EXTRA_VARS_LIMITS.depth} levels, or too large a set, is 422 before anything runs`, async () => {
    const started = p.app.engine.stats.started;
    let deep: unknown = 'x';
    for (let i = 0; i < 1000; i++) deep = [deep];
    const tooDeep = await p.call('POST', '/v0/admin/run/bundles/probe%2Fdict-loop/run', { proxmox_node: 'px-testing', hosts: 'px-testing', extra_vars: { probe_dict: {}, deep } });
    expect(tooDeep.status, tooDeep.text.slice(0, 300)).toBe(422);
    expect(tooDeep.body.detail).toEqual([expect.objectContaining({ field: 'body.extra_vars.deep', msg: expect.stringMatching(/nested more than 32 levels/) })]);

    let limit: unknown = 'x';
    for (let i = 0; i < EXTRA_VARS_LIMITS.depth - 1; i++) limit = [limit];
    const atLimit = await p.call('POST', '/v0/admin/run/bundles/probe%2Fdict-loop/run', { proxmox_node: 'px-testing', hosts: 'px-testing', extra_vars: { probe_dict: {}, probe_list: limit } });
    expect(atLimit.status, atLimit.text.slice(0, 300)).toBe(200);

    const big = Array.from({ length: 40 }, () => 'y'.repeat(8000));
    const tooBig = await p.call('POST', '/v0/admin/run/bundles/probe%2Fdict-loop/run', { proxmox_node: 'px-testing', hosts: 'px-testing', extra_vars: { probe_dict: {}, probe_list: big } });
    expect(tooBig.status, tooBig.text.slice(0, 300)).toBe(422);
    expect(tooBig.body.detail).toEqual([expect.objectContaining({ field: 'body.extra_vars', msg: expect.stringMatching(/bytes once serialised/) })]);
    expect(p.app.engine.stats.started).toBe(started + 1);
  });
});
