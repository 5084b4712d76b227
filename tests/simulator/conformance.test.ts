import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSpec, renderSpec, SHARED_SCHEMA, SPEC_FILE } from '../../scripts/gen-pve-spec.js';
import { registerAll } from '../../src/simulator/handlers/index.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { Router } from '../../src/simulator/router.js';
import { call } from './client.js';

/**
 * The simulator against the official Proxmox VE 8.4 API schema (../shared/proxmox): every path and
 * method it serves exists there, and every served method validates its parameters by that schema.
 */

interface TreeNode { path: string; info?: Record<string, Record<string, unknown>>; children?: TreeNode[] }
const tree = JSON.parse(fs.readFileSync(SHARED_SCHEMA, 'utf8')) as TreeNode[];
const official = new Set<string>();
(function walk(nodes: TreeNode[]) {
  for (const n of nodes) {
    for (const verb of Object.keys(n.info ?? {})) official.add(`${verb} ${n.path}`);
    walk(n.children ?? []);
  }
})(tree);

const router = new Router();
registerAll(router);
const served = router.entries.map((e) => `${e.method} ${e.template}`);

/** A concrete path for a template; values only need to pass routing (validation comes first). */
const SAMPLE: Record<string, string> = {
  node: 'px-testing', vmid: '1000', snapname: 'snap1', storage: 'local', volume: 'local:iso/x.iso', pos: '0', name: 'alias1',
  iface: 'vmbr0', upid: 'UPID:px-testing:00001234:00005678:6B000000:qmstart:1000:root@pam:', userid: 'root@pam',
};
const concrete = (template: string) => template.replace(/\{(\w+)\}/g, (_, k: string) => SAMPLE[k] ?? 'x');

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
});
afterAll(async () => sim.close());

describe('conformance with the PVE 8.4 API schema', () => {
  it('serves a good share of the API, and only methods that exist in the schema', () => {
    expect(served.length).toBeGreaterThan(90);
    expect(served.filter((k) => !official.has(k))).toEqual([]);
    expect(new Set(served).size).toBe(served.length);
  });

  it('keeps the committed compact schema in sync with the official one', () => {
    expect(fs.readFileSync(SPEC_FILE, 'utf8')).toBe(renderSpec(buildSpec(tree)));
    expect(Object.keys(buildSpec(tree))).toHaveLength(official.size);
  });

  it('answers 400 with PVE\'s message for an undeclared parameter on every served method', async () => {
    const wrong: string[] = [];
    for (const entry of router.entries) {
      const r = await call(sim, entry.method, concrete(entry.template), { zz_undeclared: '1' });
      const msg = r.body?.errors?.zz_undeclared;
      if (r.status !== 400 || msg !== 'property is not defined in schema and the schema does not allow additional properties') {
        wrong.push(`${entry.method} ${entry.template} -> ${r.status} ${JSON.stringify(r.body?.errors)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers 400 for malformed typed parameters (integer, boolean, enum, pattern, format)', async () => {
    const cases: [string, string, Record<string, unknown>, string, string][] = [
      ['GET', '/nodes/px-testing/tasks', { limit: 'ten' }, 'limit', "type check ('integer') failed - got 'ten'"],
      ['POST', '/nodes/px-testing/qemu/1000/status/stop', { skiplock: 'yes' }, 'skiplock', "type check ('boolean') failed - got 'yes'"],
      ['GET', '/cluster/resources', { type: 'disk' }, 'type', "value 'disk' does not have a value in the enumeration 'vm, storage, node, sdn'"],
      ['POST', '/nodes/px-testing/qemu', { vmid: 50 }, 'vmid', 'invalid format - value does not look like a valid VM ID\n'],
      ['POST', '/nodes/px-testing/qemu', { vmid: 800, cores: 0 }, 'cores', 'value must have a minimum value of 1'],
      ['PUT', '/nodes/px-testing/qemu/3001/config', { net0: 'virtio,bridge=vmbr0,mtu=0' }, 'net0', 'invalid format - format error\nnet0.mtu: value must have a minimum value of 1\n'],
      ['PUT', '/nodes/px-testing/qemu/3001/config', { net32: 'virtio,bridge=vmbr0' }, 'net32', 'property is not defined in schema and the schema does not allow additional properties'],
      ['PUT', '/nodes/px-testing/qemu/3001/config', { net1: 'virtio,colour=blue' }, 'net1', 'invalid format - invalid key in comma-separated list property: colour\n'],
      ['POST', '/nodes/px-testing/storage/local/download-url', { content: 'iso', filename: 'a.iso', url: 'https://x/a.iso', checksum: 'abc' }, 'checksum-algorithm', "missing property - 'checksum' requires this property"],
      ['GET', '/nodes/bad_node!/qemu', {}, 'node', 'invalid format - value does not look like a valid node name\n'],
    ];
    for (const [method, path, params, key, message] of cases) {
      const r = await call(sim, method, path, params);
      expect([r.status, r.body?.errors?.[key]], `${method} ${path}`).toEqual([400, message]);
    }
  });
});
