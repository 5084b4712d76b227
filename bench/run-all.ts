// Runs every benchmark of the project, one after the other, and prints their figures.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/config/paths.js';

// One-off measurements behind a design choice, run by hand (their headers say why they are not here).
const ONE_OFF = new Set(['queue-claim.ts']);
const benches: string[][] = fs.readdirSync(path.join(REPO_ROOT, 'bench')).filter((f) => f.endsWith('.ts') && f !== 'run-all.ts' && !ONE_OFF.has(f)).sort().map((f) => [f]);
// /ws/vm-status again with two instances sharing one poll per node through Redis.
benches.splice(benches.findIndex(([f]) => f === 'ws-status.ts') + 1, 0, ['ws-status.ts', '1000', '10', '0.5', '2']);
let failed = 0;
for (const [b, ...args] of benches) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join('bench', b!), ...args], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
