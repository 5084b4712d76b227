import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { call, client, data, waitTask } from './client.js';

/**
 * Endpoints common clients call that used to answer 501 (issue 16): uploads, the appliance index,
 * disk moves and unlinks, groups, RRD data, the guest agent, firewall IP sets and refs, and the
 * interfaces of a container. Each answers in the shape of the 8.4 schema's `returns`.
 */

let sim: Simulator;
let api: ReturnType<typeof client>;
const N = '/nodes/px-testing';

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  api = client(sim);
});
afterAll(async () => sim.close());
beforeEach(() => sim.reset());

const done = async (reply: ReturnType<typeof api.post>) => {
  const upid = await data<string>(reply);
  expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'OK' });
  return upid;
};

/** A multipart body as proxmoxer sends it: the fields first, then the file part named `filename`. */
function multipart(fields: Record<string, string>, filename: string, size: number) {
  const boundary = 'sim-test-boundary-7f3a';
  const parts = Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('');
  const head = `${parts}--${boundary}\r\nContent-Disposition: form-data; name="filename"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), Buffer.alloc(size, 0x41), Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

async function upload(storage: string, fields: Record<string, string>, filename: string, size: number) {
  const { body, contentType } = multipart(fields, filename, size);
  // The simulator client writes strings; a latin1 string keeps every byte of the body as it is.
  return call(sim, 'POST', `${N}/storage/${storage}/upload`, {}, { rawBody: body.toString('latin1'), headers: { 'Content-Type': contentType } });
}

describe('storage upload (pve-storage API2/Storage/Status.pm upload)', () => {
  // The file part is spooled by pve-http-server to /var/tmp/pveupload-*, then an `imgcopy` task
  // copies it into template/iso (ISO), template/cache (vztmpl) or import/ of the storage.
  it('takes a multipart ISO of any size into the storage in an imgcopy task', async () => {
    for (const [name, size] of [['small.iso', 2048], ['large.iso', 3 * 1024 * 1024 + 17]] as const) {
      const r = await upload('local', { content: 'iso' }, name, size);
      expect(r.status, r.raw).toBe(200);
      const upid = r.body!.data as string;
      expect(upid.split(':')[5]).toBe('imgcopy');
      expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'OK' });
      const log = (await data<{ t: string }[]>(api.get(`${N}/tasks/${upid}/log`))).map((l) => l.t);
      expect(log).toContain(`target file: /var/lib/vz/template/iso/${name}`);
      expect(log).toContain(`file size is: ${size}`);
      const isos = await data<{ volid: string; size: number; format: string }[]>(api.get(`${N}/storage/local/content`, { content: 'iso' }));
      expect(isos.find((v) => v.volid === `local:iso/${name}`)).toMatchObject({ size, format: 'iso' });
    }
  });

  it('refuses a wrong extension (400), a block storage and an unconfigured content type (500)', async () => {
    const ext = await upload('local', { content: 'iso' }, 'notes.txt', 10);
    expect([ext.status, ext.body!.errors]).toEqual([400, { filename: 'wrong file extension' }]);
    const block = await upload('local-lvm', { content: 'iso' }, 'a.iso', 10);
    expect([block.status, block.reason]).toEqual([500, "can't upload to storage type 'lvmthin'"]);
    const missing = await call(sim, 'POST', `${N}/storage/local/upload`, { content: 'iso', filename: 'x.iso' });
    expect([missing.status, missing.reason]).toEqual([500, 'missing temporary file name']);
  });
});

describe('appliance templates (pve-manager API2/Nodes.pm aplinfo, apl_download)', () => {
  it('lists the appliance index and downloads one into vztmpl in a download task', async () => {
    const list = await data<Record<string, string>[]>(api.get(`${N}/aplinfo`));
    const alpine = list.find((a) => a.package === 'alpine-3.21-default')!;
    expect(alpine).toMatchObject({ type: 'lxc', section: 'system', os: 'alpine', template: 'alpine-3.21-default_20241217_amd64.tar.xz', architecture: 'amd64' });
    expect(alpine.location).toBe(`http://download.proxmox.com/images/system/${alpine.template}`);
    expect(alpine.sha512sum).toMatch(/^[0-9a-f]{128}$/);
    const upid = await done(api.post(`${N}/aplinfo`, { storage: 'local', template: alpine.template }));
    expect(upid.split(':').slice(5, 7)).toEqual(['download', alpine.template]);
    const tmpl = await data<{ volid: string; format: string }[]>(api.get(`${N}/storage/local/content`, { content: 'vztmpl' }));
    expect(tmpl.find((v) => v.volid === `local:vztmpl/${alpine.template}`)).toMatchObject({ format: 'txz' });
  });

  it('answers PVE\'s errors for an unknown template and a storage without vztmpl', async () => {
    const unknown = await api.post(`${N}/aplinfo`, { storage: 'local', template: 'nope.tar.zst' });
    expect([unknown.status, unknown.body!.errors]).toEqual([400, { template: 'no such template' }]);
    const lvm = await api.post(`${N}/aplinfo`, { storage: 'local-lvm', template: 'debian-12-standard_12.7-1_amd64.tar.zst' });
    expect([lvm.status, lvm.reason]).toEqual([500, "storage 'local-lvm' does not support templates"]);
  });
});

describe('disk move and unlink (qemu-server API2/Qemu.pm move_vm_disk, unlink)', () => {
  // move_vm_disk: the copy runs in a `qmmove` task; the old volume stays as unusedN unless delete=1.
  it('moves a disk to another storage, keeping the old volume as unused0', async () => {
    const refused = await api.post(`${N}/qemu/3001/move_disk`, { disk: 'scsi0', storage: 'local' });
    expect([refused.status, refused.body!.errors]).toEqual([400, { storage: "storage 'local' does not support vm images" }]);
    sim.state.storages.find((s) => s.storage === 'local')!.content += ',images';
    sim.touch();
    await done(api.post(`${N}/qemu/3001/move_disk`, { disk: 'scsi0', storage: 'local' }));
    const cfg = await data<Record<string, unknown>>(api.get(`${N}/qemu/3001/config`));
    expect(cfg.scsi0).toBe('local:3001/vm-3001-disk-0.qcow2,iothread=1,size=20G');
    expect(cfg.unused0).toBe('local-lvm:vm-3001-disk-0');
    await done(api.post(`${N}/qemu/3001/move_disk`, { disk: 'scsi0', storage: 'local-lvm', delete: 1 }));
    const back = await data<Record<string, unknown>>(api.get(`${N}/qemu/3001/config`));
    expect(back.scsi0).toBe('local-lvm:vm-3001-disk-1,iothread=1,size=20G');
    expect(back.unused1).toBeUndefined();
  });

  it('refuses what move_vm_disk refuses', async () => {
    const same = await api.post(`${N}/qemu/3001/move_disk`, { disk: 'scsi0', storage: 'local-lvm' });
    expect([same.status, same.reason]).toEqual([500, "you can't move to the same storage with same format"]);
    const none = await api.post(`${N}/qemu/3001/move_disk`, { disk: 'scsi0' });
    expect(none.status).toBe(400);
    expect(none.body!.errors!.storage).toBe("both 'storage' and 'target-vmid' missing, either needs to be set");
    const missing = await api.post(`${N}/qemu/3001/move_disk`, { disk: 'scsi5', storage: 'local' });
    expect(missing.reason).toBe("disk 'scsi5' does not exist");
  });

  // unlink calls update_vm with delete=<idlist>: a drive becomes unusedN unless force=1; an unused
  // disk is destroyed (try_deallocate_drive).
  it('unlinks a disk to unused0, then destroys it with force', async () => {
    await data(api.put(`${N}/qemu/3001/unlink`, { idlist: 'scsi0' }));
    const cfg = await data<Record<string, unknown>>(api.get(`${N}/qemu/3001/config`));
    expect([cfg.scsi0, cfg.unused0]).toEqual([undefined, 'local-lvm:vm-3001-disk-0']);
    await data(api.put(`${N}/qemu/3001/unlink`, { idlist: 'unused0', force: 1 }));
    expect((await data<Record<string, unknown>>(api.get(`${N}/qemu/3001/config`))).unused0).toBeUndefined();
    const volumes = await data<{ volid: string }[]>(api.get(`${N}/storage/local-lvm/content`, { vmid: 3001 }));
    expect(volumes.map((v) => v.volid)).not.toContain('local-lvm:vm-3001-disk-0');
  });
});

describe('access groups (pve-access-control API2/Group.pm)', () => {
  it('lists groups with their users and reads one', async () => {
    expect(await data(api.get('/access/groups'))).toEqual([{ groupid: 'range42-operators', comment: 'Range42 API and administrators', users: 'range42_api@pam,root@pam' }]);
    expect(await data(api.get('/access/groups/range42-operators'))).toEqual({ members: ['range42_api@pam', 'root@pam'], comment: 'Range42 API and administrators' });
    const unknown = await api.get('/access/groups/nobody');
    expect([unknown.status, unknown.reason]).toEqual([500, "group 'nobody' does not exist"]);
  });
});

type RrdRow = { time: number } & Record<string, number>;

describe('rrddata (pve-cluster PVE/RRD.pm create_rrd_data)', () => {
  // 70 rows per timeframe at the RRA's step; rows without data carry only `time`.
  it('serves node and guest series with PVE\'s fields and steps', async () => {
    const node = await data<RrdRow[]>(api.get(`${N}/rrddata`, { timeframe: 'hour' }));
    expect(node).toHaveLength(70);
    expect(node[1]!.time - node[0]!.time).toBe(60);
    expect(Object.keys(node.at(-1)!).sort()).toEqual(['cpu', 'iowait', 'loadavg', 'maxcpu', 'memtotal', 'memused', 'netin', 'netout', 'roottotal', 'rootused', 'swaptotal', 'swapused', 'time']);
    const vm = await data<RrdRow[]>(api.get(`${N}/qemu/1000/rrddata`, { timeframe: 'day', cf: 'AVERAGE' }));
    expect(vm[1]!.time - vm[0]!.time).toBe(1800);
    expect(vm.at(-1)).toMatchObject({ maxcpu: 4, maxmem: 8192 * 1024 * 1024 });
    expect(vm.at(-1)!.cpu).toBeGreaterThan(0);
    expect((await data<RrdRow[]>(api.get(`${N}/qemu/3001/rrddata`, { timeframe: 'hour' }))).every((r) => Object.keys(r).join() === 'time')).toBe(true);
    expect((await data<unknown[]>(api.get(`${N}/lxc/200/rrddata`, { timeframe: 'week' })))).toHaveLength(70);
    const missing = await api.get(`${N}/qemu/999/rrddata`, { timeframe: 'hour' });
    expect([missing.status, missing.reason]).toEqual([500, "RRD error: opening '/var/lib/rrdcached/db/pve2-vm/999': No such file or directory"]);
  });
});

describe('guest agent (qemu-server QemuServer/Agent.pm agent_available)', () => {
  // In order: no `agent` in the config, VM not running, agent socket not answering. No simulated
  // guest runs an agent, so a running VM with agent=1 gets the last one.
  it('answers as a VM whose agent is not running, for ping and the reads clients use', async () => {
    for (const [method, path] of [['POST', 'ping'], ['GET', 'network-get-interfaces'], ['GET', 'get-osinfo']] as const) {
      const running = await call(sim, method, `${N}/qemu/1000/agent/${path}`);
      expect([running.status, running.reason], path).toEqual([500, 'QEMU guest agent is not running']);
      const stopped = await call(sim, method, `${N}/qemu/3001/agent/${path}`);
      expect([stopped.status, stopped.reason], path).toEqual([500, 'VM 3001 is not running']);
    }
    const generic = await api.post(`${N}/qemu/1000/agent`, { command: 'get-host-name' });
    expect(generic.reason).toBe('QEMU guest agent is not running');
    await data(api.put(`${N}/qemu/3001/config`, { delete: 'agent' }));
    expect((await api.post(`${N}/qemu/3001/agent/ping`)).reason).toBe('No QEMU guest agent configured');
    expect((await api.post(`${N}/qemu/999/agent/ping`)).reason).toBe("Configuration file 'nodes/px-testing/qemu-server/999.conf' does not exist");
  });
});

describe('firewall IP sets and refs (pve-firewall API2/Firewall/IPSet.pm, VM.pm refs)', () => {
  const F = `${N}/qemu/1000/firewall`;
  it('creates a set, adds entries at the top, reads one by its CIDR path, refuses duplicates and zero prefixes', async () => {
    await data(api.post(`${F}/ipset`, { name: 'servers', comment: 'web tier' }));
    expect((await api.post(`${F}/ipset`, { name: 'servers' })).body!.errors).toEqual({ name: "IPSet 'servers' already exists" });
    await data(api.post(`${F}/ipset/servers`, { cidr: '10.0.0.0/24' }));
    await data(api.post(`${F}/ipset/servers`, { cidr: '10.0.1.5', comment: 'db', nomatch: 1 }));
    const entries = await data<Record<string, unknown>[]>(api.get(`${F}/ipset/servers`));
    expect(entries.map((e) => e.cidr)).toEqual(['10.0.1.5', '10.0.0.0/24']);
    expect(entries[0]).toMatchObject({ comment: 'db', nomatch: 1 });
    expect(entries[0]!.digest).toMatch(/^[0-9a-f]{40}$/);
    expect(entries[1]!.digest).toBe(entries[0]!.digest);
    expect(await data(api.get(`${F}/ipset/servers/10.0.0.0/24`))).toMatchObject({ cidr: '10.0.0.0/24' });
    expect((await api.post(`${F}/ipset/servers`, { cidr: '10.0.0.0/24' })).body!.errors).toEqual({ cidr: "address '10.0.0.0/24' already exists" });
    expect((await api.post(`${F}/ipset/servers`, { cidr: '0.0.0.0/0' })).body!.errors).toEqual({ cidr: 'a zero prefix is not allowed in ipset entries' });
    expect(await data(api.get(`${F}/ipset`))).toEqual([{ name: 'servers', comment: 'web tier', digest: expect.stringMatching(/^[0-9a-f]{40}$/) }]);
  });

  it('deletes entries and sets as pve-firewall does', async () => {
    await data(api.post(`${F}/ipset`, { name: 'servers' }));
    await data(api.post(`${F}/ipset/servers`, { cidr: '10.0.0.0/24' }));
    const full = await api.del(`${F}/ipset/servers`);
    expect([full.status, full.reason]).toEqual([500, "IPSet 'servers' is not empty"]);
    await data(api.put(`${F}/ipset/servers/10.0.0.0/24`, { comment: 'kept' }));
    expect((await api.get(`${F}/ipset/servers/10.9.9.9`)).body!.errors).toEqual({ cidr: 'no such IP/Network' });
    await data(api.del(`${F}/ipset/servers/10.0.0.0/24`));
    await data(api.del(`${F}/ipset/servers`));
    const gone = await api.get(`${F}/ipset/servers`);
    expect([gone.status, gone.reason]).toEqual([500, "no such IPSet 'servers'"]);
  });

  // Helpers.pm collect_refs: IP sets as `+name`, aliases by name, datacenter ones first (scope dc), then the guest's.
  it('lists the aliases and IP sets a rule of the VM may reference', async () => {
    await data(api.post('/cluster/firewall/aliases', { name: 'Office', cidr: '192.0.2.0/24', comment: 'hq' }));
    await data(api.post(`${F}/ipset`, { name: 'servers' }));
    await data(api.post(`${F}/aliases`, { name: 'gw', cidr: '192.168.142.1' }));
    expect(await data(api.get(`${F}/refs`))).toEqual([
      { type: 'alias', name: 'office', ref: 'office', scope: 'dc', comment: 'hq' },
      { type: 'ipset', name: 'servers', ref: '+servers', scope: 'guest' },
      { type: 'alias', name: 'gw', ref: 'gw', scope: 'guest' },
    ]);
    expect(await data(api.get(`${F}/refs`, { type: 'ipset' }))).toEqual([{ type: 'ipset', name: 'servers', ref: '+servers', scope: 'guest' }]);
  });
});

describe('container interfaces (pve-container LXC.pm get_interfaces)', () => {
  // What `ip --json a` shows in the container's namespace; a stopped container has none (null).
  it('lists lo and the NICs of a running container, and nothing for a stopped one', async () => {
    const ifaces = await data<Record<string, unknown>[]>(api.get(`${N}/lxc/200/interfaces`));
    expect(ifaces.map((i) => i.name)).toEqual(['lo', 'eth0']);
    expect(ifaces[1]).toEqual({
      name: 'eth0', inet: '192.168.142.53/24', hwaddr: 'bc:24:11:02:00:00', 'hardware-address': 'bc:24:11:02:00:00',
      'ip-addresses': [{ 'ip-address-type': 'inet', 'ip-address': '192.168.142.53', prefix: 24 }],
    });
    await done(api.post(`${N}/lxc/200/status/stop`));
    const stopped = await api.get(`${N}/lxc/200/interfaces`);
    expect([stopped.status, stopped.body]).toEqual([200, { data: null }]);
  });
});
