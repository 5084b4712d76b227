import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

/** Storage, firewall and network routes end to end on the simulator. */

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => s.close());

describe('storage', () => {
  it('storage_list, storage_list_iso, storage_list_template', async () => {
    const storages = await s.ok('storage_list');
    expect(storages.map((x: any) => x.storage_name)).toEqual(['local', 'local-lvm']);
    expect(storages[0]).toMatchObject({ storage_type: expect.any(String), storage_content_types: expect.stringContaining('iso') });
    expect(typeof storages[0].storage_space_total).toBe('number');
    const isos = await s.ok('storage_list_iso');
    expect(isos.map((x: any) => x.iso_vol_id)).toContain('local:iso/debian-12.10.0-amd64-netinst.iso');
    expect(isos.every((i: any) => String(i.iso_vol_id).startsWith('local:iso/') && i.iso_content === 'iso' && i.storage_name === 'local')).toBe(true);
    const templates = await s.ok('storage_list_template');
    expect(templates.map((x: any) => x.template_vol_id)).toContain('local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst');
    expect(templates.every((t: any) => String(t.template_vol_id).startsWith('local:vztmpl/'))).toBe(true);
  });

  it('storage_download_iso has the node fetch the file into the storage', async () => {
    await s.ok('storage_download_iso');
    expect(s.sim.cluster.findVolume('px-testing', 'local:iso/debian-12.iso')).toBeDefined();
  });
});

describe('firewall', () => {
  const fw = () => s.guest(1000)!.firewall;

  it('aliases: add, list, delete', async () => {
    await s.ok('firewall_vm_add_iptables_alias');
    expect(fw().aliases).toEqual([{ name: 'web-net', cidr: '192.168.144.0/24', comment: 'team web subnet' }]);
    const list = await s.ok('firewall_vm_list_iptables_alias');
    expect(list).toEqual([expect.objectContaining({ vm_fw_alias_name: 'web-net', vm_fw_alias_cidr: '192.168.144.0/24' })]);
    await s.ok('firewall_vm_delete_iptables_alias');
    expect(fw().aliases).toEqual([]);
    expect(await s.ok('firewall_vm_list_iptables_alias')).toEqual([]);
  });

  it('rules: apply, list, delete', async () => {
    await s.ok('firewall_vm_apply_iptables_rule');
    await s.ok('firewall_vm_apply_iptables_rule', { proxmox_node: 'px-testing', vm_id: '1000', vm_fw_action: 'DROP', vm_fw_type: 'in', vm_fw_enable: 1, vm_fw_proto: 'tcp', vm_fw_dport: '80' });
    expect(fw().rules.map((r) => r.action)).toEqual(['DROP', 'ACCEPT']);
    const list = await s.ok('firewall_vm_list_iptables_rule');
    expect(list.map((r: any) => [r.vm_fw_pos, r.vm_fw_action])).toEqual([[0, 'DROP'], [1, 'ACCEPT']]);
    await s.ok('firewall_vm_delete_iptables_rule');
    expect(fw().rules.map((r) => [r.action, r.dport])).toEqual([['ACCEPT', '22']]);
  });

  it('enable and disable at VM, node and datacenter level', async () => {
    await s.ok('firewall_vm_enable');
    expect(fw().options.enable).toBe(1);
    await s.ok('firewall_vm_disable');
    expect(fw().options.enable).toBe(0);
    await s.ok('firewall_node_enable');
    expect(s.sim.cluster.findNode('px-testing')!.firewall.options.enable).toBe(1);
    await s.ok('firewall_node_disable');
    expect(s.sim.cluster.findNode('px-testing')!.firewall.options.enable).toBe(0);
    // a truthy proxmox_api_host is forwarded to the role (it must reach the same simulator)
    await s.ok('firewall_dc_enable', { proxmox_api_host: s.sim.apiHost });
    expect(s.sim.state.firewall.options.enable).toBe(1);
    await s.ok('firewall_dc_disable', { proxmox_node: 'px-testing', proxmox_api_host: '' });
    expect(s.sim.state.firewall.options.enable).toBe(0);
  });
});

describe('network', () => {
  it('VM NICs: add, list, delete (POST and DELETE)', async () => {
    await s.ok('network_add_interfaces_vm');
    expect(String(s.config(1000).net1)).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0,firewall=1$/);
    const list = await s.ok('network_list_interfaces_vm');
    expect(list.map((n: any) => n.vm_network_device)).toEqual(['net0', 'net1']);
    await s.ok('network_delete_interfaces_vm');
    expect(s.config(1000).net1).toBeUndefined();
    const nullable = { iface_trunks: null, iface_tag: null, iface_rate: null, iface_queues: null, iface_mtu: null, iface_link_down: null, iface_firewall: null };
    // the deployer UI's spellings: numeric vm_id, iface_id, iface_mac
    await s.ok('network_add_interfaces_vm', { proxmox_node: 'px-testing', vm_id: 1000, iface_id: 2, iface_model: 'e1000', iface_bridge: 'vmbr142', iface_mac: 'BC:24:11:AA:BB:CC', ...nullable });
    expect(s.config(1000).net2).toBe('e1000=BC:24:11:AA:BB:CC,bridge=vmbr142');
    await s.ok('network_delete_interfaces_vm_by_delete', { proxmox_node: 'px-testing', vm_id: '1000', vm_vmnet_id: 2 });
    expect(s.config(1000).net2).toBeUndefined();
  });

  it('node interfaces: add, list (both paths), delete (POST and DELETE)', async () => {
    const node = () => s.sim.cluster.findNode('px-testing')!;
    const ifaces = () => (node().pendingNetwork ?? node().network).map((i) => i.iface);
    await s.ok('network_add_interfaces_node');
    // applied at once by default: a VM can start on the new bridge
    expect(node().pendingNetwork).toBeNull();
    expect(node().network.find((i) => i.iface === 'vmbr150')).toMatchObject({ type: 'bridge', address: '192.168.150.1' });
    for (const op of ['network_list_interfaces_node', 'network_list_interfaces_node_single_slash']) {
      const list = await s.ok(op);
      expect(list.map((i: any) => i.iface)).toEqual(node().network.map((i) => i.iface).sort());
      expect(list.find((i: any) => i.iface === 'vmbr0')).toMatchObject({ iface_type: 'bridge', ip_settings_address: '192.168.1.10', iface_bridge_ports: 'eno1' });
      expect(list.map((i: any) => i.iface)).toContain('vmbr150');
    }
    await s.ok('network_delete_interfaces_node');
    expect(ifaces()).not.toContain('vmbr150');
    await s.ok('network_add_interfaces_node', { proxmox_node: 'px-testing', iface_name: 'vmbr151', iface_type: 'bridge', iface_autostart: 1, iface_address: '192.168.151.1/24', iface_comments: 'team 2' });
    expect(node().network.find((i) => i.iface === 'vmbr151')).toMatchObject({ cidr: '192.168.151.1/24', comments: 'team 2' });
    await s.ok('network_delete_interfaces_node_by_delete', { proxmox_node: 'px-testing', iface_name: 'vmbr151' });
    expect(ifaces()).not.toContain('vmbr151');
    // apply: false stages the change only, as Proxmox does without "Apply Configuration"
    await s.ok('network_add_interfaces_node', { proxmox_node: 'px-testing', iface_name: 'vmbr152', iface_type: 'bridge', apply: false });
    expect((node().pendingNetwork ?? []).map((i) => i.iface)).toContain('vmbr152');
    expect(node().network.map((i) => i.iface)).not.toContain('vmbr152');
  });
});
