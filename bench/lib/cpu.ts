import fs from 'node:fs';

/** Clock ticks per second of /proc's CPU counters (USER_HZ, 100 on Linux). */
export const TICK = 100;

/** The whole machine's busy time so far, in ticks (/proc/stat: user nice system irq softirq steal). */
export function busyTicks(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
}
