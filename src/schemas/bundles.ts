import { Type, type TProperties } from 'typebox';
import { AsJson, LIMITS, ProxmoxNode, UiExtras, optionalNullable, str } from './common.js';

/** Request bodies of the bundle and scenario routes (api-contract §2.8, §2.9). */

const HOSTS = Type.String({ pattern: '^[a-zA-Z0-9._:-]+$', maxLength: LIMITS.id, description: 'Ansible --limit: the guest host or group', examples: ['r42.vuln-box-00'] });
const flag = (description: string) => Type.Boolean({ description });

const ubuntu = (props: TProperties, example: Record<string, unknown>) =>
  Type.Object({ proxmox_node: ProxmoxNode, hosts: HOSTS, ...props }, { examples: [{ proxmox_node: 'px-testing', hosts: 'r42.vuln-box-00', ...example }] });

export const UbuntuDockerRequest = ubuntu(
  {
    install_package_docker: flag('install Docker'),
    install_ntpclient_and_update_time: flag('install an NTP client and set the time'),
    packages_cleaning: flag('clean the package cache afterwards'),
  },
  { install_package_docker: true, install_ntpclient_and_update_time: true, packages_cleaning: true },
);
export const UbuntuDockerComposeRequest = ubuntu(
  {
    install_package_docker: flag('install Docker'),
    install_package_docker_compose: flag('install Docker Compose'),
    install_ntpclient_and_update_time: flag('install an NTP client and set the time'),
    packages_cleaning: flag('clean the package cache afterwards'),
  },
  { install_package_docker: true, install_package_docker_compose: true, install_ntpclient_and_update_time: true, packages_cleaning: true },
);
export const UbuntuBasicPackagesRequest = ubuntu(
  {
    install_package_basics: flag('basic tools'),
    install_package_firewalls: flag('firewall tools'),
    install_package_docker: flag('Docker'),
    install_package_docker_compose: flag('Docker Compose'),
    install_package_utils_json: flag('JSON utilities'),
    install_package_utils_network: flag('network utilities'),
    install_ntpclient_and_update_time: flag('NTP client'),
    packages_cleaning: flag('clean the package cache'),
  },
  {
    install_package_basics: true, install_package_firewalls: false, install_package_docker: false, install_package_docker_compose: false,
    install_package_utils_json: true, install_package_utils_network: true, install_ntpclient_and_update_time: false, packages_cleaning: true,
  },
);
export const UbuntuDotFilesRequest = ubuntu(
  {
    user: str('^[a-z_][a-z0-9_-]*$', { maxLength: 32, description: 'operator user' }),
    install_vim_dot_files: flag('vim configuration'),
    install_zsh_dot_files: flag('zsh configuration'),
    apply_for_root: flag('also for root'),
  },
  { user: 'alice', install_vim_dot_files: true, install_zsh_dot_files: false, apply_for_root: false },
);
export const UbuntuAddUserRequest = ubuntu(
  {
    user: str('^[a-z_][a-z0-9_-]*$', { maxLength: 32 }),
    password: str('^[A-Za-z0-9@._-]*$', { description: 'never logged or stored' }),
    change_pwd_at_logon: flag('force a password change at first login'),
    shell_path: str('^/[a-z/]*$', { examples: ['/bin/bash'] }),
  },
  { user: 'bob', password: 'Ch4nge-me', change_pwd_at_logon: true, shell_path: '/bin/bash' },
);

const CreateVmEntry = Type.Object({
  vm_id: Type.Integer({ minimum: LIMITS.vmidMin, maximum: LIMITS.vmidMax }),
  vm_ip: str('^(?:[0-9]{1,3}\\.){3}[0-9]{1,3}$'),
  vm_description: Type.String({ maxLength: 200 }),
});
export const CreateVmsRequest = Type.Object(
  { proxmox_node: ProxmoxNode, ...UiExtras, vms: Type.Record(Type.String({ maxLength: LIMITS.label }), CreateVmEntry, { maxProperties: 64 }) },
  { examples: [{ proxmox_node: 'px-testing', vms: { 'student-box-01': { vm_id: 3001, vm_ip: '192.168.143.160', vm_description: 'student box' } } }] },
);
export const RoleBundleRequest = Type.Object({ proxmox_node: ProxmoxNode, as_json: AsJson, ...UiExtras }, { examples: [{ proxmox_node: 'px-testing', as_json: true }] });
export const RoleRevertRequest = Type.Object(
  { proxmox_node: ProxmoxNode, as_json: AsJson, ...UiExtras, vm_snapshot_name: optionalNullable(str('^[A-Za-z0-9_-]+$')) },
  { examples: [{ proxmox_node: 'px-testing', vm_snapshot_name: 'default-snapshot-from-API' }] },
);
