import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAll } from '../../src/simulator/handlers/index.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { Router } from '../../src/simulator/router.js';
import { call, data, waitTask, type PveReply } from './client.js';

/**
 * Issue 24, item 12: qemu-server only loads `nodes/<node>/qemu-server/<vmid>.conf` and
 * pve-container only `nodes/<node>/lxc/<vmid>.conf`, so to the qemu API a container id is a
 * missing VM, and to the lxc API a VM id is a missing container. Every served guest verb, through
 * the simulator's HTTPS API, on a guest of the other type answers exactly what it answers for an
 * id nobody uses (status, message, or the task's exit status), and changes nothing in the model.
 */

const NODE = 'px-testing';
const CT = 200; // the seed's container
const VM_RUNNING = 1000;
const VM_STOPPED = 4001;
const MISSING = 777;

const router = new Router();
registerAll(router);
/** Every guest verb served, but `rrddata`: it reads the cluster-wide RRD file by id (no config), on PVE too. */
const verbs = (type: 'qemu' | 'lxc') => router.entries.filter((e) => e.template.startsWith(`/nodes/{node}/${type}/{vmid}`) && !e.template.endsWith('/rrddata'));

/** Parameters a verb needs to get past validation (so the answer is the handler's, not a 400). */
const PARAMS: Record<string, Record<string, unknown>> = {
  'POST /clone': { newid: 778 },
  'PUT /resize': { disk: 'scsi0', size: '+1G' },
  'POST /move_disk': { disk: 'scsi0', storage: 'local-lvm' },
  'PUT /unlink': { idlist: 'unused0' },
  'POST /agent': { command: 'ping' },
  'PUT /config': { description: 'changed' },
  'POST /config': { description: 'changed' },
  'POST /snapshot': { snapname: 'probe' },
  'POST /firewall/rules': { type: 'in', action: 'ACCEPT' },
  'POST /firewall/aliases': { name: 'probe', cidr: '10.9.9.9' },
  'PUT /firewall/aliases/{name}': { cidr: '10.9.9.8' },
  'PUT /firewall/options': { enable: 1 },
  'POST /firewall/ipset': { name: 'probe' },
  'POST /firewall/ipset/{name}': { cidr: '10.9.9.7' },
};
const PATH_VALUES: Record<string, string> = { snapname: 'snap1', pos: '0', name: 'probe', cidr: '10.9.9.7' };

function request(template: string, method: string, vmid: number) {
  const type = template.split('/')[3]!;
  const rest = template.slice(`/nodes/{node}/${type}/{vmid}`.length);
  const path = template.replace('{node}', NODE).replace('{vmid}', String(vmid)).replace(/\{(\w+)\}/g, (_, k: string) => PATH_VALUES[k]!);
  return { path, params: PARAMS[`${method} ${rest}`] ?? {} };
}

/** What a call came to: status and message, or for a task its exit status; ids made comparable. */
async function outcome(sim: Simulator, r: PveReply, vmid: number): Promise<string> {
  const text = (s: string) => s.replaceAll(String(vmid), '<id>');
  if (r.status === 200 && typeof r.body?.data === 'string' && r.body.data.startsWith('UPID:')) {
    return `task: ${text((await waitTask(sim, r.body.data)).exitstatus ?? '')}`;
  }
  return `${r.status} ${text(r.reason)} ${text(JSON.stringify(r.body?.errors ?? r.body?.data ?? null))}`;
}

/** The model but the task list, as JSON. */
const model = (sim: Simulator) => JSON.stringify(sim.state);

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
});
afterAll(async () => sim.close());

describe('a guest of the other type is a missing guest to each API', () => {
  it('qemu verbs on a container id: the missing VM\'s answers, the container untouched (stopped, then running)', async () => {
    for (const state of ['stop', 'start']) {
      await waitTask(sim, await data<string>(call(sim, 'POST', `/nodes/${NODE}/lxc/${CT}/status/${state}`)));
      const differ: string[] = [];
      for (const e of verbs('qemu')) {
        const before = model(sim);
        const onCt = request(e.template, e.method, CT);
        const got = await outcome(sim, await call(sim, e.method, onCt.path, onCt.params), CT);
        expect(model(sim), `${e.method} ${onCt.path} changed the model`).toBe(before);
        const missing = request(e.template, e.method, MISSING);
        const want = await outcome(sim, await call(sim, e.method, missing.path, missing.params), MISSING);
        expect(want, `${e.method} ${e.template}: parameters refused`).not.toMatch(/^400 /);
        if (got !== want) differ.push(`${e.method} ${e.template}: ${got} (a missing VM: ${want})`);
      }
      expect(differ).toEqual([]);
    }
  });

  it('lxc verbs on a VM id (running and stopped): the missing container\'s answers, the VM untouched', async () => {
    for (const vmid of [VM_RUNNING, VM_STOPPED]) {
      const differ: string[] = [];
      for (const e of verbs('lxc')) {
        const before = model(sim);
        const onVm = request(e.template, e.method, vmid);
        const got = await outcome(sim, await call(sim, e.method, onVm.path, onVm.params), vmid);
        expect(model(sim), `${e.method} ${onVm.path} changed the model`).toBe(before);
        const missing = request(e.template, e.method, MISSING);
        const want = await outcome(sim, await call(sim, e.method, missing.path, missing.params), MISSING);
        expect(want, `${e.method} ${e.template}: parameters refused`).not.toMatch(/^400 /);
        if (got !== want) differ.push(`${e.method} ${e.template}: ${got} (a missing CT: ${want})`);
      }
      expect(differ).toEqual([]);
    }
  });

  it('answers in Proxmox\'s words: the config file of the API\'s own type does not exist', async () => {
    const noQemu = `Configuration file 'nodes/${NODE}/qemu-server/${CT}.conf' does not exist`;
    const noLxc = (id: number) => `Configuration file 'nodes/${NODE}/lxc/${id}.conf' does not exist`;
    const q = `/nodes/${NODE}/qemu/${CT}`;
    for (const [method, path, params] of [
      ['GET', `${q}/config`, {}], ['PUT', `${q}/config`, { description: 'x' }], ['POST', `${q}/config`, { description: 'x' }],
      ['GET', `${q}/status/current`, {}], ['POST', `${q}/snapshot`, { snapname: 's1' }], ['GET', `${q}/snapshot`, {}],
      ['POST', `${q}/clone`, { newid: 778 }], ['DELETE', q, {}], ['POST', `${q}/template`, {}], ['PUT', `${q}/resize`, { disk: 'scsi0', size: '+1G' }],
    ] as const) {
      const r = await call(sim, method, path, params);
      expect([method, path, r.status, r.reason, r.body?.message]).toEqual([method, path, 500, noQemu, `${noQemu}\n`]);
    }
    // start forks its worker first, as qemu-server's vm_start does: the task fails on the missing config
    const upid = await data<string>(call(sim, 'POST', `${q}/status/start`));
    expect(await waitTask(sim, upid)).toMatchObject({ status: 'stopped', exitstatus: noQemu });
    // check_running asserts the config of reset/reboot/suspend/resume before any task
    const reset = await call(sim, 'POST', `${q}/status/reset`);
    expect([reset.status, reset.reason]).toEqual([500, `unable to find configuration file for VM ${CT} on node '${NODE}'`]);

    for (const vmid of [VM_RUNNING, VM_STOPPED]) {
      const l = `/nodes/${NODE}/lxc/${vmid}`;
      for (const [method, path, params] of [
        ['POST', `${l}/status/start`, {}], ['POST', `${l}/status/stop`, {}], ['POST', `${l}/status/shutdown`, {}],
        ['GET', `${l}/config`, {}], ['PUT', `${l}/config`, { description: 'x' }], ['GET', `${l}/status/current`, {}],
        ['POST', `${l}/snapshot`, { snapname: 's1' }], ['POST', `${l}/clone`, { newid: 779 }], ['DELETE', l, {}],
      ] as const) {
        const r = await call(sim, method, path, params);
        expect([method, path, r.status, r.reason]).toEqual([method, path, 500, noLxc(vmid)]);
      }
    }
  });

  it('move_disk to a container id is refused as a missing VM config, nothing moved', async () => {
    const before = model(sim);
    const r = await call(sim, 'POST', `/nodes/${NODE}/qemu/${VM_STOPPED}/move_disk`, { disk: 'scsi0', 'target-vmid': CT });
    expect([r.status, r.reason]).toEqual([500, `Configuration file 'nodes/${NODE}/qemu-server/${CT}.conf' does not exist`]);
    expect(model(sim)).toBe(before);
  });
});
