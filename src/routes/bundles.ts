import { DEFAULT_VMS_BUNDLES as DEFAULT_VMS } from '../config/paths.js';
import { ApiError } from '../http/api-error.js';
import * as B from '../schemas/bundles.js';
import { withExample } from '../schemas/common.js';
import { bundlePlaybook, checkedLimit, hostsInventory, nodeOrNull, pick } from './plans.js';
import type { Body, RouteContext, RouteDef } from './types.js';
import type { RunSpec } from '../engine/types.js';

const RUN = '/v0/admin/run/bundles';
const UBUNTU_TAGS = ['bundles - core - ubuntu'];

type Role = 'admin' | 'vuln' | 'student';

/** The VM keys each create-vms bundle knows (its init.yml has one tagged play per key). */
export const CREATE_VM_KEYS: Record<Role, readonly string[]> = {
  admin: ['admin-wazuh', 'admin-deployer-api-gateway', 'admin-deployer-api-backend', 'admin-deployer-ui'],
  vuln: ['vuln-box-00', 'vuln-box-01', 'vuln-box-02', 'vuln-box-03', 'vuln-box-04'],
  student: ['student-box-01'],
};

const ubuntu = (name: string, bundle: string, schema: RouteDef['body'], summary: string, vars: (b: Body) => Body): RouteDef => ({
  method: 'POST', url: `${RUN}/core/linux/ubuntu/${name}`, operationId: `bundle_ubuntu_${name.replace(/[/-]/g, '_')}`, tags: UBUNTU_TAGS, summary,
  body: schema, output: 'log',
  plan: (b, ctx) => ({
    playbook: bundlePlaybook(ctx, `core/linux/ubuntu/${bundle}`),
    inventory: hostsInventory(ctx),
    limit: checkedLimit(b, ctx),
    extravars: { ...pick(b, ['proxmox_node'], 'truthy'), ...vars(b) },
    label: `bundle:${bundle}`,
  }),
});

const roleTags = (role: Role) => [`bundles - core - proxmox - vms - default-configuration - ${role}`];
const roleUrl = (name: string) => `${RUN}/core/proxmox/configure/default/${name}`;

function roleBundleRun(ctx: RouteContext, b: Body, bundle: string, vars: Body): RunSpec {
  return {
    playbook: bundlePlaybook(ctx, `${DEFAULT_VMS}/${bundle}`),
    inventory: hostsInventory(ctx),
    limit: nodeOrNull(b),
    extravars: { ...vars, ...pick(b, ['proxmox_node'], 'truthy') },
    label: `bundle:${bundle}`,
  };
}

function checkVmKeys(role: Role, vms: Record<string, unknown>): void {
  const allowed = CREATE_VM_KEYS[role];
  const given = Object.keys(vms);
  if (given.length === 0) throw new ApiError(400, 'Field vms must not be empty');
  const missing = allowed.find((k) => !given.includes(k));
  if (missing) throw new ApiError(400, `Missing required vm key ${missing}`);
  const unknown = given.find((k) => !allowed.includes(k));
  if (unknown) throw new ApiError(400, `Unauthorized vm key ${unknown}`);
}

const createVms = (role: Role): RouteDef => ({
  method: 'POST', url: roleUrl(`create-vms-${role}`), operationId: `bundle_create_vms_${role}`, tags: roleTags(role), summary: `Create the default ${role} VMs`,
  description: `One init.yml run per VM (tagged with its key: ${CREATE_VM_KEYS[role].join(', ')}), then main.yml; stops at the first failure.`,
  body: withExample(B.CreateVmsRequest, { proxmox_node: 'px-testing', vms: DEFAULT_VM_SETS[role] }), output: 'log',
  plan: (b, ctx) => {
    const inventory = hostsInventory(ctx);
    const init = bundlePlaybook(ctx, `${DEFAULT_VMS}/create-vms-${role}`, 'init.yml');
    const vms = b.vms as Record<string, { vm_id: number; vm_ip: string; vm_description: string }>;
    checkVmKeys(role, vms);
    const main = bundlePlaybook(ctx, `${DEFAULT_VMS}/create-vms-${role}`);
    const perVm = Object.entries(vms).map(([key, vm]): RunSpec => ({
      playbook: init,
      inventory,
      tags: key,
      extravars: { proxmox_node: b.proxmox_node, global_vm_id: vm.vm_id, global_vm_ci_ip: vm.vm_ip, global_vm_description: vm.vm_description },
      label: `bundle:create-vms-${role}:${key}`,
    }));
    return [...perVm, { playbook: main, inventory, extravars: { proxmox_node: b.proxmox_node }, label: `bundle:create-vms-${role}` }];
  },
});

/** The contract's default VM sets (demo_lab numbering), as the examples of the create-vms routes. */
const DEFAULT_VM_SETS: Record<Role, Record<string, { vm_id: number; vm_ip: string; vm_description: string }>> = {
  admin: {
    'admin-wazuh': { vm_id: 1000, vm_ip: '192.168.142.100', vm_description: 'wazuh SIEM' },
    'admin-deployer-api-gateway': { vm_id: 1020, vm_ip: '192.168.142.120', vm_description: 'API gateway' },
    'admin-deployer-api-backend': { vm_id: 1021, vm_ip: '192.168.142.121', vm_description: 'API backend' },
    'admin-deployer-ui': { vm_id: 1023, vm_ip: '192.168.142.123', vm_description: 'deployer UI' },
  },
  vuln: Object.fromEntries([0, 1, 2, 3, 4].map((i) => [`vuln-box-0${i}`, { vm_id: 4000 + i, vm_ip: `192.168.144.${170 + i}`, vm_description: `vulnerable box ${i}` }])),
  student: { 'student-box-01': { vm_id: 3001, vm_ip: '192.168.143.160', vm_description: 'student box' } },
};

const POWER = { start: 'vm_start', stop: 'vm_stop', pause: 'vm_pause', resume: 'vm_resume' } as const;
const ROLES: Role[] = ['admin', 'vuln', 'student'];

export const bundleRoutes: RouteDef[] = [
  ubuntu('install/docker', 'install/docker', B.UbuntuDockerRequest, 'Install Docker on Ubuntu hosts', (b) => ({
    INSTALL_PACKAGES_DOCKER: b.install_package_docker,
    INSTALL_PACKAGES_NTP_AND_UPDATE_TIME: b.install_ntpclient_and_update_time,
    SPECIFIC_PACKAGES_CLEANING: b.packages_cleaning,
  })),
  // Runs the docker-compose bundle (the original ran the docker one here).
  ubuntu('install/docker-compose', 'install/docker-compose', B.UbuntuDockerComposeRequest, 'Install Docker Compose on Ubuntu hosts', (b) => ({
    INSTALL_PACKAGES_DOCKER: b.install_package_docker,
    INSTALL_PACKAGES_DOCKER_COMPOSE: b.install_package_docker_compose,
    INSTALL_PACKAGES_NTP_AND_UPDATE_TIME: b.install_ntpclient_and_update_time,
    SPECIFIC_PACKAGES_CLEANING: b.packages_cleaning,
  })),
  ubuntu('install/basic-packages', 'install/basic-packages', B.UbuntuBasicPackagesRequest, 'Install basic packages on Ubuntu hosts', (b) => ({
    INSTALL_PACKAGES_BASICS: b.install_package_basics,
    INSTALL_PACKAGES_FIREWALLS: b.install_package_firewalls,
    INSTALL_PACKAGES_DOCKER: b.install_package_docker,
    INSTALL_PACKAGES_DOCKER_COMPOSE: b.install_package_docker_compose,
    INSTALL_PACKAGES_UTILS_JSON: b.install_package_utils_json,
    INSTALL_PACKAGES_UTILS_NETWORK: b.install_package_utils_network,
    INSTALL_PACKAGES_NTP_AND_UPDATE_TIME: b.install_ntpclient_and_update_time,
    SPECIFIC_PACKAGES_CLEANING: b.packages_cleaning,
  })),
  ubuntu('install/dot-files', 'install/dot-files', B.UbuntuDotFilesRequest, 'Install dot files on Ubuntu hosts', (b) => ({
    hosts: b.hosts,
    OPERATOR_USER: b.user,
    INSTALL_VIM_DOTFILES: b.install_vim_dot_files,
    INSTALL_ZSH_DOTFILES: b.install_zsh_dot_files,
    APPLY_FOR_ROOT: b.apply_for_root,
  })),
  ubuntu('configure/add-user', 'configure/add-user', B.UbuntuAddUserRequest, 'Add a user on Ubuntu hosts', (b) => ({
    TARGET_USER: b.user,
    TARGET_PASSWORD: b.password,
    CHANGE_PWD_AT_LOGON: b.change_pwd_at_logon,
    TARGET_SHELL_PATH: b.shell_path,
  })),
  ...ROLES.map(createVms),
  ...ROLES.flatMap((role) =>
    (Object.keys(POWER) as Array<keyof typeof POWER>).map((verb): RouteDef => ({
      method: 'POST', url: roleUrl(`${verb}-vms-${role}`), operationId: `bundle_${verb}_vms_${role}`, tags: roleTags(role),
      summary: `${verb[0]!.toUpperCase()}${verb.slice(1)} the default ${role} VMs`,
      body: B.RoleBundleRequest, output: { resultKey: POWER[verb] },
      plan: (b, ctx) => roleBundleRun(ctx, b, `start-stop-pause-resume-vms-${role}`, { proxmox_vm_action: POWER[verb] }),
    })),
  ),
  ...(['student', 'vuln', 'admin'] as Role[]).map((role): RouteDef => ({
    method: 'DELETE', url: roleUrl(`delete-vms-${role}`), operationId: `bundle_delete_vms_${role}`, tags: roleTags(role), summary: `Delete the default ${role} VMs`,
    body: B.RoleBundleRequest, output: { resultKey: 'vm_delete' },
    plan: (b, ctx) => roleBundleRun(ctx, b, `delete-vms-${role}`, {}),
  })),
  ...(['student', 'vuln', 'admin'] as Role[]).map((role): RouteDef => ({
    method: 'POST', url: roleUrl(`snapshot/create-vms-${role}`), operationId: `bundle_snapshot_create_vms_${role}`, tags: roleTags(role), summary: `Snapshot the default ${role} VMs`,
    body: B.RoleBundleRequest, output: { resultKey: 'snapshot_vm_create' },
    plan: (b, ctx) => roleBundleRun(ctx, b, `snapshot/create-vms-${role}`, {}),
  })),
  ...(['student', 'vuln', 'admin'] as Role[]).map((role): RouteDef => ({
    method: 'POST', url: roleUrl(`snapshot/revert-vms-${role}`), operationId: `bundle_snapshot_revert_vms_${role}`, tags: roleTags(role), summary: `Revert the default ${role} VMs to a snapshot`,
    body: B.RoleRevertRequest, output: { resultKey: 'snapshot_vm_revert' },
    plan: (b, ctx) => roleBundleRun(ctx, b, `snapshot/revert-vms-${role}`, b.vm_snapshot_name == null ? {} : { VM_SNAPSHOT_NAME: b.vm_snapshot_name }),
  })),
];
