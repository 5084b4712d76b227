import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import type { Engine, RunResult } from '../../src/engine/engine.js';
import { extractResult, logLines } from '../../src/engine/extract.js';
import { toUnsafeYaml } from '../../src/engine/extravars.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { Guest } from '../../src/simulator/model/types.js';
import { tempDir, testEngine } from '../helpers.js';

/**
 * Every action of the Proxmox controller role, run for real (ansible-runner through the Engine)
 * against the Proxmox simulator: the published result and the simulator's state afterwards.
 * Actions are batched into one playbook run per topic (one include_role per step, with the step's
 * variables written as !unsafe YAML as the API writes its extra vars); a few runs go through
 * playbooks/generic.yml with extra vars exactly as the API does. Batches touch disjoint guests so
 * that they can run two at a time.
 */

const ROLE = 'range42-ansible_roles-proxmox_controller';
const NODE = 'px-testing';
const GENERIC = path.join(REPO_ROOT, 'playbooks', 'generic.yml');

type Vars = Record<string, unknown>;
type Row = Record<string, unknown>;

let sim: Simulator;
let engine: Engine;
let inventory: string;
let workDir: string;
let batchCount = 0;

function writeInventory(): string {
  const file = path.join(workDir, 'hosts.yml');
  const host = {
    ansible_connection: 'local',
    ansible_python_interpreter: '/usr/bin/python3',
    proxmox_api_host: sim.apiHost,
    proxmox_node: NODE,
    proxmox_api_user: sim.token.user,
    proxmox_api_token_id: sim.token.tokenId,
    proxmox_api_token_secret: sim.token.secret,
  };
  fs.writeFileSync(file, JSON.stringify({ all: { children: { proxmox: { hosts: { [NODE]: host } } } } }));
  return file;
}

/**
 * One playbook run with one include_role per step, in order. It stops at the first failing step,
 * unless `rescue` is set: then each step runs in a block whose rescue lets the play go on.
 */
async function runSteps(steps: Vars[], opts: { rescue?: boolean } = {}): Promise<RunResult> {
  const tasks = steps.map((vars, i) => {
    const step =
      `- name: step ${i + 1} ${String(vars.proxmox_vm_action)}\n` +
      `  ansible.builtin.include_role:\n    name: ${ROLE}\n` +
      `  vars: ${toUnsafeYaml(vars).trim()}\n`;
    const indent = (text: string, n: number) => text.replace(/^(?=.)/gm, ' '.repeat(n));
    if (!opts.rescue) return indent(step, 4);
    return `    - block:\n${indent(step, 8)}      rescue:\n        - ansible.builtin.debug:\n            msg: step ${i + 1} failed\n`;
  });
  const playbook = path.join(workDir, `batch-${++batchCount}.yml`);
  fs.writeFileSync(playbook, `- name: role test batch\n  hosts: proxmox\n  gather_facts: false\n  tasks:\n${tasks.join('')}`);
  const t0 = Date.now();
  const r = await engine.run({ playbook, inventory, limit: 'proxmox', label: `role-test-${batchCount}` });
  if (process.env.ROLE_TEST_TIMING) console.log(`batch ${steps.length} steps: ${r.durationMs} ms run, ${Date.now() - t0} ms wall, ${r.events.length} events`);
  return r;
}

/** One action through playbooks/generic.yml with extra vars, as the API's routes run it. */
function runGeneric(action: string, vars: Vars = {}, timeoutMs?: number): Promise<RunResult> {
  return engine.run({
    playbook: GENERIC, inventory, limit: 'proxmox',
    extravars: { proxmox_vm_action: action, hosts: 'proxmox', ...vars }, label: action, timeoutMs,
  });
}

const published = (r: RunResult, action: string) => extractResult(r.events, action);
const one = (r: RunResult, action: string): Row => {
  const values = published(r, action);
  expect(values, `${action} published ${values.length} values`).toHaveLength(1);
  return values[0] as Row;
};
const list = (r: RunResult, action: string): Row[] => one(r, action) as unknown as Row[];
const log = (r: RunResult) => logLines(r.events).join('\n');
const expectOk = (r: RunResult) => expect(r.rc, log(r).split('\n').slice(-25).join('\n')).toBe(0);

const guest = (vmid: number): Guest | undefined => sim.state.guests.find((g) => g.vmid === vmid);
const mustGuest = (vmid: number): Guest => {
  const g = guest(vmid);
  expect(g, `guest ${vmid} exists`).toBeDefined();
  return g!;
};
const node = () => sim.state.nodes.find((n) => n.name === NODE)!;
/** Requests the role sent, as the simulator logged them (path already URL-decoded). */
const requests = (method: string, pathPart: string | RegExp) =>
  sim.requestLog.filter((q) => q.method === method && (typeof pathPart === 'string' ? q.path.includes(pathPart) : pathPart.test(q.path)));

/** Hook and test timeout: runs queue behind each other on a loaded 2-core machine. */
const SLOW = 240_000;

const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3+/xyz+k9Q alice@range42';

beforeAll(async () => {
  sim = await startSimulator({ port: 0, taskDurationMs: 0, unauthorizedDelayMs: 0 });
  workDir = tempDir('r42-role-');
  inventory = writeInventory();
  engine = testEngine({ env: { PROJECT_ROOT_DIR: REPO_ROOT, RUNNER_MAX_CONCURRENT: '2' } });
});

afterAll(async () => {
  if (process.env.ROLE_TEST_TIMING) {
    const u = process.cpuUsage();
    console.log(`test process CPU: ${(u.user / 1e6).toFixed(1)} s user, ${(u.system / 1e6).toFixed(1)} s sys; ${sim.requestLog.length} requests logged`);
  }
  await engine?.close();
  await sim?.close();
});

// ---------------------------------------------------------------------------------------------

// The read actions, the power actions and the VM snapshots are checked through the API, published
// values and Proxmox requests alike (tests/e2e/vms.test.ts, config.test.ts, infra.test.ts): here
// only the reads no route runs, and the empty-list shape.
describe('read actions no route runs (one run, before anything changes)', () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await runSteps([
      { proxmox_vm_action: 'firewall_vm_list_iptables_rule', vm_id: '3001' },
      { proxmox_vm_action: 'firewall_vm_list_iptables_alias', vm_id: '3001' },
      { proxmox_vm_action: 'network_list_node_sdn_zones' },
    ]);
  });

  it('the run succeeds', () => {
    expectOk(r);
  });

  it('empty lists are published as []', () => {
    expect(mustGuest(3001).firewall.rules).toEqual([]);
    expect(published(r, 'firewall_vm_list_iptables_rule')).toEqual([[]]);
    expect(published(r, 'firewall_vm_list_iptables_alias')).toEqual([[]]);
  });

  it('network_list_node_sdn_zones publishes a list', () => {
    expect(Array.isArray(one(r, 'network_list_node_sdn_zones'))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// The mutation batches run two at a time (they touch different guests); each describe awaits its
// own batch. Started by the first describe that needs them, after the read batch above.

let batches: Record<string, Promise<RunResult>> | null = null;
function startBatches(): Record<string, Promise<RunResult>> {
  batches ??= {
    create: runSteps([
      { proxmox_vm_action: 'vm_create', vm_id: '4100', vm_name: 'lab-web-01', vm_cpu: 'host', vm_cores: 2, vm_sockets: 1, vm_memory: 2048, vm_disk_size: 20, vm_iso: 'local:iso/ubuntu-24.04.2-live-server-amd64.iso' },
      { proxmox_vm_action: 'vm_create', vm_id: '4100', vm_name: 'lab-web-01', vm_cores: 2, vm_memory: 2048 },
      { proxmox_vm_action: 'vm_clone', vm_id: '9221', vm_new_id: '4101', vm_name: 'lab-web-02', vm_description: 'cloned from template' },
      { proxmox_vm_action: 'template_convert_vm_to_template', vm_id: '4100', proxmox_storage: 'local-lvm' },
      { proxmox_vm_action: 'template_convert_vm_to_template', vm_id: '4100', proxmox_storage: 'local-lvm' },
    ]),
    config: runSteps([
      { proxmox_vm_action: 'vm_set_tag', vm_id: '3001', vm_tag_name: 'Lab,web' },
      { proxmox_vm_action: 'vm_set_name', vm_id: '3001', vm_name: 'student-box-renamed' },
      { proxmox_vm_action: 'vm_set_description', vm_id: '3001', vm_description: 'box of team 1' },
      { proxmox_vm_action: 'vm_set_cpu', vm_id: '3001', vm_cores: 4 },
      { proxmox_vm_action: 'vm_set_memory', vm_id: '3001', vm_memory: 4096 },
      {
        proxmox_vm_action: 'cloudinit_set_variables', vm_id: '3001', vm_ci_user: 'alice', vm_ci_password: 'S3cret-pw', vm_ci_ssh_key: SSH_KEY,
        vm_ci_ip: '192.168.143.160', vm_ci_netmask: '24', vm_ci_ip_gw: '192.168.143.1', vm_ci_dns_domain: 'lab.local', vm_ci_dns_ips: '1.1.1.1 9.9.9.9',
      },
    ]),
    lxc: runSteps([
      {
        proxmox_vm_action: 'lxc_create', vm_id: '5100', lxc_name: 'ct-tools', lxc_template: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
        lxc_password: 'ct-Passw0rd', lxc_ssh_pubkeys: SSH_KEY, lxc_cores: 1, lxc_memory: 512, proxmox_storage: 'local-lvm', lxc_disk_size: 4, lxc_bridge: 'vmbr0', lxc_ip: '10.0.0.5/24', lxc_gateway: '10.0.0.1',
      },
      { proxmox_vm_action: 'lxc_stop', vm_id: '5100' },
      { proxmox_vm_action: 'lxc_start', vm_id: '5100' },
      { proxmox_vm_action: 'lxc_pause', vm_id: '5100' },
      { proxmox_vm_action: 'lxc_resume', vm_id: '5100' },
      { proxmox_vm_action: 'lxc_stop_force', vm_id: '5100' },
      { proxmox_vm_action: 'lxc_set_tag', vm_id: '5100', lxc_tag_name: 'tools' },
      { proxmox_vm_action: 'snapshot_lxc_create', vm_id: '5100', lxc_name: 'ct-tools', lxc_snapshot_name: 'base', lxc_snapshot_description: 'fresh' },
      { proxmox_vm_action: 'snapshot_lxc_revert', vm_id: '5100', lxc_name: 'ct-tools', lxc_snapshot_name: 'base' },
      { proxmox_vm_action: 'snapshot_lxc_list', vm_id: '5100' },
      { proxmox_vm_action: 'snapshot_lxc_delete', vm_id: '5100', lxc_name: 'ct-tools', lxc_snapshot_name: 'base' },
      { proxmox_vm_action: 'lxc_clone', vm_id: '5100', vm_new_id: '5101', lxc_name: 'ct-tools-2', lxc_description: 'copy' },
      { proxmox_vm_action: 'lxc_delete', vm_id: '5101', lxc_name: 'ct-tools-2' },
    ]),
    firewall: runSteps([
      { proxmox_vm_action: 'firewall_dc_enable' },
      { proxmox_vm_action: 'firewall_node_enable' },
      { proxmox_vm_action: 'firewall_vm_enable', vm_id: '1020', vm_name: 'admin-deployer-api-gateway' },
      { proxmox_vm_action: 'firewall_vm_disable', vm_id: '4000', vm_name: 'vuln-box-00' },
      { proxmox_vm_action: 'firewall_vm_apply_iptables_rule', vm_id: '1020', vm_fw_action: 'ACCEPT', vm_fw_type: 'in', vm_fw_proto: 'tcp', vm_fw_dport: '22', vm_fw_enable: 1, vm_fw_comment: 'ssh' },
      { proxmox_vm_action: 'firewall_vm_apply_iptables_rule', vm_id: '1020', vm_fw_action: 'DROP', vm_fw_type: 'in', vm_fw_proto: 'udp', vm_fw_dport: '53', vm_fw_enable: 0, vm_fw_source: '10.0.0.0/8', vm_fw_log: 'info' },
      { proxmox_vm_action: 'firewall_vm_apply_iptables_rule', vm_id: '1020', vm_fw_action: 'REJECT', vm_fw_type: 'out', vm_fw_dport: '25', vm_fw_enable: 1, vm_fw_comment: 'to-delete' },
      { proxmox_vm_action: 'firewall_vm_delete_iptables_rule', vm_id: '1020', vm_fw_pos: 0 },
      { proxmox_vm_action: 'firewall_vm_list_iptables_rule', vm_id: '1020' },
      { proxmox_vm_action: 'firewall_vm_apply_iptables_rule', vm_id: '3001', vm_fw_action: 'ACCEPT', vm_fw_type: 'in', vm_fw_dport: '443', vm_fw_enable: 1, vm_fw_comment: 'A' },
      { proxmox_vm_action: 'firewall_vm_apply_iptables_rule', vm_id: '3001', vm_fw_action: 'ACCEPT', vm_fw_type: 'in', vm_fw_dport: '80', vm_fw_enable: 1, vm_fw_comment: 'B' },
      { proxmox_vm_action: 'firewall_vm_apply_iptables_rule', vm_id: '3001', vm_fw_action: 'DROP', vm_fw_type: 'in', vm_fw_dport: '8080', vm_fw_enable: 1, vm_fw_comment: 'C', vm_fw_pos: 1 },
      { proxmox_vm_action: 'firewall_vm_add_iptables_alias', vm_id: '1020', vm_fw_alias_name: 'web-net', vm_fw_alias_cidr: '192.168.144.0/24', vm_fw_alias_comment: 'team web subnet' },
      { proxmox_vm_action: 'firewall_vm_list_iptables_alias', vm_id: '1020' },
      { proxmox_vm_action: 'firewall_vm_delete_iptables_alias', vm_id: '1020', vm_fw_alias_name: 'web-net' },
      { proxmox_vm_action: 'firewall_vm_enable_default_ssh_rules', vm_id: '4001' },
    ]),
    network: runSteps([
      { proxmox_vm_action: 'network_add_interfaces_vm', vm_id: '1000', vm_vmnet_id: 3, iface_model: 'e1000', iface_bridge: 'vmbr140', iface_firewall: true, iface_tag: 42, iface_mtu: 1400 },
      { proxmox_vm_action: 'network_add_interfaces_vm', vm_id: 1000, iface_model: 'virtio', iface_bridge: 'vmbr0', iface_macaddr: 'BC:24:11:AA:BB:CC', iface_link_down: false },
      { proxmox_vm_action: 'network_delete_interfaces_vm', vm_id: '1000', vm_vmnet_id: 3 },
      { proxmox_vm_action: 'network_list_interfaces_vm', vm_id: '1000' },
      { proxmox_vm_action: 'network_add_interfaces_node', iface_name: 'vmbr150', iface_type: 'bridge', iface_autostart: 1, ip_address: '192.168.150.1', ip_netmask: '255.255.255.0', iface_comments: 'team 1' },
      { proxmox_vm_action: 'network_add_interfaces_node', iface_name: 'vmbr151', iface_type: 'bridge', iface_autostart: 1, ip_address: '192.168.151.1', ip_netmask: '/24' },
      { proxmox_vm_action: 'network_delete_interfaces_node', iface_name: 'vmbr150' },
      // repeated: an existing interface, a netN with the same settings (its MAC aside)
      { proxmox_vm_action: 'network_add_interfaces_node', iface_name: 'vmbr151', iface_type: 'bridge', iface_autostart: 1, ip_address: '192.168.151.1', ip_netmask: '/24' },
      { proxmox_vm_action: 'network_add_interfaces_vm', vm_id: 1000, vm_vmnet_id: 0, iface_model: 'virtio', iface_bridge: 'vmbr142', iface_firewall: true },
      // container 200 (running): NICs and configuration
      { proxmox_vm_action: 'network_add_interfaces_lxc', vm_id: 200, iface_bridge: 'vmbr140', iface_firewall: true, iface_tag: 7 },
      { proxmox_vm_action: 'network_add_interfaces_lxc', vm_id: 200, vm_vmnet_id: 1, iface_bridge: 'vmbr140', iface_firewall: true, iface_tag: 7 },
      { proxmox_vm_action: 'network_list_interfaces_lxc', vm_id: 200 },
      { proxmox_vm_action: 'network_delete_interfaces_lxc', vm_id: 200, vm_vmnet_id: 1 },
      { proxmox_vm_action: 'lxc_set_cpu', vm_id: 200, lxc_cores: 2 },
      { proxmox_vm_action: 'lxc_set_memory', vm_id: 200, lxc_memory: 768 },
      { proxmox_vm_action: 'lxc_set_name', vm_id: 200, lxc_name: 'ct-dns-2' },
      { proxmox_vm_action: 'lxc_set_description', vm_id: 200, lxc_description: 'resolver' },
      { proxmox_vm_action: 'lxc_get_config_cpu', vm_id: 200 },
      { proxmox_vm_action: 'lxc_get_config_ram', vm_id: 200 },
      { proxmox_vm_action: 'lxc_get_config', vm_id: 200 },
    ]),
    cluster: runSteps([
      { proxmox_vm_action: 'storage_download_iso', proxmox_storage: 'local', iso_file_content_type: 'iso', iso_file_name: 'alpine-3.20.iso', iso_url: 'https://dl-cdn.example.org/alpine-3.20.iso' },
      { proxmox_vm_action: 'cluster_set_tag', proxmox_cluster_color_mapping: 'shape=circle,ordering=config' },
    ]),
  };
  return batches;
}

describe('VM create, clone, template conversion (vm_delete: in the last batch)', () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await startBatches().create!;
  }, SLOW);

  it('the run succeeds', () => expectOk(r));

  it('vm_create creates the VM with disk, ISO and network, then skips it when it exists', () => {
    const created = published(r, 'vm_create') as Row[];
    expect(created.map((c) => c.vm_id)).toEqual([4100]); // the second vm_create of 4100 published nothing
    expect(created[0]).toMatchObject({
      action: 'vm_create', source: 'proxmox', proxmox_node: NODE, vm_id: 4100, vm_name: 'lab-web-01', vm_cpu: 'host', vm_cores: 2, vm_sockets: 1, vm_memory: 2048,
      vm_scsi0: 'local-lvm:20,format=raw', ide2: 'local:iso/ubuntu-24.04.2-live-server-amd64.iso,media=cdrom', boot: 'order=ide2;scsi0', vm_net0: 'virtio,bridge=vmbr0',
      raw_data: { data: expect.stringMatching(/^UPID:px-testing:.*:qmcreate:4100:/) },
    });
    const cfg = mustGuest(4100).config;
    expect(cfg).toMatchObject({ name: 'lab-web-01', cores: 2, sockets: 1, cpu: 'host' });
    expect(String(cfg.memory)).toBe('2048');
    expect(String(cfg.net0)).toMatch(/^virtio=BC:24:11(:[0-9A-F]{2}){3},bridge=vmbr0$/);
    expect(String(cfg.scsi0)).toMatch(/^local-lvm:(vm|base)-4100-disk-0.*size=20G/); // base-: converted to a template below
    expect(String(cfg.ide2)).toMatch(/^local:iso\/ubuntu-24.04.2-live-server-amd64.iso,media=cdrom/);
    expect(requests('POST', /^\/nodes\/px-testing\/qemu$/).filter((q) => q.params.vmid === 4100 || q.params.vmid === '4100')).toHaveLength(1);
  });

  it('vm_clone publishes the new id and the VM exists with the new name and description', () => {
    expect(one(r, 'vm_clone')).toMatchObject({
      action: 'vm_clone', vm_id: 4101, vm_id_clone_from: 9221, vm_name: 'lab-web-02', vm_description: 'cloned from template',
      raw_info: { data: expect.stringMatching(/^UPID:.*:qmclone:9221:/) },
    });
    const clone = mustGuest(4101);
    expect(clone.config).toMatchObject({ name: 'lab-web-02', description: 'cloned from template' });
    expect(clone.config.template).toBeUndefined();
    expect(clone.config.lock).toBeUndefined();
    expect(String(clone.config.net0)).not.toBe(String(mustGuest(9221).config.net0));
  });

  it('template_convert_vm_to_template converts once, then publishes nothing', () => {
    expect(published(r, 'template_convert_vm_to_template')).toEqual([
      expect.objectContaining({ action: 'template_convert_vm_to_template', vm_id: 4100, proxmox_storage: 'local-lvm', status: 'template created' }),
    ]);
    expect(Number(mustGuest(4100).config.template)).toBe(1);
    expect(requests('POST', '/qemu/4100/template')).toHaveLength(1);
  });
});

describe('VM configuration and cloud-init (VM 3001)', () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await startBatches().config!;
  }, SLOW);

  it('the run succeeds', () => expectOk(r));

  it('vm_set_* publish the value and change the configuration', () => {
    expect(one(r, 'vm_set_tag')).toEqual({ action: 'vm_set_tag', source: 'proxmox', proxmox_node: NODE, vm_id: 3001, tags: 'Lab,web' });
    expect(one(r, 'vm_set_name')).toMatchObject({ name: 'student-box-renamed' });
    expect(one(r, 'vm_set_description')).toMatchObject({ description: 'box of team 1' });
    expect(one(r, 'vm_set_cpu')).toMatchObject({ action: 'vm_set_cpu', cores: 4 });
    expect(one(r, 'vm_set_memory')).toMatchObject({ action: 'vm_set_memory', memory: 4096 });
    const g = mustGuest(3001);
    const cfg = { ...g.config, ...g.pending };
    expect(cfg).toMatchObject({ tags: 'lab;web', name: 'student-box-renamed', description: 'box of team 1' });
    expect(Number(cfg.cores)).toBe(4);
    expect(String(cfg.memory)).toBe('4096');
  });

  it('cloudinit_set_variables sets the cloud-init keys (ssh key decoded once) and redacts secrets', () => {
    const ci = one(r, 'cloudinit_set_variables');
    expect(ci).toMatchObject({
      action: 'cloudinit_set_variables', vm_id: 3001, template_status: 'regenerated', ciuser: 'alice', cipassword: 'redacted', sshkeys: 'redacted',
      vm_ci_ip: '192.168.143.160', vm_ci_ip_gw: '192.168.143.1', vm_ci_netmask: '24', vm_ci_dns_domain: 'lab.local', vm_ci_dns_ips: '1.1.1.1 9.9.9.9',
    });
    expect(JSON.stringify(r.events)).not.toContain('S3cret-pw');
    const g = mustGuest(3001);
    const cfg = { ...g.config, ...g.pending };
    expect(cfg).toMatchObject({ ciuser: 'alice', ipconfig0: 'ip=192.168.143.160/24,gw=192.168.143.1', searchdomain: 'lab.local', nameserver: '1.1.1.1 9.9.9.9' });
    expect(decodeURIComponent(String(cfg.sshkeys))).toBe(SSH_KEY);
    expect(requests('PUT', '/qemu/3001/cloudinit')).toHaveLength(1);
  });
});

describe('containers (CT 5100)', () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await startBatches().lxc!;
  }, SLOW);

  it('the run succeeds', () => expectOk(r));

  it('lxc_create creates the container without publishing secrets', () => {
    expect(one(r, 'lxc_create')).toMatchObject({
      action: 'lxc_create', vm_id: 5100, lxc_name: 'ct-tools', lxc_cores: 1, lxc_memory: 512, lxc_os_template: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
      lxc_password: 'redacted', lxc_ssh_public_keys: 'redacted', lxc_rootfs: 'local-lvm:4', lxc_net0: 'name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1',
    });
    expect(JSON.stringify(r.events)).not.toContain('ct-Passw0rd');
    const ct = mustGuest(5100);
    expect(ct.type).toBe('lxc');
    expect(ct.config.hostname).toBe('ct-tools');
    expect(String(ct.config.rootfs)).toMatch(/^local-lvm:/);
    expect(String(ct.config.net0)).toMatch(/name=eth0/);
  });

  it('power actions publish the container state; it ends stopped', () => {
    expect(one(r, 'lxc_stop')).toMatchObject({ action: 'lxc_stop', vm_id: 5100, lxc_name: 'ct-tools', lxc_status: 'stopped' });
    expect(one(r, 'lxc_start')).toMatchObject({ lxc_status: 'running' });
    expect(one(r, 'lxc_pause')).toMatchObject({ action: 'lxc_pause' });
    expect(one(r, 'lxc_resume')).toMatchObject({ lxc_status: 'running' });
    expect(one(r, 'lxc_stop_force')).toMatchObject({ lxc_status: 'stopped' });
    expect(one(r, 'lxc_stop_force')).not.toHaveProperty('vm_qmpstatus');
    expect(mustGuest(5100).status).toBe('stopped');
  });

  it('lxc_set_tag sets the tags', () => {
    expect(one(r, 'lxc_set_tag')).toMatchObject({ action: 'lxc_set_tag', tags: 'tools' });
    expect(mustGuest(5100).config.tags).toBe('tools');
  });

  it('container snapshots: create, revert, list, delete', () => {
    expect(one(r, 'snapshot_lxc_create')).toMatchObject({ action: 'snapshot_lxc_create', vm_id: 5100, lxc_name: 'ct-tools', lxc_snapshot_name: 'base', lxc_snapshot_description: 'fresh' });
    expect(one(r, 'snapshot_lxc_revert')).toMatchObject({ vm_id: 5100, lxc_name: 'ct-tools', lxc_snapshot_name: 'base' });
    expect(list(r, 'snapshot_lxc_list').map((s) => [s.lxc_snapshot_name, s.lxc_snapshot_description])).toEqual([['base', 'fresh'], ['current', 'You are here!']]);
    expect(one(r, 'snapshot_lxc_delete')).toMatchObject({ lxc_snapshot_name: 'base' });
    expect(requests('POST', '/lxc/5100/snapshot/base/rollback')).toHaveLength(1);
    expect(mustGuest(5100).snapshots).toEqual([]);
  });

  it('lxc_clone makes the copy (with its hostname) and lxc_delete removes it', () => {
    expect(one(r, 'lxc_clone')).toMatchObject({ action: 'lxc_clone', vm_id: 5101, vm_id_clone_from: 5100, lxc_name: 'ct-tools-2', lxc_description: 'copy', raw_info: { data: expect.stringMatching(/^UPID:.*:5100:/) } });
    expect(requests('POST', '/lxc/5100/clone')[0]!.params).toMatchObject({ newid: 5101, hostname: 'ct-tools-2', description: 'copy' });
    expect(one(r, 'lxc_delete')).toMatchObject({ action: 'lxc_delete', vm_id: 5101, lxc_name: 'ct-tools-2' });
    expect(requests('DELETE', /^\/nodes\/px-testing\/lxc\/5101$/).map((q) => q.status)).toEqual([200]);
    expect(guest(5101)).toBeUndefined();
  });
});

describe('firewall', () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await startBatches().firewall!;
  }, SLOW);

  it('the run succeeds', () => expectOk(r));

  it('enable/disable at datacenter, node and VM level', () => {
    expect(one(r, 'firewall_dc_enable')).toEqual({ action: 'firewall_dc_enable', source: 'proxmox', proxmox_node: NODE, dc_firewall: 'enabled' });
    expect(one(r, 'firewall_node_enable')).toMatchObject({ node_firewall: 'enabled' });
    expect(one(r, 'firewall_vm_enable')).toEqual({ action: 'firewall_vm_enable', source: 'proxmox', proxmox_node: NODE, vm_id: 1020, vm_name: 'admin-deployer-api-gateway', vm_firewall: 'enabled' });
    expect(one(r, 'firewall_vm_disable')).toMatchObject({ vm_id: 4000, vm_firewall: 'disabled' });
    expect(Number(sim.state.firewall.options.enable)).toBe(1);
    expect(Number(node().firewall.options.enable)).toBe(1);
    expect(Number(mustGuest(1020).firewall.options.enable)).toBe(1);
    expect(Number(mustGuest(4000).firewall.options.enable)).toBe(0);
  });

  it('rules: new ones go on top, delete renumbers, the list shows them in order', () => {
    const applied = published(r, 'firewall_vm_apply_iptables_rule') as Row[];
    expect(applied[0]).toEqual({
      action: 'firewall_vm_apply_iptables_rule', source: 'proxmox', proxmox_node: NODE, vm_id: 1020,
      vm_fw_action: 'ACCEPT', vm_fw_type: 'in', vm_fw_proto: 'tcp', vm_fw_dport: '22', vm_fw_enable: 1, vm_fw_comment: 'ssh',
    });
    expect(applied[1]).toMatchObject({ vm_fw_source: '10.0.0.0/8', vm_fw_log: 'info', vm_fw_enable: 0 });
    expect(applied[5]).toMatchObject({ vm_id: 3001, vm_fw_comment: 'C', vm_fw_pos: 1 });
    expect(one(r, 'firewall_vm_delete_iptables_rule')).toEqual({ action: 'firewall_vm_delete_iptables_rule', source: 'proxmox', proxmox_node: NODE, vm_id: 1020, vm_fw_pos: 0 });
    // [REJECT 25, DROP 53, ACCEPT 22] before the delete of position 0:
    expect(mustGuest(1020).firewall.rules.map((x) => x.dport)).toEqual(['53', '22']);
    const rules = list(r, 'firewall_vm_list_iptables_rule');
    expect(rules.map((x) => [x.vm_fw_pos, x.vm_fw_dport, x.vm_fw_action])).toEqual([[0, '53', 'DROP'], [1, '22', 'ACCEPT']]);
    expect(rules[0]).toEqual({
      action: 'firewall_vm_list_iptables_rule', source: 'proxmox', proxmox_node: NODE, vm_id: 1020, vm_fw_pos: 0,
      vm_fw_type: 'in', vm_fw_action: 'DROP', vm_fw_proto: 'udp', vm_fw_dport: '53', vm_fw_source: '10.0.0.0/8', vm_fw_log: 'info', vm_fw_enable: 0,
    });
  });

  it('vm_fw_pos: the new rule (added on top by Proxmox) is moved with moveto = pos + 1', () => {
    // pve-firewall's update_rule re-inserts the rule *before* the one at index <moveto> (counted
    // with the rule still in place), so moving it down from 0 to position p takes moveto = p + 1.
    // Only one move: the rules created without vm_fw_pos (or with 0) stay where Proxmox puts them.
    expect(requests('PUT', '/qemu/3001/firewall/rules/0').map((q) => q.params.moveto)).toEqual([2]);
  });

  it('vm_fw_pos: the rule ends at that position (the simulator moves rules as pve-firewall does)', () => {
    expect(mustGuest(3001).firewall.rules.map((x) => x.comment)).toEqual(['B', 'C', 'A']);
  });

  it('aliases: add, list (with the alias comment), delete', () => {
    expect(one(r, 'firewall_vm_add_iptables_alias')).toEqual({
      action: 'firewall_vm_add_iptables_alias', source: 'proxmox', proxmox_node: NODE, vm_id: 1020,
      vm_fw_alias_name: 'web-net', vm_fw_alias_cidr: '192.168.144.0/24', vm_fw_comment: 'team web subnet',
    });
    expect(list(r, 'firewall_vm_list_iptables_alias')).toEqual([
      { action: 'firewall_vm_list_iptables_alias', source: 'proxmox', proxmox_node: NODE, vm_id: 1020, vm_fw_alias_name: 'web-net', vm_fw_alias_cidr: '192.168.144.0/24', vm_fw_comment: 'team web subnet' },
    ]);
    expect(one(r, 'firewall_vm_delete_iptables_alias')).toMatchObject({ vm_id: 1020, vm_fw_alias_name: 'web-net' });
    expect(mustGuest(1020).firewall.aliases).toEqual([]);
  });

  it('firewall_vm_enable_default_ssh_rules leaves ACCEPT tcp/22 above DROP', () => {
    expect(one(r, 'firewall_vm_enable_default_ssh_rules')).toMatchObject({ vm_id: 4001 });
    expect(mustGuest(4001).firewall.rules.map((x) => [x.action, x.proto ?? null, x.dport ?? null, Number(x.enable)])).toEqual([
      ['ACCEPT', 'tcp', '22', 1],
      ['DROP', null, null, 1],
    ]);
  });
});

describe('network', () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await startBatches().network!;
  }, SLOW);

  it('the run succeeds', () => expectOk(r));

  it('network_add_interfaces_vm sets netN (the first free one when no index is given)', () => {
    const added = published(r, 'network_add_interfaces_vm') as Row[];
    expect(added[0]).toMatchObject({
      action: 'network_add_interfaces_vm', vm_id: 1000, vm_vmnet_id: 3, vm_network_device: 'net3', iface_model: 'e1000', iface_bridge: 'vmbr140',
      iface_firewall: 1, iface_tag: 42, iface_mtu: 1400, vm_network_config: 'model=e1000,bridge=vmbr140,firewall=1,mtu=1400,tag=42',
    });
    expect(added[1]).toMatchObject({ vm_vmnet_id: 1, iface_macaddr: 'BC:24:11:AA:BB:CC', iface_link_down: 0, vm_network_config: 'virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,link_down=0' });
    expect(String(mustGuest(1000).config.net1)).toBe('virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,link_down=0');
    expect(requests('POST', '/qemu/1000/config').find((q) => 'net3' in q.params)?.params.net3).toBe('model=e1000,bridge=vmbr140,firewall=1,mtu=1400,tag=42');
  });

  it('network_delete_interfaces_vm removes netN; the list shows the rest', () => {
    expect(one(r, 'network_delete_interfaces_vm')).toEqual({ action: 'network_delete_interfaces_vm', source: 'proxmox', proxmox_node: NODE, vm_id: 1000, vm_vmnet_id: 3 });
    expect(mustGuest(1000).config.net3).toBeUndefined();
    const nics = list(r, 'network_list_interfaces_vm');
    expect(nics.map((n) => n.vm_network_device)).toEqual(['net0', 'net1']);
    expect(nics[1]).toEqual({
      action: 'network_list_interfaces_vm', source: 'proxmox', proxmox_node: NODE, vm_id: 1000,
      vm_network_device: 'net1', vm_network_type: 'virtio', vm_network_mac: 'BC:24:11:AA:BB:CC', vm_network_bridge: 'vmbr0',
    });
  });

  it('repeated adds write nothing and say so: an existing node interface, a netN with the same settings', () => {
    const nodeAdds = published(r, 'network_add_interfaces_node') as Row[];
    expect(nodeAdds[2]).toMatchObject({ iface_name: 'vmbr151', changed: false, applied: false, message: `interface vmbr151 already exists on ${NODE}: nothing changed`, iface_existing: { iface: 'vmbr151', cidr: '192.168.151.1/24' } });
    expect(requests('POST', /^\/nodes\/px-testing\/network$/)).toHaveLength(2);
    const vmAdds = published(r, 'network_add_interfaces_vm') as Row[];
    expect(vmAdds[2]).toMatchObject({ vm_vmnet_id: 0, changed: false, vm_network_config: 'virtio=BC:24:11:10:00:00,bridge=vmbr142,firewall=1' });
    expect(requests('POST', '/qemu/1000/config').filter((q) => 'net0' in q.params)).toHaveLength(0);
  });

  it('container NICs: netN is name=ethN,bridge,firewall,tag (+ hwaddr, type veth); a repeat writes nothing; list and delete', () => {
    const adds = published(r, 'network_add_interfaces_lxc') as Row[];
    expect(adds[0]).toMatchObject({ action: 'network_add_interfaces_lxc', vm_id: 200, vm_vmnet_id: 1, vm_network_device: 'net1', lxc_network_name: 'eth1', iface_bridge: 'vmbr140', iface_firewall: 1, iface_tag: 7, vm_network_config: 'name=eth1,bridge=vmbr140,firewall=1,tag=7' });
    expect(adds[1]).toMatchObject({ vm_vmnet_id: 1, changed: false, message: 'net1 of container 200 already has these settings: nothing changed' });
    expect(requests('PUT', '/lxc/200/config').filter((q) => 'net1' in q.params)).toHaveLength(1);
    const nics = list(r, 'network_list_interfaces_lxc');
    expect(nics.map((n) => n.vm_network_device)).toEqual(['net0', 'net1']);
    expect(nics[1]).toMatchObject({ lxc_network_name: 'eth1', vm_network_type: 'veth', vm_network_bridge: 'vmbr140', vm_network_firewall: 1, vm_network_tag: 7, vm_network_mac: expect.stringMatching(/^BC:24:11:/) });
    expect(nics[0]).toMatchObject({ lxc_network_name: 'eth0', vm_network_ip: '192.168.142.53/24' });
    expect(one(r, 'network_delete_interfaces_lxc')).toEqual({ action: 'network_delete_interfaces_lxc', source: 'proxmox', proxmox_node: NODE, vm_id: 200, vm_vmnet_id: 1 });
    expect(mustGuest(200).config.net1).toBeUndefined();
  });

  it('container configuration: lxc_set_cpu|memory|name|description and the reads', () => {
    expect(one(r, 'lxc_set_cpu')).toMatchObject({ action: 'lxc_set_cpu', vm_id: 200, cores: 2 });
    expect(one(r, 'lxc_set_memory')).toMatchObject({ memory: 768 });
    expect(one(r, 'lxc_set_name')).toMatchObject({ hostname: 'ct-dns-2' });
    expect(one(r, 'lxc_set_description')).toMatchObject({ description: 'resolver' });
    expect(mustGuest(200).config).toMatchObject({ cores: 2, memory: 768, hostname: 'ct-dns-2' });
    expect(one(r, 'lxc_get_config_cpu')).toMatchObject({ action: 'lxc_get_config_cpu', vm_id: 200, lxc_cores: 2, lxc_arch: 'amd64' });
    expect(one(r, 'lxc_get_config_ram')).toEqual({ action: 'lxc_get_config_ram', source: 'proxmox', proxmox_node: NODE, vm_id: 200, lxc_ram_allocated: 768, lxc_swap_allocated: expect.any(Number) });
    expect((one(r, 'lxc_get_config').raw_data as { data: Row }).data).toMatchObject({ hostname: 'ct-dns-2', description: expect.stringContaining('resolver') });
  });

  it('node interfaces: add (dotted netmask or /prefix) and delete, staged', () => {
    const added = published(r, 'network_add_interfaces_node') as Row[];
    expect(added[0]).toEqual({
      action: 'network_add_interfaces_node', source: 'proxmox', proxmox_node: NODE, iface_name: 'vmbr150', iface_type: 'bridge', iface_autostart: 1,
      ip_address: '192.168.150.1', ip_netmask: '255.255.255.0', iface_comments: 'team 1', applied: false,
    });
    expect(requests('POST', /^\/nodes\/px-testing\/network$/).map((q) => [q.params.iface, q.params.address ?? null, q.params.netmask ?? null, q.params.cidr ?? null])).toEqual([
      ['vmbr150', '192.168.150.1', '255.255.255.0', null],
      ['vmbr151', null, null, '192.168.151.1/24'],
    ]);
    expect(one(r, 'network_delete_interfaces_node')).toEqual({ action: 'network_delete_interfaces_node', source: 'proxmox', proxmox_node: NODE, iface_name: 'vmbr150', applied: false });
    const staged = node().pendingNetwork ?? node().network;
    expect(staged.find((i) => i.iface === 'vmbr151')).toMatchObject({ type: 'bridge', address: '192.168.151.1', cidr: '192.168.151.1/24' });
    expect(staged.find((i) => i.iface === 'vmbr150')).toBeUndefined();
  });
});

describe('storage download and cluster tag style', () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await startBatches().cluster!;
  }, SLOW);

  it('the run succeeds', () => expectOk(r));

  it('storage_download_iso waits for the download; the image is in the storage', () => {
    expect(one(r, 'storage_download_iso')).toMatchObject({
      action: 'storage_download_iso', proxmox_storage: 'local', iso_file_content_type: 'iso', iso_file_name: 'alpine-3.20.iso', iso_url: 'https://dl-cdn.example.org/alpine-3.20.iso',
      raw_info: { data: expect.stringMatching(/^UPID:.*:download:/) },
    });
    expect(sim.state.volumes[`${NODE}/local`]!.map((v) => v.volid)).toContain('local:iso/alpine-3.20.iso');
  });

  it('cluster_set_tag sets the datacenter tag style', () => {
    // A color-map (color-map=web:FF0000) is refused by the simulator (see the report), so the style only.
    expect(one(r, 'cluster_set_tag')).toEqual({ action: 'cluster_set_tag', source: 'proxmox', proxmox_node: NODE, color_mapping: 'shape=circle,ordering=config' });
    expect(String(sim.state.options['tag-style'])).toMatch(/shape=circle/);
  });
});

// ---------------------------------------------------------------------------------------------

/** template_create with recording stand-ins for qm and qemu-img on the PATH of the runs. */
async function runTemplateCreateWithQm(): Promise<{ r: RunResult; calls: string[] }> {
  const bin = path.join(workDir, 'pve-bin');
  const calls = path.join(workDir, 'qm-calls.log');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'qm'), [
    '#!/bin/sh',
    `echo "qm $*" >> ${calls}`,
    'case "$1 $2" in',
    `  "disk import") echo "Successfully imported disk as 'unused0:local-lvm:vm-$3-disk-0'" ;;`,
    '  config*) echo "name: tpl-noble" ;;',
    'esac',
  ].join('\n'), { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'qemu-img'), `#!/bin/sh\necho "qemu-img $*" >> ${calls}\n`, { mode: 0o755 });
  const withQm = testEngine({ env: { PROJECT_ROOT_DIR: REPO_ROOT }, baseEnv: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  try {
    const r = await withQm.run({
      playbook: GENERIC, inventory, limit: 'proxmox', extravars: {
        proxmox_vm_action: 'template_create', hosts: 'proxmox', proxmox_node: NODE, vm_id: '9300', vm_name: 'tpl-noble', vm_cores: 2, vm_memory: 2048,
        vm_disk_size: 20, cloudinit_image_full_path: '/var/lib/vz/template/iso/noble.img', vm_ci_user: 'alice', vm_ci_ssh_key: SSH_KEY,
      },
    });
    return { r, calls: fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [] };
  } finally {
    await withQm.close();
  }
}

describe('generic.yml with extra vars, failures, and the last actions', () => {
  let mixed: RunResult;
  let unknown: RunResult;
  let nodeDisable: RunResult;
  let withQm: { r: RunResult; calls: string[] };
  beforeAll(async () => {
    await Promise.all(Object.values(startBatches()));
    [unknown, nodeDisable, withQm, mixed] = await Promise.all([
      runGeneric('vm_explode'),
      runGeneric('firewall_node_disable', { proxmox_node: '' }),
      runTemplateCreateWithQm(),
      // One batch whose steps may fail (each is rescued): failing actions and two that end the test.
      runSteps([
        { proxmox_vm_action: 'vm_start' },
        { proxmox_vm_action: 'vm_delete', vm_id: '999' },
        { proxmox_vm_action: 'vm_start', vm_id: '1020' },
        { proxmox_vm_action: 'template_create', vm_id: '9301', vm_name: 'tpl', cloudinit_image_full_path: '/var/lib/vz/template/noble.img' },
        { proxmox_vm_action: 'template_cloudinit_import_disk', vm_id: '4100', cloudinit_image_full_path: '/tmp/none.img' },
        { proxmox_vm_action: 'vm_delete', vm_id: '4101', vm_name: 'lab-web-02' },
        { proxmox_vm_action: 'firewall_dc_disable' },
      ], { rescue: true }),
    ]);
  }, SLOW);

  it('firewall_node_disable through generic.yml (an empty proxmox_node means the inventory host)', () => {
    expectOk(nodeDisable);
    expect(one(nodeDisable, 'firewall_node_disable')).toEqual({ action: 'firewall_node_disable', source: 'proxmox', proxmox_node: NODE, node_firewall: 'disabled' });
    expect(Number(node().firewall.options.enable)).toBe(0);
  });

  it('vm_delete removes the VM; firewall_dc_disable disables the datacenter firewall', () => {
    expectOk(mixed); // every failing step was rescued
    expect(published(mixed, 'vm_delete')).toEqual([
      { action: 'vm_delete', source: 'proxmox', proxmox_node: NODE, vm_id: 4101, vm_name: 'lab-web-02', raw_data: { data: expect.stringMatching(/:qmdestroy:4101:/) } },
    ]);
    expect(guest(4101)).toBeUndefined();
    expect(one(mixed, 'firewall_dc_disable')).toEqual({ action: 'firewall_dc_disable', source: 'proxmox', proxmox_node: NODE, dc_firewall: 'disabled' });
    expect(Number(sim.state.firewall.options.enable)).toBe(0);
  });

  it('failures: unknown action, missing variable, HTTP error, Proxmox task error, no qm', () => {
    expect(unknown.rc).toBe(2);
    expect(log(unknown)).toMatch(/fatal: .*unknown proxmox_vm_action 'vm_explode' \(known actions: cloudinit_set_variables, /);
    expect(published(unknown, 'vm_explode')).toEqual([]);

    const fatal = logLines(mixed.events).filter((l) => l.startsWith('fatal:'));
    expect(fatal).toHaveLength(5);
    expect(fatal[0]).toContain("proxmox_vm_action 'vm_start': vm_id is required");
    expect(fatal[1]).toContain("Proxmox API DELETE /nodes/px-testing/qemu/999 failed: HTTP 500: Configuration file 'nodes/px-testing/qemu-server/999.conf' does not exist");
    expect(fatal[2]).toMatch(/Proxmox task UPID:px-testing:\S+:qmstart:1020:\S+ failed: VM 1020 already running/);
    expect(fatal[3]).toContain('template_create needs the qm command of a Proxmox VE node');
    expect(fatal[4]).toContain('template_cloudinit_import_disk needs the qm command of a Proxmox VE node');
    for (const action of ['vm_start', 'template_create', 'template_cloudinit_import_disk']) expect(published(mixed, action)).toEqual([]);
    expect(guest(9301)).toBeUndefined();
    // The API token never reaches the events (the proxmox_api tasks run with no_log, and never return it).
    expect(JSON.stringify(mixed.events)).not.toContain(sim.token.secret);
  });

  it('with qm and qemu-img on the host (recording stand-ins), template_create runs the import and builds the template', () => {
    const { r, calls } = withQm;
    expectOk(r);
    expect(one(r, 'template_create')).toEqual({
      action: 'template_create', source: 'proxmox', proxmox_node: NODE, vm_id: 9300, vm_name: 'tpl-noble',
      template_image: '/var/lib/vz/template/iso/noble.img', template_status: 'template created',
    });
    expect(one(r, 'template_cloudinit_import_disk')).toMatchObject({ vm_id: 9300, template_status: 'disk imported' });
    expect(calls).toEqual([
      'qm config 9300',
      'qemu-img resize --shrink /var/lib/vz/template/iso/noble.img 20G',
      'qm disk import 9300 /var/lib/vz/template/iso/noble.img local-lvm',
      'qm set 9300 --scsihw virtio-scsi-pci --scsi0 local-lvm:vm-9300-disk-0 --ide2 local-lvm:cloudinit --boot order=scsi0 --serial0 socket --vga serial0',
    ]);
    const cfg = mustGuest(9300).config;
    expect(Number(cfg.template)).toBe(1);
    expect(cfg).toMatchObject({ name: 'tpl-noble', cores: 2, ciuser: 'alice' });
    expect(cfg.scsi0).toBeUndefined(); // created without a disk: the real one comes from qm disk import
  });

  it('tasks that take time are polled until they end, with a short backoff (50 ms x1.5 up to 500 ms)', async () => {
    sim.setTaskDuration(2500);
    try {
      const r = await runGeneric('vm_start', { proxmox_node: NODE, vm_id: '3001' });
      expectOk(r);
      expect(one(r, 'vm_start')).toMatchObject({ vm_id: 3001, vm_status: 'running' });
      // Polls at 0, 0.05, 0.125, 0.24, 0.41, 0.66, 1.16 ... 2.66 s: about 10 (a 1-second poll: 4),
      // fewer when each request is slow, never a busy loop.
      const polls = requests('GET', /\/tasks\/UPID:[^/]*:qmstart:3001:[^/]*\/status$/).length;
      expect(polls).toBeGreaterThanOrEqual(6);
      expect(polls).toBeLessThanOrEqual(14);
      expect(mustGuest(3001).status).toBe('running');
    } finally {
      sim.setTaskDuration(0);
    }
  }, SLOW);

  it('the action plugin never returns the token, even without no_log; proxmox_validate_certs refuses a self-signed certificate', async () => {
    const [shown, verified] = await Promise.all([
      runGeneric('vm_stop_force', { proxmox_node: NODE, vm_id: '4004', proxmox_controller_no_log: false }),
      runGeneric('vm_list', { proxmox_node: NODE, proxmox_validate_certs: true }),
    ]);
    expectOk(shown);
    const events = JSON.stringify(shown.events);
    expect(events).toContain(':qmstop:4004:'); // the call's and the task's answers are shown...
    expect(events).not.toContain(sim.token.secret); // ...and the token is not
    expect(events).not.toContain('PVEAPIToken');
    expect(verified.rc).toBe(2);
    expect(logLines(verified.events).filter((l) => l.startsWith('fatal:'))).toEqual([
      expect.stringContaining('Proxmox API GET /nodes/px-testing/qemu failed: Status code was -1 and not [200]: Request failed: <urlopen error [SSL: CERTIFICATE_VERIFY_FAILED]'),
    ]);
  }, SLOW);

  it('a task that does not end within proxmox_task_timeout fails the action with a clear message', async () => {
    sim.setTaskDuration(600_000);
    try {
      const r = await runGeneric('vm_stop_force', { proxmox_node: NODE, vm_id: '3001', proxmox_task_timeout: 1 });
      expect(r.rc).toBe(2);
      expect(published(r, 'vm_stop_force')).toEqual([]);
      expect(logLines(r.events).filter((l) => l.startsWith('fatal:'))).toEqual([
        expect.stringMatching(/Proxmox task UPID:\S+:qmstop:3001:\S+ did not end within 1 s \(proxmox_task_timeout\)/),
      ]);
    } finally {
      sim.setTaskDuration(0);
    }
  }, SLOW);
});
