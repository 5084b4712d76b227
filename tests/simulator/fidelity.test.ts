import https from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { client, data, waitTask } from './client.js';

/**
 * Behaviour the simulator takes from Proxmox VE 8.4's sources (issue 16): container clone checks,
 * starts that fail on a missing bridge, network addresses read back as PVE prints them, the task
 * list filters, clone locks held for a clone's (configurable) duration, the cloud-init drive size.
 */

let sim: Simulator;
let api: ReturnType<typeof client>;
const N = '/nodes/px-testing';

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  api = client(sim);
});
afterAll(async () => sim.close());
beforeEach(() => {
  sim.reset();
  sim.setTaskDuration(0);
  sim.setTaskDurations({ clone: null, import: null, download: null });
});

type Log = { n: number; t: string }[];
const taskLog = async (upid: string) => (await data<Log>(api.get(`${N}/tasks/${upid}/log`))).map((l) => l.t);

describe('cloning a container (pve-container src/PVE/API2/LXC.pm clone_vm)', () => {
  // clone_vm: `die "Cannot do full clones on a running container without snapshots\n" if $running
  // && !defined($snapname)`, inside the locked section that runs before fork_worker.
  it('refuses a full clone of a running container before any task, and leaves nothing behind', async () => {
    for (const params of [{ newid: 600, full: 1 }, { newid: 600 }]) {
      const r = await api.post(`${N}/lxc/200/clone`, params);
      expect([r.status, r.reason]).toEqual([500, 'Cannot do full clones on a running container without snapshots']);
      expect(r.body).toEqual({ data: null, message: 'Cannot do full clones on a running container without snapshots\n' });
    }
    expect((await api.get(`${N}/lxc/600/config`)).status).toBe(500);
    const tasks = await data<{ type: string }[]>(api.get(`${N}/tasks`, { source: 'all', typefilter: 'vzclone' }));
    expect(tasks).toEqual([]);
    expect((await data<Record<string, unknown>>(api.get(`${N}/lxc/200/config`))).lock).toBeUndefined();
  });

  // The same loop: a linked clone needs the storage's clone feature, which only templates' base volumes have.
  it('clones a running container from a snapshot, and refuses a linked clone of a non-template', async () => {
    const linked = await api.post(`${N}/lxc/200/clone`, { newid: 601, full: 0 });
    expect([linked.status, linked.reason]).toEqual([500, "Linked clone feature for 'local-lvm:vm-200-disk-0' is not available"]);
    await waitTask(sim, await data<string>(api.post(`${N}/lxc/200/snapshot`, { snapname: 'base' })));
    const upid = await data<string>(api.post(`${N}/lxc/200/clone`, { newid: 601, snapname: 'base', hostname: 'ct-dns-2' }));
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'OK' });
    const cfg = await data<Record<string, unknown>>(api.get(`${N}/lxc/601/config`));
    expect(cfg).toMatchObject({ hostname: 'ct-dns-2', rootfs: 'local-lvm:vm-601-disk-0,size=8G' });
    expect(cfg.lock).toBeUndefined();
  });

  // clone_vm sets `lock: disk` on the source (set_lock) and `lock: create` on the new container
  // until the worker ends; other config writes then fail on PVE::AbstractConfig::check_lock.
  it('locks the source with "disk" and the new container with "create" while the clone runs', async () => {
    await waitTask(sim, await data<string>(api.post(`${N}/lxc/200/status/stop`)));
    sim.setTaskDurations({ clone: 600 });
    const upid = await data<string>(api.post(`${N}/lxc/200/clone`, { newid: 602 }));
    expect((await data<Record<string, unknown>>(api.get(`${N}/lxc/200/config`))).lock).toBe('disk');
    expect((await data<Record<string, unknown>>(api.get(`${N}/lxc/602/config`))).lock).toBe('create');
    const write = await api.put(`${N}/lxc/200/config`, { description: 'too early' });
    expect([write.status, write.reason]).toEqual([500, 'CT is locked (disk)']);
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'OK' });
    expect((await data<Record<string, unknown>>(api.get(`${N}/lxc/200/config`))).lock).toBeUndefined();
    await data(api.put(`${N}/lxc/200/config`, { description: 'after the clone' }));
  });
});

describe('starting a guest whose NIC names a missing bridge', () => {
  // pve-common Network.pm read_bridge_mtu: `die "bridge '$bridge' does not exist\n"`, called by
  // qemu-server's pve-bridge script for each tap device; QEMU then exits and vm_start_nolock
  // (QemuServer.pm) dies with "start failed: QEMU exited with code 1". The task fails, the VM stays stopped.
  it('fails the VM start task with PVE\'s words and keeps the VM stopped', async () => {
    await data(api.put(`${N}/qemu/3001/config`, { net0: 'virtio=BC:24:11:30:01:00,bridge=vmbr999,firewall=1' }));
    const upid = await data<string>(api.post(`${N}/qemu/3001/status/start`));
    expect(await waitTask(sim, upid)).toMatchObject({ status: 'stopped', exitstatus: 'start failed: QEMU exited with code 1' });
    const log = await taskLog(upid);
    expect(log[0]).toBe("bridge 'vmbr999' does not exist");
    expect(log[1]).toMatch(/^kvm: -netdev type=tap,id=net0,ifname=tap3001i0,.*network script \/usr\/libexec\/qemu-server\/pve-bridge failed with status 512$/);
    expect(log.at(-1)).toBe('TASK ERROR: start failed: QEMU exited with code 1');
    expect(await data(api.get(`${N}/qemu/3001/status/current`))).toMatchObject({ status: 'stopped' });
  });

  // A bridge only in /etc/network/interfaces.new has no /sys/class/net entry until the network is applied.
  it('counts a staged but unapplied bridge as missing, and starts once the network is applied', async () => {
    await data(api.post(`${N}/network`, { iface: 'vmbr198', type: 'bridge', autostart: 1 }));
    await data(api.put(`${N}/qemu/3001/config`, { net0: 'virtio,bridge=vmbr198' }));
    const failed = await data<string>(api.post(`${N}/qemu/3001/status/start`));
    expect((await waitTask(sim, failed)).exitstatus).toBe('start failed: QEMU exited with code 1');
    await waitTask(sim, await data<string>(api.put(`${N}/network`)));
    const started = await data<string>(api.post(`${N}/qemu/3001/status/start`));
    expect((await waitTask(sim, started)).exitstatus).toBe('OK');
    expect(await data(api.get(`${N}/qemu/3001/status/current`))).toMatchObject({ status: 'running' });
  });

  // pve-container src/lxcnetaddbr: `die "bridge '$bridge' does not exist\n"`; lxc-start aborts and
  // LXC.pm monitor_start dies with "startup for container '<vmid>' failed".
  it('fails a container start the same way', async () => {
    await waitTask(sim, await data<string>(api.post(`${N}/lxc/200/status/stop`)));
    await data(api.put(`${N}/lxc/200/config`, { net0: 'name=eth0,bridge=vmbr999,hwaddr=BC:24:11:02:00:00,ip=dhcp' }));
    const upid = await data<string>(api.post(`${N}/lxc/200/status/start`));
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: "startup for container '200' failed" });
    expect(await taskLog(upid)).toContain("bridge 'vmbr999' does not exist");
    expect(await data(api.get(`${N}/lxc/200/status/current`))).toMatchObject({ status: 'stopped' });
  });
});

describe('node network addresses (pve-common INotify.pm read_etc_network_interfaces)', () => {
  // `_get_cidr` turns a dotted netmask into its prefix length (JSONSchema::get_netmask_bits); the
  // reader then sets `cidr` to address/prefix and `netmask` to the prefix.
  it('reads a dotted netmask back as a prefix length (and keeps one given in cidr)', async () => {
    await data(api.post(`${N}/network`, { iface: 'vmbr198', type: 'bridge', address: '192.168.198.1', netmask: '255.255.255.0' }));
    await data(api.post(`${N}/network`, { iface: 'vmbr197', type: 'bridge', cidr: '192.168.197.1/16' }));
    const read = (iface: string) => data<Record<string, unknown>>(api.get(`${N}/network/${iface}`));
    expect(await read('vmbr198')).toMatchObject({ address: '192.168.198.1', netmask: '24', cidr: '192.168.198.1/24', method: 'static' });
    expect(await read('vmbr197')).toMatchObject({ address: '192.168.197.1', netmask: '16', cidr: '192.168.197.1/16' });
    await data(api.put(`${N}/network/vmbr198`, { type: 'bridge', address: '10.1.0.1', netmask: '255.255.254.0' }));
    expect(await read('vmbr198')).toMatchObject({ netmask: '23', cidr: '10.1.0.1/23' });
  });
});

describe('task list filters (pve-manager PVE/API2/Tasks.pm node_tasks)', () => {
  // `$filter_task`: typefilter and vmid compare exactly, since/until bound starttime,
  // statusfilter matches upid_normalize_status_type (ok/warning/error/unknown), errors=1 drops
  // OK tasks, source picks the active list, the archive, or both; `total` counts every match.
  async function someTasks() {
    await waitTask(sim, await data<string>(api.post(`${N}/qemu/4001/status/start`)));
    await waitTask(sim, await data<string>(api.post(`${N}/qemu/4001/status/start`))); // already running: fails
    await waitTask(sim, await data<string>(api.post(`${N}/qemu/4002/status/start`)));
    await waitTask(sim, await data<string>(api.post(`${N}/qemu/4001/status/stop`)));
  }
  const list = (params: Record<string, unknown>) => api.get(`${N}/tasks`, params);
  const types = async (params: Record<string, unknown>) => (await data<{ type: string; id: string; status: string }[]>(list(params))).map((t) => `${t.type}:${t.id}:${t.status}`);

  it('filters by type, guest, status and errors', async () => {
    await someTasks();
    expect(await types({})).toEqual(['qmstop:4001:OK', 'qmstart:4002:OK', 'qmstart:4001:VM 4001 already running', 'qmstart:4001:OK']);
    expect(await types({ typefilter: 'qmstart' })).toHaveLength(3);
    expect(await types({ typefilter: 'qmst' })).toEqual([]);
    expect(await types({ vmid: 4001 })).toEqual(['qmstop:4001:OK', 'qmstart:4001:VM 4001 already running', 'qmstart:4001:OK']);
    expect(await types({ statusfilter: 'error' })).toEqual(['qmstart:4001:VM 4001 already running']);
    expect(await types({ statusfilter: 'ok,error', vmid: 4002 })).toEqual(['qmstart:4002:OK']);
    expect(await types({ errors: 1 })).toEqual(['qmstart:4001:VM 4001 already running']);
    expect(await types({ userfilter: 'RANGE42_api' })).toHaveLength(4);
    expect(await types({ userfilter: 'root@pam' })).toEqual([]);
  });

  it('bounds the start time with since and until, and counts matches in total', async () => {
    await someTasks();
    const now = Math.floor(Date.now() / 1000);
    const future = await list({ since: now + 3600 });
    expect([future.body!.data, future.body!.total]).toEqual([[], 0]);
    expect((await list({ until: now - 3600 })).body!.data).toEqual([]);
    expect(await types({ since: now - 3600, until: now + 3600 })).toHaveLength(4);
    const page = await list({ limit: 1, start: 1 });
    expect([(page.body!.data as unknown[]).length, page.body!.total]).toEqual([1, 4]);
    const none = await list({ limit: 0 });
    expect([none.body!.data, none.body!.total]).toEqual([[], 4]);
  });

  it('lists running tasks only from the active source (status RUNNING, matched as "unknown")', async () => {
    sim.setTaskDuration(2000);
    const upid = await data<string>(api.post(`${N}/qemu/4002/status/start`));
    try {
      expect(await types({})).toEqual([]);
      expect(await types({ source: 'active' })).toEqual(['qmstart:4002:RUNNING']);
      expect(await types({ source: 'all', statusfilter: 'unknown' })).toEqual(['qmstart:4002:RUNNING']);
      expect(await types({ source: 'all', statusfilter: 'ok' })).toEqual([]);
      const [item] = await data<Record<string, unknown>[]>(list({ source: 'active' }));
      expect(item).toMatchObject({ upid, user: 'range42_api@pam', tokenid: 'r42' });
      expect(item!.endtime).toBeUndefined();
    } finally {
      sim.setTaskDuration(0);
      await api.del(`${N}/tasks/${upid}`);
    }
  });
});

describe('clone locks and the durations of slow tasks', () => {
  // qemu-server API2/Qemu.pm clone_vm writes the new config as "lock: clone" before the copy and
  // removes the lock when the worker ends; update_vm's check_lock then refuses writes with
  // PVE::AbstractConfig's "VM is locked (clone)".
  it('refuses a config write to the new VM (and the source) while a full clone copies', async () => {
    sim.setTaskDurations({ clone: 800 });
    const upid = await data<string>(api.post(`${N}/qemu/9221/clone`, { newid: 720, full: 1, name: 'web-720' }));
    const early = await api.put(`${N}/qemu/720/config`, { tags: 'web' });
    expect([early.status, early.reason]).toEqual([500, 'VM is locked (clone)']);
    expect((await api.put(`${N}/qemu/9221/config`, { description: 'x' })).reason).toBe('VM is locked (clone)');
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'OK' });
    await data(api.put(`${N}/qemu/720/config`, { tags: 'web' }));
    expect(await data(api.get(`${N}/qemu/720/config`))).toMatchObject({ tags: 'web', name: 'web-720' });
  });

  it('gives clones, imports and downloads six times the base duration unless set, and keeps 0 instant', async () => {
    expect(sim.tasks.durations()).toEqual({ taskDurationMs: 0, taskDurationsMs: { clone: 0, import: 0, download: 0 } });
    const instant = await data<string>(api.post(`${N}/qemu/9221/clone`, { newid: 721 }));
    expect((await data<{ status: string }>(api.get(`${N}/tasks/${instant}/status`))).status).toBe('stopped');
    sim.setTaskDuration(100);
    expect(sim.tasks.durations().taskDurationsMs).toEqual({ clone: 600, import: 600, download: 600 });
    sim.setTaskDurations({ download: 50 });
    expect(sim.tasks.durations().taskDurationsMs).toEqual({ clone: 600, import: 600, download: 50 });
    const started = Date.now();
    const upid = await data<string>(api.post(`${N}/qemu/9221/clone`, { newid: 722 }));
    await waitTask(sim, upid);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it('starts with per-kind durations given as options', async () => {
    const other = await startSimulator({ port: 0, taskDurationMs: 0, taskDurationsMs: { clone: 700 }, control: true });
    try {
      expect(other.tasks.durations()).toEqual({ taskDurationMs: 0, taskDurationsMs: { clone: 700, import: 0, download: 0 } });
    } finally {
      await other.close();
    }
  });

  it('reads and changes the durations through the control API', async () => {
    const control = (method: string, body?: unknown) => new Promise<{ status: number; data: unknown }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(`https://${sim.apiHost}/_sim/settings`, { method, rejectUnauthorized: false, headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) } : {} }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, data: (JSON.parse(text) as { data: unknown }).data }));
      });
      req.on('error', reject);
      req.end(payload);
    });
    expect(await control('POST', { taskDurationMs: 200, taskDurationsMs: { clone: 5000, import: null } })).toEqual({
      status: 200, data: { taskDurationMs: 200, taskDurationsMs: { clone: 5000, import: 1200, download: 1200 } },
    });
    expect((await control('GET')).data).toEqual({ taskDurationMs: 200, taskDurationsMs: { clone: 5000, import: 1200, download: 1200 } });
    expect((await control('POST', { taskDurationsMs: 'fast' })).status).toBe(400);
  });

  // A disk imported with import-from is sized from its source (qemu-server `import_from_volid`);
  // the create task is an "import" and takes that kind's time.
  it('runs a create that imports a disk for the import duration', async () => {
    sim.setTaskDurations({ import: 500 });
    const upid = await data<string>(api.post(`${N}/qemu`, { vmid: 723, scsi0: 'local-lvm:0,import-from=local:import/noble-server-cloudimg-amd64.img' }));
    expect((await data<Record<string, unknown>>(api.get(`${N}/qemu/723/config`))).lock).toBe('create');
    expect((await api.put(`${N}/qemu/723/config`, { tags: 'x' })).reason).toBe('VM is locked (create)');
    await waitTask(sim, upid);
    expect((await data<Record<string, unknown>>(api.get(`${N}/qemu/723/config`))).scsi0).toBe('local-lvm:vm-723-disk-0,size=576M');
  });
});

describe('the cloud-init drive (qemu-server Cloudinit.pm: a 4 MiB volume)', () => {
  // PVE allocates the cloud-init drive with 4 MiB and `print_drive` shows its size like any disk.
  it('shows size=4M on seeded and newly created cloud-init drives', async () => {
    expect((await data<Record<string, unknown>>(api.get(`${N}/qemu/1000/config`))).ide2).toBe('local-lvm:vm-1000-cloudinit,media=cdrom,size=4M');
    await waitTask(sim, await data<string>(api.post(`${N}/qemu`, { vmid: 724, ide2: 'local-lvm:cloudinit' })));
    expect((await data<Record<string, unknown>>(api.get(`${N}/qemu/724/config`))).ide2).toBe('local-lvm:vm-724-cloudinit,media=cdrom,size=4M');
    const volumes = await data<{ volid: string; size: number }[]>(api.get(`${N}/storage/local-lvm/content`, { vmid: 724 }));
    expect(volumes).toEqual([expect.objectContaining({ volid: 'local-lvm:vm-724-cloudinit', size: 4 * 1024 * 1024 })]);
  });
});
