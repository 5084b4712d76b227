import { expect } from 'vitest';
import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { routeTable } from '../../src/routes/table.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { simulatorInventory, testConfig } from '../helpers.js';

/**
 * The whole stack for end-to-end tests: the service (the repository's own playbooks, role and
 * catalog) with an inventory pointing at a simulator, called through its HTTP interface.
 */
export interface Answer {
  status: number;
  body: any;
}

export async function startStack() {
  const sim = await startSimulator({ port: 0 });
  const app = await createApp(testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: simulatorInventory(sim) }), { logger: false });

  /** Calls an operation by its operationId, with the route's documented example unless a body is given. */
  async function op(operationId: string, body?: unknown, url?: string): Promise<Answer> {
    const def = routeTable.find((d) => d.operationId === operationId);
    if (!def) throw new Error(`no operation ${operationId}`);
    const payload = body ?? (def.body as { examples?: unknown[] } | undefined)?.examples?.[0];
    const r = await app.inject({ method: def.method, url: url ?? def.url, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: r.statusCode, body: r.json() };
  }

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
      await app.close();
      await sim.close();
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
