import { withExample } from '../schemas/common.js';
import * as S from '../schemas/proxmox.js';
import { fieldError, nodeOrNull, pick, proxmoxReads, roleRun } from './plans.js';
import type { Body, RouteContext, RouteDef } from './types.js';

const LXC = '/v0/admin/proxmox/lxc';
const TAGS = ['proxmox - lxc'];
const ctVars = (b: Body) => ({ proxmox_node: b.proxmox_node, vm_id: b.vm_id });
const LXC_CREATE_FIELDS = [
  'lxc_name', 'lxc_template', 'lxc_password', 'lxc_ssh_pubkeys', 'lxc_cores', 'lxc_memory', 'proxmox_storage', 'lxc_disk_size',
  'lxc_net_name', 'lxc_bridge', 'lxc_ip', 'lxc_gateway', 'lxc_dns_primary', 'lxc_dns_secondary',
];

/** The container the lxc_create example makes. */
const CtRequest = withExample(S.VmRequest, { proxmox_node: 'px-testing', vm_id: '5100' });
/** The deployer UI's container calls send a numeric vm_id. */
const CtUiRequest = withExample(S.VmRequest, { proxmox_node: 'px-testing', vm_id: 5101 });

/** Parts of a Proxmox net0 string that the roles take as variables (both roles build net0 themselves). */
const NET0_PARTS: Record<string, string> = { name: 'lxc_net_name', bridge: 'lxc_bridge', ip: 'lxc_ip', gw: 'lxc_gateway' };

/**
 * The deployer UI's create body (Proxmox's parameter names) as the role variables of lxc_create.
 * `rootfs_size` "8G" is 8 GiB; `net0` is split into the parts both roles know, and kept whole
 * (`lxc_net0`) for this project's role, which then uses it as given. The container is not started
 * by the creation: the UI calls lxc/start afterwards, which Proxmox refuses for a running one.
 */
function uiCreateVars(b: Body): Body {
  const vars: Body = {
    ...ctVars(b),
    // the UI starts the container itself (lxc/start) once the deployment's VMs are made
    lxc_start_after_create: false,
    ...pick({
      lxc_name: b.hostname, lxc_cores: b.cores, lxc_memory: b.memory, lxc_swap: b.swap,
      lxc_password: b.password === '' ? null : b.password, lxc_ssh_pubkeys: b.ssh_public_keys, lxc_unprivileged: b.unprivileged,
      proxmox_storage: b.proxmox_storage,
      lxc_disk_size: typeof b.rootfs_size === 'string' && b.rootfs_size !== '' ? Number(b.rootfs_size.replace(/[Gg]$/, '')) : null,
    }, ['lxc_name', 'lxc_cores', 'lxc_memory', 'lxc_swap', 'lxc_password', 'lxc_ssh_pubkeys', 'lxc_unprivileged', 'proxmox_storage', 'lxc_disk_size']),
  };
  if (typeof b.net0 === 'string' && b.net0 !== '') {
    vars.lxc_net0 = b.net0;
    for (const part of b.net0.split(',')) {
      const [key = '', value = ''] = part.split('=', 2);
      const name = NET0_PARTS[key];
      if (name && value !== '') vars[name] = value;
    }
  }
  return vars;
}

/**
 * The template of a creation: the request's; else LXC_DEFAULT_TEMPLATE; else the first container
 * template on the node's storage (a canvas container of the deployer UI has no template field).
 * The role publishes which one was used and why (`lxc_os_template_source`).
 */
async function withTemplate(b: Body, ctx: RouteContext, field: 'ostemplate' | 'lxc_template', vars: Body): Promise<Body> {
  const given = b[field];
  if (typeof given === 'string' && given !== '') return { ...vars, lxc_template: given };
  const configured = ctx.config.lxcDefaultTemplate;
  if (configured) return { ...vars, lxc_template: configured, lxc_template_source: `LXC_DEFAULT_TEMPLATE (the request has no ${field})` };
  const reads = proxmoxReads(ctx);
  const node = reads.nodeOf(nodeOrNull(b));
  const [first] = await reads.containerTemplates(node);
  if (!first) {
    throw fieldError(field, `Field required: LXC_DEFAULT_TEMPLATE is not set and node ${node} has no container template on its storage`, given ?? null);
  }
  return { ...vars, lxc_template: first, lxc_template_source: `the first container template on the storage of node ${node} (the request has no ${field} and LXC_DEFAULT_TEMPLATE is not set)` };
}

const power = (url: string, operationId: string, action: string, summary: string, body: RouteDef['body'], hidden = false): RouteDef => ({
  method: 'POST', url, operationId, tags: TAGS, summary, hidden,
  body, output: { resultKey: action },
  plan: (b, ctx) => roleRun(ctx, action, ctVars(b)),
});

/** Delete: the container's name is read first (the upstream role reports it, and an unknown id is a 404). */
const remove = (url: string, operationId: string, body: RouteDef['body']): RouteDef => ({
  method: 'DELETE', url, operationId, tags: TAGS, summary: 'Delete a container',
  description: 'The container name is read from the Proxmox API first; an unknown id is a 404 and nothing runs.',
  body, output: { resultKey: 'lxc_delete' },
  plan: async (b, ctx: RouteContext) => roleRun(ctx, 'lxc_delete', { ...ctVars(b), lxc_name: await ctx.resolveVmName(nodeOrNull(b), String(b.vm_id), 'lxc') }),
});

/**
 * Containers, which the current deployer UI lists next to VMs (not in the original API). Two path
 * families: `/lxc/vm_id/<verb>` with the API's `lxc_*` field names, and the UI's own `/lxc/<verb>`
 * with Proxmox's parameter names (hostname, ostemplate, rootfs_size, net0, ...).
 */
export const lxcRoutes: RouteDef[] = [
  {
    method: 'POST', url: `${LXC}/list`, operationId: 'lxc_list', tags: TAGS, summary: 'List the containers of a node',
    body: S.NodeRequest, output: { resultKey: 'lxc_list' },
    plan: (b, ctx) => roleRun(ctx, 'lxc_list', pick(b, ['proxmox_node'], 'truthy')),
  },
  {
    method: 'POST', url: `${LXC}/vm_id/create`, operationId: 'lxc_create', tags: TAGS, summary: 'Create a container',
    body: S.LxcCreateRequest, output: { resultKey: 'lxc_create' },
    plan: async (b, ctx) => roleRun(ctx, 'lxc_create', await withTemplate(b, ctx, 'lxc_template', { ...ctVars(b), ...pick(b, LXC_CREATE_FIELDS) })),
  },
  power(`${LXC}/vm_id/start`, 'lxc_start', 'lxc_start', 'Start a container', CtRequest),
  power(`${LXC}/vm_id/stop`, 'lxc_stop', 'lxc_stop', 'Shut a container down', CtRequest),
  remove(`${LXC}/vm_id/delete`, 'lxc_delete', CtRequest),
  {
    method: 'POST', url: `${LXC}/create`, operationId: 'lxc_create_ui', tags: TAGS, summary: 'Create a container (deployer UI fields)',
    description: 'The deployer UI\'s body: hostname, ostemplate, cores, memory, swap, rootfs_size ("8G"), net0, password, ssh_public_keys, unprivileged. Without ostemplate: LXC_DEFAULT_TEMPLATE, else the first container template on the node\'s storage; the result names it (`lxc_os_template_source`).',
    body: S.LxcCreateUiRequest, output: { resultKey: 'lxc_create' },
    plan: async (b, ctx) => roleRun(ctx, 'lxc_create', await withTemplate(b, ctx, 'ostemplate', uiCreateVars(b))),
  },
  power(`${LXC}/start`, 'lxc_start_ui', 'lxc_start', 'Start a container (deployer UI path)', CtUiRequest),
  power(`${LXC}/stop`, 'lxc_stop_ui', 'lxc_stop', 'Shut a container down (deployer UI path)', CtUiRequest),
  remove(`${LXC}/delete`, 'lxc_delete_ui', CtUiRequest),
];
