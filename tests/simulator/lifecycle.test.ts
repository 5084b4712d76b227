import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { client, data, waitTask } from './client.js';

/** VM state model through the real HTTPS API: create, power, config, clone, template, delete. */

let sim: Simulator;
let api: ReturnType<typeof client>;
const N = '/nodes/px-testing';

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  api = client(sim);
});
afterAll(async () => sim.close());
beforeEach(() => sim.reset());

const UPID = /^UPID:px-testing:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[a-z]+:\d*:range42_api@pam!r42:$/;

async function ok(upidPromise: Promise<unknown>) {
  const upid = await data<string>(upidPromise as never);
  expect(upid).toMatch(UPID);
  expect(await waitTask(sim, upid)).toMatchObject({ status: 'stopped', exitstatus: 'OK' });
  return upid;
}

describe('create and read a VM', () => {
  it('allocates disks, fills in MACs and normalises tags, then shows the config with a digest', async () => {
    await ok(api.post(`${N}/qemu`, { vmid: 700, name: 'web-01', cores: 2, memory: 2048, net0: 'virtio,bridge=vmbr0,firewall=1', scsi0: 'local-lvm:8,iothread=1', ide2: 'local:iso/debian-12.10.0-amd64-netinst.iso,media=cdrom', tags: 'Web;prod,web' }));
    const cfg = await data<Record<string, unknown>>(api.get(`${N}/qemu/700/config`));
    expect(cfg.net0).toMatch(/^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0,firewall=1$/);
    expect(cfg.scsi0).toBe('local-lvm:vm-700-disk-0,iothread=1,size=8G');
    expect(cfg.ide2).toBe('local:iso/debian-12.10.0-amd64-netinst.iso,media=cdrom,size=631M');
    expect(cfg.tags).toBe('prod;web');
    expect(cfg.cores).toBe(2);
    expect(cfg.memory).toBe('2048');
    expect(cfg.digest).toMatch(/^[0-9a-f]{40}$/);
    expect(cfg.smbios1).toMatch(/^uuid=[0-9a-f-]{36}$/);
    expect(cfg.vmid).toBeUndefined();
    const content = await data<{ volid: string; vmid?: number }[]>(api.get(`${N}/storage/local-lvm/content`, { vmid: 700 }));
    expect(content.map((v) => v.volid)).toEqual(['local-lvm:vm-700-disk-0']);
  });

  it('refuses an existing id at once (500, no task) and a missing VM with the config-file message', async () => {
    const dup = await api.post(`${N}/qemu`, { vmid: 1000 });
    expect(dup.status).toBe(500);
    expect(dup.reason).toBe("unable to create VM 1000 - VM 1000 already exists on node 'px-testing'");
    const missing = await api.get(`${N}/qemu/999/status/current`);
    expect(missing.status).toBe(500);
    expect(missing.body).toEqual({ data: null, message: "Configuration file 'nodes/px-testing/qemu-server/999.conf' does not exist\n" });
  });

  it('fails inside the task when a disk volume does not exist, and removes the half-made VM', async () => {
    const upid = await data<string>(api.post(`${N}/qemu`, { vmid: 701, ide2: 'local:iso/nope.iso,media=cdrom' }));
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: "volume 'local:iso/nope.iso' does not exist" });
    const log = await data<{ n: number; t: string }[]>(api.get(`${N}/tasks/${upid}/log`));
    expect(log.at(-1)!.t).toBe("TASK ERROR: volume 'local:iso/nope.iso' does not exist");
    expect((await api.get(`${N}/qemu/701/config`)).status).toBe(500);
  });
});

describe('power state machine', () => {
  it('start, pause (status stays running), resume, shutdown, with PVE errors on the way', async () => {
    await ok(api.post(`${N}/qemu/4001/status/start`));
    expect(await data(api.get(`${N}/qemu/4001/status/current`))).toMatchObject({ status: 'running', qmpstatus: 'running', vmid: 4001 });

    const again = await data<string>(api.post(`${N}/qemu/4001/status/start`));
    expect(await waitTask(sim, again)).toMatchObject({ exitstatus: 'VM 4001 already running' });

    await ok(api.post(`${N}/qemu/4001/status/suspend`));
    expect(await data(api.get(`${N}/qemu/4001/status/current`))).toMatchObject({ status: 'running', qmpstatus: 'paused' });
    const blocked = await api.post(`${N}/qemu/4001/status/shutdown`);
    expect([blocked.status, blocked.reason]).toEqual([500, 'VM is paused - cannot shutdown']);

    await ok(api.post(`${N}/qemu/4001/status/resume`));
    const del = await api.del(`${N}/qemu/4001`);
    expect([del.status, del.reason]).toEqual([500, 'VM 4001 is running - destroy failed']);

    await ok(api.post(`${N}/qemu/4001/status/shutdown`));
    expect(await data(api.get(`${N}/qemu/4001/status/current`))).toMatchObject({ status: 'stopped', qmpstatus: 'stopped', uptime: 0 });
    await ok(api.post(`${N}/qemu/4001/status/stop`)); // stopping a stopped VM succeeds
    const reset = await api.post(`${N}/qemu/4001/status/reset`);
    expect([reset.status, reset.reason]).toEqual([500, 'VM 4001 not running']);
  });

  it('refuses to start a template inside the task', async () => {
    const upid = await data<string>(api.post(`${N}/qemu/9221/status/start`));
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: "you can't start a vm if it's a template" });
  });

  it('reports start of an unknown VM as a failed task, reset of one as a 500', async () => {
    const upid = await data<string>(api.post(`${N}/qemu/555/status/start`));
    expect((await waitTask(sim, upid)).exitstatus).toBe("Configuration file 'nodes/px-testing/qemu-server/555.conf' does not exist");
    const reset = await api.post(`${N}/qemu/555/status/reset`);
    expect(reset.reason).toBe("unable to find configuration file for VM 555 on node 'px-testing'");
  });

  it('keeps /cluster/resources in step with numeric vmids', async () => {
    await ok(api.post(`${N}/qemu/4000/status/stop`));
    const vms = await data<{ vmid: number; status: string; type: string }[]>(api.get('/cluster/resources', { type: 'vm' }));
    expect(vms.find((v) => v.vmid === 4000)).toMatchObject({ status: 'stopped', type: 'qemu', id: 'qemu/4000' });
    expect(vms.every((v) => typeof v.vmid === 'number')).toBe(true);
  });

  it('makes the figures of running VMs move and keeps stopped ones at zero', async () => {
    const read = async () => (await data<Record<string, number>[]>(api.get(`${N}/qemu`))).find((v) => v.vmid === 1000)!;
    const a = await read();
    await new Promise((r) => setTimeout(r, 250));
    const b = await read();
    expect(b.netin).toBeGreaterThan(a.netin!);
    expect(b.cpu).not.toBe(a.cpu);
    expect(a.uptime).toBeGreaterThan(1000);
    const stopped = (await data<Record<string, number>[]>(api.get(`${N}/qemu`))).find((v) => v.vmid === 3001)!;
    expect([stopped.cpu, stopped.mem, stopped.netin, stopped.uptime]).toEqual([0, 0, 0, 0]);
  });
});

describe('config updates', () => {
  it('applies at once when stopped, keeps cores pending on a running VM until it stops', async () => {
    await data(api.put(`${N}/qemu/3001/config`, { cores: 4 }));
    expect((await data<Record<string, unknown>>(api.get(`${N}/qemu/3001/config`))).cores).toBe(4);

    await data(api.put(`${N}/qemu/1000/config`, { cores: 8, description: 'SIEM' }));
    const pending = await data<{ key: string; value?: unknown; pending?: unknown }[]>(api.get(`${N}/qemu/1000/pending`));
    expect(pending.find((p) => p.key === 'cores')).toEqual({ key: 'cores', value: 4, pending: 8 });
    expect(pending.find((p) => p.key === 'description')).toEqual({ key: 'description', value: 'SIEM' });
    expect((await data<Record<string, unknown>>(api.get(`${N}/qemu/1000/config`, { current: 1 }))).cores).toBe(4);
    await ok(api.post(`${N}/qemu/1000/status/stop`));
    expect((await data<Record<string, unknown>>(api.get(`${N}/qemu/1000/config`, { current: 1 }))).cores).toBe(8);
  });

  it('checks digest, delete lists and empty updates like PVE', async () => {
    const stale = await api.put(`${N}/qemu/3001/config`, { cores: 2, digest: '0'.repeat(40) });
    expect([stale.status, stale.reason]).toEqual([500, 'checksum mismatch (file change by other user?)']);
    const none = await api.put(`${N}/qemu/3001/config`, {});
    expect([none.status, none.reason]).toEqual([500, 'no options specified']);
    const unknown = await api.put(`${N}/qemu/3001/config`, { delete: 'bogus' });
    expect(unknown.status).toBe(400);
    expect(unknown.body!.errors).toEqual({ delete: "unknown option 'bogus'" });
    await data(api.put(`${N}/qemu/3001/config`, { delete: 'ipconfig0,ciuser' }));
    const cfg = await data<Record<string, unknown>>(api.get(`${N}/qemu/3001/config`));
    expect(cfg.ipconfig0).toBeUndefined();
    expect(cfg.ciuser).toBeUndefined();
  });

  it('POST config answers a UPID (async variant) and masks cipassword on reads', async () => {
    await ok(api.post(`${N}/qemu/3001/config`, { cipassword: 's3cret', tags: 'b a' }));
    const cfg = await data<Record<string, unknown>>(api.get(`${N}/qemu/3001/config`));
    expect(cfg.cipassword).toBe('**********');
    expect(cfg.tags).toBe('a;b');
  });
});

describe('clone and template', () => {
  it('links clones of templates by default, gives new MACs and the Copy-of-VM name', async () => {
    await ok(api.post(`${N}/qemu/9221/clone`, { newid: 710 }));
    const cfg = await data<Record<string, string>>(api.get(`${N}/qemu/710/config`));
    expect(cfg.name).toBe('Copy-of-VM-ubuntu-24.04-template');
    expect(cfg.scsi0).toMatch(/^local-lvm:base-9221-disk-0\/vm-710-disk-0,/);
    expect(cfg.net0).not.toContain('BC:24:11:92:21:00');
    expect(cfg.template).toBeUndefined();
    const src = await data<Record<string, string>>(api.get(`${N}/qemu/9221/config`));
    expect(src.lock).toBeUndefined();
  });

  it('full-copies with full=1 onto another storage name check, and refuses a used target id', async () => {
    await ok(api.post(`${N}/qemu/9221/clone`, { newid: 711, name: 'vuln-box-09', full: 1 }));
    const cfg = await data<Record<string, string>>(api.get(`${N}/qemu/711/config`));
    expect(cfg.scsi0).toBe('local-lvm:vm-711-disk-0,iothread=1,size=32G');
    const taken = await api.post(`${N}/qemu/9221/clone`, { newid: 711 });
    expect([taken.status, taken.reason]).toEqual([500, 'unable to create VM 711: config file already exists']);
    const linkedStorage = await api.post(`${N}/qemu/9221/clone`, { newid: 712, full: 0, storage: 'local-lvm' });
    expect(linkedStorage.status).toBe(400);
  });

  it('shows lock: clone on the new VM while a slow clone runs', async () => {
    sim.setTaskDurations({ clone: 400 });
    try {
      const upid = await data<string>(api.post(`${N}/qemu/9221/clone`, { newid: 713 }));
      expect(upid.split(':')[6]).toBe('9221'); // qmclone tasks carry the source id
      const during = await data<{ vmid: number; lock?: string }[]>(api.get(`${N}/qemu`));
      expect(during.find((v) => v.vmid === 713)!.lock).toBe('clone');
      expect((await data<{ status: string }>(api.get(`${N}/tasks/${encodeURIComponent(upid)}/status`))).status).toBe('running');
      expect((await waitTask(sim, upid)).exitstatus).toBe('OK');
      const after = await data<{ vmid: number; lock?: string }[]>(api.get(`${N}/qemu`));
      expect(after.find((v) => v.vmid === 713)!.lock).toBeUndefined();
    } finally {
      sim.setTaskDurations({ clone: null });
    }
  });

  it('converts a stopped VM to a template with base- disks and refuses a running one', async () => {
    await ok(api.post(`${N}/qemu/3001/template`));
    const cfg = await data<Record<string, unknown>>(api.get(`${N}/qemu/3001/config`));
    expect(cfg.template).toBe(1);
    expect(cfg.scsi0).toMatch(/^local-lvm:base-3001-disk-0,/);
    const running = await api.post(`${N}/qemu/1000/template`);
    expect(running.reason).toBe("you can't convert a VM to template if VM is running");
  });

  it('deletes a stopped VM with its volumes', async () => {
    await ok(api.del(`${N}/qemu/3001`));
    expect((await api.get(`${N}/qemu/3001/config`)).status).toBe(500);
    const content = await data<{ vmid?: number }[]>(api.get(`${N}/storage/local-lvm/content`));
    expect(content.some((v) => v.vmid === 3001)).toBe(false);
  });
});

describe('cluster views', () => {
  it('gives the next free id as a string and checks a wanted one', async () => {
    expect(await data(api.get('/cluster/nextid'))).toBe('100');
    const taken = await api.get('/cluster/nextid', { vmid: 1000 });
    expect(taken.status).toBe(400);
    expect(taken.body!.errors).toEqual({ vmid: 'VM 1000 already exists' });
  });

  it('lists nodes with their state and the version', async () => {
    const nodes = await data<{ node: string; status: string }[]>(api.get('/nodes'));
    expect(nodes.map((n) => [n.node, n.status])).toEqual([['px-testing', 'online'], ['px-lab-02', 'online']]);
    expect(await data(api.get('/version'))).toMatchObject({ version: '8.4.1', release: '8.4' });
  });
});
