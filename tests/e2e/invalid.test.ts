import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../../src/routes/table.js';
import { startStack, type Stack } from './stack.js';

/**
 * Every documented operation refuses bad bodies with the 422 body of the contract, and nothing
 * runs: no playbook is started and the simulator sees no request (VM-name lookups included).
 */

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => s.close());

const documented = routeTable.filter((d) => !d.hidden && d.body);
const example = (d: (typeof documented)[number]) => ((d.body as { examples?: Record<string, unknown>[] }).examples?.[0] ?? {});
const url = (d: (typeof documented)[number]) => d.url.replace(':bundles_name', 'ping').replace(':scenario_name', 'debug_scenario');

function badBodies(d: (typeof documented)[number]): [string, unknown][] {
  const ex = example(d);
  const cases: [string, unknown][] = [['an array body', []], ['a string body', 'vm_id=1000']];
  if ('vm_id' in ex) cases.push(['vm_id with a shell command', { ...ex, vm_id: '1000;reboot' }]);
  if ('proxmox_node' in ex) cases.push(['proxmox_node with a path', { ...ex, proxmox_node: '../../etc' }]);
  if ('hosts' in ex) cases.push(['hosts with a template', { ...ex, hosts: '{{ lookup("pipe","id") }}' }]);
  const required = (d.body as { required?: string[] }).required ?? [];
  for (const k of required) cases.push([`${k} missing`, Object.fromEntries(Object.entries(ex).filter(([key]) => key !== k))]);
  return cases;
}

describe('bad bodies on every documented operation', () => {
  it(`refuse with 422 and run nothing (${documented.length} operations)`, async () => {
    const started = s.app.engine.stats.started;
    const simRequests = s.sim.requestLog.length;
    const unexpected: string[] = [];
    let refused = 0;
    for (const d of documented) {
      for (const [what, payload] of badBodies(d)) {
        const r = await s.app.inject({ method: d.method, url: url(d), payload: payload as object, headers: { 'content-type': 'application/json' } });
        if (r.statusCode !== 422 || !Array.isArray(r.json().detail)) unexpected.push(`${d.operationId} / ${what}: ${r.statusCode} ${r.body.slice(0, 200)}`);
        else refused++;
      }
    }
    expect(unexpected).toEqual([]);
    expect(refused).toBeGreaterThan(documented.length * 3);
    expect(s.app.engine.stats.started).toBe(started);
    expect(s.sim.requestLog.length).toBe(simRequests);
  });

  it('keeps serving afterwards', async () => {
    expect((await s.op('debug_ping')).status).toBe(200);
  });
});
