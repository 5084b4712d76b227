import fs from 'node:fs';
import { descendants } from '../../src/engine/process-tree.js';

/** Proportional set size (kB) of every process below this one: shared pages counted once. */
export function pssKb(): number {
  let total = 0;
  for (const pid of descendants(process.pid)) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) total += Number(m[1]);
    } catch {
      // gone
    }
  }
  return total;
}
