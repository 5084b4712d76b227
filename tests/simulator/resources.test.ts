import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { client, data, waitTask } from './client.js';

/** Snapshots, firewall, node network, storage and containers through the HTTPS API. */

let sim: Simulator;
let api: ReturnType<typeof client>;
const N = '/nodes/px-testing';

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  api = client(sim);
});
afterAll(async () => sim.close());
beforeEach(() => sim.reset());

async function ok(p: Promise<unknown>) {
  const upid = await data<string>(p as never);
  expect((await waitTask(sim, upid)).exitstatus).toBe('OK');
}

describe('snapshots', () => {
  it('lists real snapshots plus the current pseudo-entry last, and rolls back', async () => {
    await ok(api.post(`${N}/qemu/3001/snapshot`, { snapname: 'before', description: 'clean' }, { encoding: 'json' }));
    await data(api.put(`${N}/qemu/3001/config`, { cores: 6 }));
    await ok(api.post(`${N}/qemu/3001/snapshot`, { snapname: 'after' }));
    const list = await data<Record<string, unknown>[]>(api.get(`${N}/qemu/3001/snapshot`));
    expect(list.map((s) => s.name)).toEqual(['before', 'after', 'current']);
    expect(list[1]).toMatchObject({ parent: 'before', vmstate: 0 });
    expect(list[2]).toMatchObject({ description: 'You are here!', parent: 'after', running: 0, digest: expect.any(String) });

    await ok(api.post(`${N}/qemu/3001/snapshot/before/rollback`));
    const cfg = await data<Record<string, unknown>>(api.get(`${N}/qemu/3001/config`));
    expect([cfg.cores, cfg.parent, cfg.lock]).toEqual([2, 'before', undefined]);

    await ok(api.del(`${N}/qemu/3001/snapshot/before`));
    const left = await data<Record<string, unknown>[]>(api.get(`${N}/qemu/3001/snapshot`));
    expect(left.map((s) => s.name)).toEqual(['after', 'current']);
    expect(left[0]!.parent).toBeUndefined();
  });

  it('refuses reserved names at once and duplicates inside the task', async () => {
    const reserved = await api.post(`${N}/qemu/3001/snapshot`, { snapname: 'current' });
    expect([reserved.status, reserved.reason]).toEqual([500, "unable to use snapshot name 'current' (reserved name)"]);
    await ok(api.post(`${N}/qemu/3001/snapshot`, { snapname: 's1' }));
    const upid = await data<string>(api.post(`${N}/qemu/3001/snapshot`, { snapname: 's1' }));
    expect((await waitTask(sim, upid)).exitstatus).toBe("snapshot name 's1' already used");
    const rollback = await data<string>(api.post(`${N}/qemu/3001/snapshot/none/rollback`));
    expect((await waitTask(sim, rollback)).exitstatus).toBe("snapshot 'none' does not exist");
  });

  it('stops a running VM on rollback unless the snapshot had RAM or start=1', async () => {
    await ok(api.post(`${N}/qemu/1000/snapshot`, { snapname: 'disk-only' }));
    await ok(api.post(`${N}/qemu/1000/snapshot/disk-only/rollback`));
    expect((await data<{ status: string }>(api.get(`${N}/qemu/1000/status/current`))).status).toBe('stopped');
    await ok(api.post(`${N}/qemu/1000/snapshot/disk-only/rollback`, { start: 1 }));
    expect((await data<{ status: string }>(api.get(`${N}/qemu/1000/status/current`))).status).toBe('running');
  });
});

describe('firewall', () => {
  it('inserts rules at the top, carries one digest per list and renumbers on delete', async () => {
    const rules = `${N}/qemu/4000/firewall/rules`;
    await data(api.post(rules, { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', enable: 1 }, { encoding: 'json' }));
    await data(api.post(rules, { type: 'in', action: 'DROP', pos: 5 }));
    let list = await data<Record<string, unknown>[]>(api.get(rules));
    expect(list.map((r) => [r.pos, r.action, r.enable])).toEqual([[0, 'DROP', 0], [1, 'ACCEPT', 1]]);
    expect(list[0]!.digest).toBe(list[1]!.digest);
    await data(api.put(`${rules}/0`, { moveto: 2 }));
    list = await data<Record<string, unknown>[]>(api.get(rules));
    expect(list.map((r) => r.action)).toEqual(['ACCEPT', 'DROP']);
    await data(api.del(`${rules}/0`));
    list = await data<Record<string, unknown>[]>(api.get(rules));
    expect(list.map((r) => [r.pos, r.action])).toEqual([[0, 'DROP']]);
    const gone = await api.del(`${rules}/7`);
    expect([gone.status, gone.reason]).toEqual([500, 'no rule at position 7']);
    const stale = await api.post(rules, { type: 'in', action: 'ACCEPT', digest: 'f'.repeat(40) });
    expect(stale.status).toBe(500);
  });

  it('moves a rule as pve-firewall does: before the rule at <moveto> (moveto - 1 when moving down)', async () => {
    const rules = `${N}/qemu/4000/firewall/rules`;
    for (const c of ['E', 'D', 'C', 'B', 'A']) await data(api.post(rules, { type: 'in', action: 'ACCEPT', comment: c }));
    const order = async () => (await data<Record<string, unknown>[]>(api.get(rules))).map((r) => r.comment).join('');
    expect(await order()).toBe('ABCDE');
    // down: A (0) goes before D (3), so it ends at 2
    await data(api.put(`${rules}/0`, { moveto: 3, comment: 'ignored' }));
    expect(await order()).toBe('BCADE');
    // up: D (3) goes before B (0), so it ends at 0
    await data(api.put(`${rules}/3`, { moveto: 0 }));
    expect(await order()).toBe('DBCAE');
    // moveto at or past the end appends
    await data(api.put(`${rules}/0`, { moveto: 5 }));
    expect(await order()).toBe('BCAED');
    await data(api.put(`${rules}/1`, { moveto: 99 }));
    expect(await order()).toBe('BAEDC');
    // one step down is no move at all (the rule goes back before its old neighbour)
    await data(api.put(`${rules}/1`, { moveto: 2 }));
    expect(await order()).toBe('BAEDC');
    // moveto equal to pos is an ordinary update, the other arguments apply
    await data(api.put(`${rules}/1`, { moveto: 1, comment: 'a' }));
    expect(await order()).toBe('BaEDC');
    const gone = await api.put(`${rules}/5`, { moveto: 0 });
    expect([gone.status, gone.reason]).toEqual([500, 'no rule at position 5']);
  });

  it('resolves alias references in source/dest: name, guest/name, dc/name', async () => {
    const rules = `${N}/qemu/4000/firewall/rules`;
    await data(api.post(`${N}/qemu/4000/firewall/aliases`, { name: 'Office', cidr: '10.1.0.0/16' }));
    await data(api.post('/cluster/firewall/aliases', { name: 'admins', cidr: '192.168.142.0/24' }));
    for (const [source, dest] of [['office', 'admins'], ['guest/office', 'dc/ADMINS'], ['guest/Office', undefined], [undefined, 'dc/admins']]) {
      await data(api.post(rules, { type: 'in', action: 'ACCEPT', source, dest }));
    }
    expect((await data<Record<string, unknown>[]>(api.get(rules))).map((r) => [r.source, r.dest])).toEqual([
      [undefined, 'dc/admins'], ['guest/Office', undefined], ['guest/office', 'dc/ADMINS'], ['office', 'admins'],
    ]);
    // an alias only exists in its own scope
    const wrongScope = await api.post(rules, { type: 'in', action: 'ACCEPT', source: 'dc/office', dest: 'guest/admins' });
    expect([wrongScope.status, wrongScope.body!.errors]).toEqual([400, { source: "no such alias 'dc/office'", dest: "no such alias 'guest/admins'" }]);
    const missing = await api.post(rules, { type: 'in', action: 'ACCEPT', source: 'nowhere' });
    expect(missing.body!.errors).toEqual({ source: "no such alias 'nowhere'" });
    // an update is checked as a whole, and a refused one changes nothing
    const update = await api.put(`${rules}/3`, { dest: 'guest/nowhere', comment: 'x' });
    expect(update.body!.errors).toEqual({ dest: "no such alias 'guest/nowhere'" });
    expect(await data(api.get(`${rules}/3`))).toMatchObject({ source: 'office', dest: 'admins' });
    // no guest aliases at datacenter or node level; dc/ works there
    await data(api.post('/cluster/firewall/rules', { type: 'in', action: 'ACCEPT', source: 'dc/admins' }));
    await data(api.post(`${N}/firewall/rules`, { type: 'in', action: 'ACCEPT', source: 'admins' }));
    const guestAtNode = await api.post(`${N}/firewall/rules`, { type: 'in', action: 'ACCEPT', source: 'guest/admins' });
    expect(guestAtNode.body!.errors).toEqual({ source: "no such alias 'guest/admins'" });
    // IP sets may be scoped too (the simulator does not model IP sets: the reference is kept as is)
    await data(api.post(rules, { type: 'in', action: 'ACCEPT', source: '+dc/blocked', dest: '+guest/local' }));
    // other prefixes are no alias
    const bad = await api.post(rules, { type: 'in', action: 'ACCEPT', source: 'node/office' });
    expect(bad.body!.errors!.source).toMatch(/^invalid format - invalid IP address/);
  });

  it('keeps aliases unique case-insensitively', async () => {
    const aliases = `${N}/qemu/4000/firewall/aliases`;
    await data(api.post(aliases, { name: 'office', cidr: '10.1.0.0/16', comment: 'HQ' }));
    const dup = await api.post(aliases, { name: 'OFFICE', cidr: '10.2.0.0/16' });
    expect(dup.body!.errors).toEqual({ name: "alias 'OFFICE' already exists" });
    expect(await data(api.get(aliases))).toEqual([{ name: 'office', cidr: '10.1.0.0/16', comment: 'HQ', ipversion: 4, digest: expect.any(String) }]);
    await data(api.del(`${aliases}/Office`));
    expect(await data(api.get(aliases))).toEqual([]);
  });

  it('switches datacenter, node and VM firewalls (cluster enable is an integer)', async () => {
    await data(api.put('/cluster/firewall/options', { enable: 1 }, { encoding: 'json' }));
    await data(api.put(`${N}/firewall/options`, { enable: 1 }));
    await data(api.put(`${N}/qemu/4000/firewall/options`, { enable: true }, { encoding: 'json' }));
    expect(await data(api.get('/cluster/firewall/options'))).toMatchObject({ enable: 1 });
    expect(await data(api.get(`${N}/qemu/4000/firewall/options`))).toMatchObject({ enable: 1 });
    const boolForInt = await api.put('/cluster/firewall/options', { enable: true }, { encoding: 'json' });
    expect(boolForInt.status).toBe(400);
  });
});

describe('cluster options', () => {
  it('takes a tag-style with a color-map (a (?^i:…) pattern in the schema) and refuses a bad one', async () => {
    const style = 'shape=dense,color-map=prod:ff0000;Web-1:00FF00:000000';
    await data(api.put('/cluster/options', { 'tag-style': style }));
    expect(await data(api.get('/cluster/options'))).toMatchObject({ 'tag-style': style });
    const bad = await api.put('/cluster/options', { 'tag-style': 'color-map=prod!:ff0000' }, { encoding: 'json' });
    expect([bad.status, bad.body!.errors]).toEqual([400, { 'tag-style': 'invalid format - format error\ntag-style.color-map: value does not match the regex pattern\n' }]);
  });
});

describe('node network', () => {
  it('stages edits with a diff in `changes` until PUT applies them', async () => {
    await data(api.post(`${N}/network`, { iface: 'vmbr150', type: 'bridge', cidr: '192.168.150.1/24', autostart: 1 }));
    const staged = await api.get(`${N}/network`);
    expect(staged.body!.changes).toContain('+iface vmbr150 inet static');
    const bridge = (staged.body!.data as Record<string, unknown>[]).find((i) => i.iface === 'vmbr150')!;
    expect(bridge).toMatchObject({ address: '192.168.150.1', netmask: '24', method: 'static', type: 'bridge' });
    expect(bridge.active).toBeUndefined();
    const dup = await api.post(`${N}/network`, { iface: 'vmbr150', type: 'bridge' });
    expect(dup.body!.errors).toEqual({ iface: 'interface already exists' });

    await ok(api.put(`${N}/network`));
    const applied = await api.get(`${N}/network`);
    expect(applied.body!.changes).toBeUndefined();
    expect((applied.body!.data as Record<string, unknown>[]).find((i) => i.iface === 'vmbr150')!.active).toBe(1);

    await data(api.del(`${N}/network/vmbr150`));
    await data(api.del(`${N}/network`)); // revert the staged delete
    expect((await data<{ iface: string }[]>(api.get(`${N}/network`))).some((i) => i.iface === 'vmbr150')).toBe(true);
    const missing = await api.del(`${N}/network/vmbr999`);
    expect(missing.body!.errors).toEqual({ iface: 'interface does not exist' });
  });
});

describe('storage', () => {
  it('lists storages with capacity and volumes by content type', async () => {
    const list = await data<Record<string, unknown>[]>(api.get(`${N}/storage`));
    expect(list.map((s) => s.storage)).toEqual(['local', 'local-lvm']);
    expect(list[1]).toMatchObject({ type: 'lvmthin', active: 1, enabled: 1, shared: 0 });
    const isos = await data<{ volid: string; content: string }[]>(api.get(`${N}/storage/local/content`, { content: 'iso' }));
    expect(isos.every((v) => v.content === 'iso' && v.volid.startsWith('local:iso/'))).toBe(true);
  });

  it('downloads by URL into the content list and checks storage type, content and extension', async () => {
    await ok(api.post(`${N}/storage/local/download-url`, { content: 'iso', filename: 'alpine.iso', url: 'https://example.invalid/alpine.iso' }));
    const isos = await data<{ volid: string }[]>(api.get(`${N}/storage/local/content`, { content: 'iso' }));
    expect(isos.map((v) => v.volid)).toContain('local:iso/alpine.iso');
    const lvm = await api.post(`${N}/storage/local-lvm/download-url`, { content: 'iso', filename: 'a.iso', url: 'https://example.invalid/a.iso' });
    expect(lvm.reason).toBe("can't upload to storage type 'lvmthin', not a file based storage!");
    const ext = await api.post(`${N}/storage/local/download-url`, { content: 'iso', filename: 'a.exe', url: 'https://example.invalid/a.exe' });
    expect(ext.body!.errors).toEqual({ filename: 'wrong file extension' });
  });

  it('addresses volumes by the rest of the path, colon and slashes included', async () => {
    const vol = await data<{ size: number }>(api.get(`${N}/storage/local/content/local:iso/debian-12.10.0-amd64-netinst.iso`));
    expect(vol.size).toBe(661651456);
    await ok(api.del(`${N}/storage/local/content/local:iso/debian-12.10.0-amd64-netinst.iso`));
    expect((await api.get(`${N}/storage/local/content/local:iso/debian-12.10.0-amd64-netinst.iso`)).status).toBe(500);
  });
});

describe('containers', () => {
  it('creates from a template, starts, snapshots and deletes a container', async () => {
    await ok(api.post(`${N}/lxc`, {
      vmid: 300, hostname: 'ct-web', ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
      password: 'pw12345', cores: 1, memory: 512, rootfs: 'local-lvm:4', net0: 'name=eth0,bridge=vmbr0,ip=dhcp', start: 1,
    }));
    const cfg = await data<Record<string, string>>(api.get(`${N}/lxc/300/config`));
    expect(cfg.net0).toMatch(/^name=eth0,bridge=vmbr0,hwaddr=BC:24:11:[0-9A-F:]{8},ip=dhcp,type=veth$/);
    expect(cfg.rootfs).toBe('local-lvm:vm-300-disk-0,size=4G');
    expect(await data(api.get(`${N}/lxc/300/status/current`))).toMatchObject({ status: 'running', name: 'ct-web', type: 'lxc', vmid: 300 });
    const list = await data<{ vmid: number }[]>(api.get(`${N}/lxc`));
    expect(list.map((c) => c.vmid)).toEqual([200, 300]);
    await ok(api.post(`${N}/lxc/300/snapshot`, { snapname: 'base' }));
    expect((await data<{ name: string }[]>(api.get(`${N}/lxc/300/snapshot`))).map((s) => s.name)).toEqual(['base', 'current']);
    const running = await api.del(`${N}/lxc/300`);
    expect(running.reason).toBe('CT 300 is running - destroy failed');
    await ok(api.post(`${N}/lxc/300/status/stop`));
    await ok(api.del(`${N}/lxc/300`));
    expect((await api.get(`${N}/lxc/300/config`)).reason).toBe("Configuration file 'nodes/px-testing/lxc/300.conf' does not exist");
  });
});
