// Runs every benchmark of the project, one after the other, and prints their figures.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/config/paths.js';

const benches = fs.readdirSync(path.join(REPO_ROOT, 'bench')).filter((f) => f.endsWith('.ts') && f !== 'run-all.ts').sort();
let failed = 0;
for (const b of benches) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join('bench', b)], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
