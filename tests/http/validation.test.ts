import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { validatorCompiler } from '../../src/http/validation.js';
import { routeTable } from '../../src/routes/table.js';
import { testConfig } from '../helpers.js';

/**
 * The acceptance rules of pydantic v2's lax mode (the original's validation), checked field kind by
 * field kind on real route schemas, and the 422's `input`: what the caller sent.
 */
const schemaOf = (operationId: string) => routeTable.find((d) => d.operationId === operationId)!.body!;
const check = (operationId: string, body: unknown) =>
  (validatorCompiler({ schema: schemaOf(operationId), method: 'POST', url: '/', httpPart: 'body' }) as (d: unknown) => { value?: any; error?: any })(structuredClone(body));
const accepted = (operationId: string, body: unknown) => {
  const r = check(operationId, body);
  expect(r.error?.validation, JSON.stringify(body)).toBeUndefined();
  return r.value;
};
const refused = (operationId: string, body: unknown) => {
  const r = check(operationId, body);
  expect(r.error, JSON.stringify(body)).toBeDefined();
  return r.error.validation as Array<{ keyword: string; instancePath: string }>;
};

const VM = { proxmox_node: 'pve01', vm_id: '4001' };

describe('pydantic v2 lax mode, JSON input', () => {
  it('int fields: true/false become 1/0, integral floats and integer strings are ints; fractions and words are not', () => {
    const node = (v: unknown) => ({ proxmox_node: 'pve01', iface_name: 'vmbr150', iface_type: 'bridge', iface_autostart: v });
    expect(accepted('network_add_interfaces_node', node(true)).iface_autostart).toBe(1);
    expect(accepted('network_add_interfaces_node', node(false)).iface_autostart).toBe(0);
    expect(accepted('network_add_interfaces_node', node(1.0)).iface_autostart).toBe(1);
    expect(accepted('network_add_interfaces_node', node('1')).iface_autostart).toBe(1);
    expect(accepted('network_add_interfaces_node', node(' 0 ')).iface_autostart).toBe(0);
    expect(accepted('network_add_interfaces_node', node('1.0')).iface_autostart).toBe(1);
    expect(refused('network_add_interfaces_node', node(0.5))[0]).toMatchObject({ keyword: 'type' });
    expect(refused('network_add_interfaces_node', node('yes'))[0]).toMatchObject({ keyword: 'type' });
    expect(refused('network_add_interfaces_node', node('1.5'))[0]).toMatchObject({ keyword: 'type' });
    expect(refused('network_add_interfaces_node', node([1]))[0]).toMatchObject({ keyword: 'type' });
  });

  it('float fields: ints, booleans and numeric strings are floats', () => {
    const nic = (v: unknown) => ({ ...VM, iface_model: 'virtio', iface_bridge: 'vmbr0', iface_rate: v });
    expect(accepted('network_add_interfaces_vm', nic(2)).iface_rate).toBe(2);
    expect(accepted('network_add_interfaces_vm', nic(true)).iface_rate).toBe(1);
    expect(accepted('network_add_interfaces_vm', nic('1.5')).iface_rate).toBe(1.5);
    expect(accepted('network_add_interfaces_vm', nic('2e1')).iface_rate).toBe(20);
    expect(refused('network_add_interfaces_vm', nic('fast'))[0]).toMatchObject({ keyword: 'type' });
  });

  it('bool fields: 0/1 (also 0.0/1.0) and the words pydantic knows, in any case', () => {
    for (const [v, want] of [[1, true], [0, false], ['yes', true], ['OFF', false], ['t', true], ['n', false], ['On', true]] as const) {
      expect(accepted('vm_list', { proxmox_node: 'pve01', as_json: v }).as_json).toBe(want);
    }
    for (const v of [2, 'maybe', '', [], {}]) refused('vm_list', { proxmox_node: 'pve01', as_json: v });
  });

  it('str fields take strings only: a number or a boolean is refused, as pydantic v2 does', () => {
    expect(refused('vm_list', { proxmox_node: 5 })[0]).toMatchObject({ keyword: 'type', instancePath: '/proxmox_node' });
    expect(refused('vm_list', { proxmox_node: true })[0]).toMatchObject({ keyword: 'type' });
    expect(refused('vm_set_name', { ...VM, vm_name: 12 })[0]).toMatchObject({ keyword: 'type', instancePath: '/vm_name' });
  });

  it('list fields take JSON arrays only', () => {
    expect(refused('mass_vm_start', { proxmox_node: 'pve01', vm_ids: '4000,4001' })[0]).toMatchObject({ keyword: 'type', instancePath: '/vm_ids' });
    expect(refused('mass_vm_start', { proxmox_node: 'pve01', vm_ids: { 0: '4000' } })[0]).toMatchObject({ keyword: 'type' });
  });

  it('a nullable field may be left out: it is then null', () => {
    const v = accepted('network_add_interfaces_vm', { ...VM, iface_model: 'virtio', iface_bridge: 'vmbr0', iface_firewall: true });
    expect(v).toMatchObject({ iface_trunks: null, iface_tag: null, iface_rate: null, iface_queues: null, iface_mtu: null, iface_link_down: null, iface_macaddr: null });
  });
});

describe('VM ids: one canonical number from validation onwards (the lock and Ansible see the same)', () => {
  it('a digit string or a number, with leading zeros, is that number', () => {
    for (const v of ['4001', 4001, '0000000000004001', '04001']) expect(accepted('vm_start', { ...VM, vm_id: v }).vm_id).toBe(4001);
    expect(accepted('mass_vm_stop_force', { proxmox_node: 'pve01', vm_ids: ['4001', 4002, '0004003'] }).vm_ids).toEqual([4001, 4002, 4003]);
    expect(accepted('vm_clone', { ...VM, vm_id: '9221', vm_new_id: '02000', vm_name: 'x' })).toMatchObject({ vm_id: 9221, vm_new_id: 2000 });
  });

  it('spaces, signs, fractions, paths and ids outside Proxmox VE\'s range are refused', () => {
    for (const v of [' 4001', '4001 ', '+4001', '-4001', '4001.0', 4001.5, '4001/../../version', 'abc', '', '99', 99, 1_000_000_000, '9'.repeat(30)]) {
      refused('vm_start', { ...VM, vm_id: v });
      refused('mass_vm_stop_force', { proxmox_node: 'pve01', vm_ids: [v] });
    }
  });
});

describe('the 422 answer', () => {
  let app: Awaited<ReturnType<typeof createApp>>;
  beforeAll(async () => {
    app = await createApp(testConfig(), { logger: false });
  });
  afterAll(() => app.close());

  it('echoes the input as sent: no defaults added, no coercion applied', async () => {
    const r = await app.inject({ method: 'POST', url: '/v0/admin/proxmox/vms/vm_id/create', headers: { 'content-type': 'application/json' }, payload: '{"proxmox_node":"pve01","vm_id":"1","vm_name":"x","vm_cpu":"host","vm_cores":"1","vm_sockets":1,"vm_memory":64}' });
    expect(r.statusCode).toBe(422);
    const detail = r.json().detail as Array<{ field: string; input: unknown }>;
    expect(detail.map((d) => d.field)).toEqual(['body.vm_id', 'body.vm_memory']);
    expect(detail[0]!.input).toBe('1');
    // a missing field's input is the body as the caller sent it
    const missing = await app.inject({ method: 'POST', url: '/v0/admin/proxmox/vms/vm_id/start', headers: { 'content-type': 'application/json' }, payload: '{"vm_id":"4001"}' });
    expect(missing.json().detail).toEqual([{ field: 'body.proxmox_node', msg: 'Field required', type: 'missing', input: { vm_id: '4001' }, ctx: null }]);
  });
});
