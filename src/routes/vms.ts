import { DEFAULT_VMS_BUNDLES } from '../config/paths.js';
import { DomainError } from '../errors.js';
import { withExample } from '../schemas/common.js';
import * as S from '../schemas/proxmox.js';
import { bundlePlaybook, guestOf, guestRun, hostsInventory, lxcName, nodeOrNull, pick, requireGuestAction, roleRun, vmVars } from './plans.js';
import type { RouteContext, RouteDef } from './types.js';

const VMS = '/v0/admin/proxmox/vms';
const USAGE = ['proxmox - usage'];
const LIFECYCLE = ['proxmox - vm lifecycle'];
const MANAGEMENT = ['proxmox - vm management'];


const power = (verb: string, action: string, summary: string, url = `${VMS}/vm_id/${verb}`, exampleVm?: string): RouteDef => ({
  method: 'POST',
  url,
  operationId: action,
  tags: LIFECYCLE,
  summary,
  body: exampleVm ? withExample(S.VmRequest, { proxmox_node: 'px-testing', vm_id: exampleVm }) : S.VmRequest,
  output: { resultKey: action },
  // A container id runs the container's action (lxc_start, lxc_stop = shutdown, ...): the UI starts containers here.
  plan: async (b, ctx) => {
    requireGuestAction(ctx, action);
    return guestRun(ctx, await guestOf(b, ctx), action, vmVars(b), lxcName(action));
  },
});

/**
 * The bundle a mass route runs. This project's catalog has `mass-action` and `mass-delete`, which
 * act on exactly the VMs they are given. A third-party catalog (upstream range42's) has only the
 * bundles the original API ran, the vuln set's power and delete bundles: they loop over `VM_IDS`
 * and `VMS` play vars, which the run's extra vars override, so they too act on the given VMs.
 */
function massBundle(ctx: RouteContext, own: 'mass-action' | 'mass-delete'): { playbook: string; original: boolean } {
  try {
    return { playbook: bundlePlaybook(ctx, `${DEFAULT_VMS_BUNDLES}/${own}`), original: false };
  } catch (err) {
    if (!(err instanceof DomainError) || err.code !== 'PLAYBOOK_NOT_FOUND') throw err;
    const original = own === 'mass-action' ? 'start-stop-pause-resume-vms-vuln' : 'delete-vms-vuln';
    try {
      return { playbook: bundlePlaybook(ctx, `${DEFAULT_VMS_BUNDLES}/${original}`), original: true };
    } catch {
      throw err; // the catalog has neither: name this project's bundle, as before
    }
  }
}

/** The mass routes act on exactly the VMs they are given (the original always ran the "vuln" bundle). */
const massPower = (verb: string, action: string, summary: string): RouteDef => ({
  method: 'POST',
  url: `${VMS}/vm_ids/${verb}`,
  operationId: `mass_${action}`,
  tags: LIFECYCLE,
  summary,
  body: S.MassActionRequest,
  output: { resultKey: action },
  plan: (b, ctx) => {
    const { playbook, original } = massBundle(ctx, 'mass-action');
    return {
      playbook,
      inventory: hostsInventory(ctx),
      limit: nodeOrNull(b),
      extravars: {
        PROXMOX_VM_ACTION: action,
        ...(b.proxmox_node ? { PROXMOX_NODE: b.proxmox_node } : {}),
        // upstream's bundle reads the node under this (misspelt) name, with px-testing as its default
        ...(original && b.proxmox_node ? { PROXMODE_NODE: b.proxmox_node } : {}),
        ...((b.vm_ids as string[]).length > 0 ? { VM_IDS: b.vm_ids } : {}),
      },
      label: `mass_${action}`,
    };
  },
});

export const vmRoutes: RouteDef[] = [
  {
    method: 'POST', url: `${VMS}/list`, operationId: 'vm_list', tags: USAGE, summary: 'List the VMs of a node',
    body: S.NodeRequest, output: { resultKey: 'vm_list' },
    plan: (b, ctx) => roleRun(ctx, 'vm_list', pick(b, ['proxmox_node'], 'truthy')),
  },
  {
    method: 'POST', url: `${VMS}/list_usage`, operationId: 'vm_list_usage', tags: USAGE, summary: 'List the VMs of a node with their resource usage',
    body: S.NodeRequest, output: { resultKey: 'vm_list_usage' },
    plan: (b, ctx) => roleRun(ctx, 'vm_list_usage', pick(b, ['proxmox_node'], 'truthy')),
  },
  power('start', 'vm_start', 'Start a VM', undefined, '4001'), // a VM of the seed that is stopped
  power('stop', 'vm_stop', 'Shut a VM down (ACPI)'),
  power('stop_force', 'vm_stop_force', 'Stop a VM at once'),
  { ...power('stop-force', 'vm_stop_force', 'Stop a VM at once (alias of stop_force)'), operationId: 'vm_stop_force_alias' },
  power('pause', 'vm_pause', 'Pause a VM'),
  power('resume', 'vm_resume', 'Resume a paused VM'),
  {
    method: 'POST', url: `${VMS}/vm_id/create`, operationId: 'vm_create', tags: MANAGEMENT, summary: 'Create a VM',
    body: S.VmCreateRequest, output: { resultKey: 'vm_create' },
    // The ISO goes under both names: this project's role reads vm_iso, the upstream range42 role vm_iso_file.
    plan: (b, ctx) => {
      const vars = pick(b, ['proxmox_node', 'vm_id', 'vm_name', 'vm_cpu', 'vm_cores', 'vm_sockets', 'vm_memory', 'vm_disk_size', 'vm_iso']);
      return roleRun(ctx, 'vm_create', vars.vm_iso === undefined ? vars : { ...vars, vm_iso_file: vars.vm_iso });
    },
  },
  {
    method: 'DELETE', url: `${VMS}/vm_id/delete`, operationId: 'vm_delete', tags: MANAGEMENT, summary: 'Delete a VM',
    description: 'The VM (or container) name is read from the Proxmox API first; an id that is neither a VM nor a container is a 404 and nothing runs.',
    body: withExample(S.VmRequest, { proxmox_node: 'px-testing', vm_id: '4010' }), output: { resultKey: 'vm_delete' },
    plan: async (b, ctx) => {
      const guest = await guestOf(b, ctx);
      return guestRun(ctx, guest, 'vm_delete', { ...vmVars(b), vm_name: guest.name }, 'lxc_delete', { ...vmVars(b), lxc_name: guest.name });
    },
  },
  {
    method: 'POST', url: `${VMS}/vm_id/clone`, operationId: 'vm_clone', tags: MANAGEMENT, summary: 'Clone a VM or template',
    description: 'The source id must be a VM or a container (404 otherwise); the clone gets `vm_name` (a container\'s: its hostname; containers are always cloned in full).',
    body: S.VmCloneRequest, output: { resultKey: 'vm_clone' },
    plan: async (b, ctx) => {
      const guest = await guestOf(b, ctx);
      const description = b.vm_description ?? 'cloned-vm';
      return guestRun(ctx, guest, 'vm_clone', {
        ...vmVars(b),
        vm_name: b.vm_name,
        vm_new_id: b.vm_new_id,
        vm_description: description,
        ...pick(b, ['full_clone', 'proxmox_dest_vm_storage_name']),
      }, 'lxc_clone', { ...vmVars(b), vm_new_id: b.vm_new_id, lxc_name: b.vm_name, lxc_description: description });
    },
  },
  massPower('stop', 'vm_stop', 'Mass stop vms'),
  massPower('stop_force', 'vm_stop_force', 'Mass force-stop vms'),
  massPower('start', 'vm_start', 'Mass start vms'),
  massPower('pause', 'vm_pause', 'Mass pause vms'),
  massPower('resume', 'vm_resume', 'Mass resume vms'),
  {
    method: 'DELETE', url: `${VMS}/vm_ids/delete`, operationId: 'mass_vm_delete', tags: LIFECYCLE, summary: 'Mass delete vms',
    body: S.MassDeleteRequest, output: { resultKey: 'vm_delete' },
    plan: (b, ctx) => ({
      playbook: massBundle(ctx, 'mass-delete').playbook,
      inventory: hostsInventory(ctx),
      limit: nodeOrNull(b),
      extravars: {
        ...(b.proxmox_node ? { PROXMOX_NODE: b.proxmox_node } : {}),
        VMS: (b.vms as Array<{ id: string; name: string }>).map((v) => ({ ID: v.id, NAME: v.name })),
      },
      label: 'mass_vm_delete',
    }),
  },
];
