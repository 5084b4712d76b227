import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { bodyOperations, simulatorInventory, testConfig } from '../helpers.js';

/**
 * The service (the repository's playbooks, on a simulator) and the operations of its served OpenAPI
 * document that take a body: what the bad-input tests (fuzz, bounds) aim at.
 */
export async function startDocumentTarget<S extends { properties?: object }>() {
  const sim: Simulator = await startSimulator({ port: 0 });
  const app = await createApp(testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: simulatorInventory(sim) }), { logger: false });
  // The document shares schemas as components: every operation with its references resolved.
  const ops = bodyOperations<S>((await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json());
  return { sim, app, ops, close: async () => { await app.close(); await sim.close(); } };
}
