// Child process for bench/simulator.ts: one simulator on one Node thread, seeded with many VMs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimulator } from '../../src/simulator/index.js';
import { DEFAULT_SEED_FILE } from '../../src/simulator/model/seed.js';

const vmCount = Number(process.argv[2] ?? 100);
const replyCacheMs = Number(process.argv[3] ?? 50);
const seed = JSON.parse(fs.readFileSync(DEFAULT_SEED_FILE, 'utf8')) as { guests: Record<string, unknown>[] };
seed.guests = seed.guests.filter((g) => g.node !== 'px-testing' || g.type !== 'qemu');
for (let i = 0; i < vmCount; i++) {
  const vmid = 5000 + i;
  const mac = `BC:24:11:50:${String(Math.floor(i / 100)).padStart(2, '0')}:${String(i % 100).padStart(2, '0')}`;
  seed.guests.push({
    vmid, type: 'qemu', node: 'px-testing', status: i % 2 ? 'running' : 'stopped',
    config: { name: `bench-${i}`, cores: 2, sockets: 1, memory: '2048', tags: 'bench', net0: `virtio=${mac},bridge=vmbr0`, scsi0: `local-lvm:vm-${vmid}-disk-0,size=16G` },
  });
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r42-bench-sim-'));
const seedFile = path.join(dir, 'seed.json');
fs.writeFileSync(seedFile, JSON.stringify(seed));
const sim = await startSimulator({ port: 0, seedFile, replyCacheMs });
process.send?.({ port: sim.port, header: sim.token.header });
process.on('message', () => {
  void sim.close().then(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
});
