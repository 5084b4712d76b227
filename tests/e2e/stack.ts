import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { routeTable } from '../../src/routes/table.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { simulatorInventory, testConfig } from '../helpers.js';
import { markStarted, recordServed } from './served.js';

/**
 * The whole stack for end-to-end tests: the service (the repository's own playbooks, role and
 * catalog) listening on a port, with an inventory pointing at a simulator. Operations are called
 * through their `curl_utils/<operationId>.sh` script (so every script is exercised against the
 * running service), over real HTTP.
 */
const run = promisify(execFile);
const CURL_UTILS = path.join(REPO_ROOT, 'curl_utils');
export interface Answer {
  status: number;
  body: any;
}

/**
 * Calls an operation of the service at `base` by its operationId: its curl script with the
 * documented example, or with `body` when given; `url` (a concrete URL for the runner routes) goes
 * through fetch instead.
 */
export async function callOperation(base: string, operationId: string, body?: unknown, url?: string): Promise<Answer> {
  const def = routeTable.find((d) => d.operationId === operationId);
  if (!def) throw new Error(`no operation ${operationId}`);
  const script = path.join(CURL_UTILS, `${operationId}.sh`);
  if (url === undefined && fs.existsSync(script)) {
    const args = body === undefined ? [] : [JSON.stringify(body)];
    const out = await run('/bin/bash', [script, ...args], {
      env: { PATH: '/usr/bin:/bin', R42_API_URL: base, R42_CURL_WRITE_OUT: '\\n%{http_code}' },
      maxBuffer: 64 << 20,
    }).catch((err: { stdout?: string; code?: number; stderr?: string }) => {
      if (err.code === 22 && err.stdout) return { stdout: err.stdout }; // --fail-with-body: HTTP >= 400
      throw new Error(`${operationId}.sh failed: ${err.stderr ?? err.code}`);
    });
    const text = out.stdout.trimEnd();
    const nl = text.lastIndexOf('\n');
    return { status: Number(text.slice(nl + 1)), body: JSON.parse(text.slice(0, nl)) };
  }
  const r = await fetch(`${base}${url ?? def.url}`, {
    method: def.method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: await r.json() };
}

/** `hostVars`: variables of the Proxmox host in the inventory (e.g. VM_IDS narrowing a bundle's VM set). */
export async function startStack(opts: { hostVars?: Record<string, unknown> } = {}) {
  markStarted();
  const sim = await startSimulator({ port: 0 });
  const inventoryDir = simulatorInventory(sim, 'px-testing', [], opts.hostVars);
  const app = await createApp(testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: inventoryDir }), { logger: false });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  const op = (operationId: string, body?: unknown, url?: string) => callOperation(base, operationId, body, url);

  /** An operation that must succeed: HTTP 200, rc 0; returns the first published value. */
  async function ok(operationId: string, body?: unknown, url?: string): Promise<any> {
    const a = await op(operationId, body, url);
    expect(a.status, `${operationId}: ${JSON.stringify(a.body).slice(0, 1500)}`).toBe(200);
    expect(a.body.rc).toBe(0);
    return Array.isArray(a.body.result) ? a.body.result[0] : a.body;
  }

  const guest = (vmid: number) => sim.cluster.guest(vmid);
  /** A guest's config as Proxmox shows it (pending values applied). */
  const config = (vmid: number) => {
    const g = sim.cluster.guest(vmid)!;
    return { ...g.config, ...g.pending };
  };

  return {
    sim: sim as Simulator,
    app,
    op,
    ok,
    guest,
    config,
    close: async () => {
      await recordServed(base);
      await app.close();
      await sim.close();
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
