import { bundleRoutes } from './bundles.js';
import { debugRoutes } from './debug.js';
import { firewallRoutes } from './firewall.js';
import { withLockSpecs } from './locks.js';
import { lxcRoutes } from './lxc.js';
import { networkRoutes } from './network.js';
import { runnerRoutes } from './runner.js';
import { storageRoutes } from './storage.js';
import type { RouteDef } from './types.js';
import { snapshotRoutes, vmConfigRoutes } from './vm-config.js';
import { vmRoutes } from './vms.js';

/**
 * Every HTTP operation of the API, as data, in the original's registration order (debug, bundles,
 * generic runner, VMs, config, snapshots, storage, firewall, network), then the additions; each
 * with the VMs it changes (src/routes/locks.ts) for the per-VM job locks.
 */
export const routeTable: readonly RouteDef[] = withLockSpecs([
  ...debugRoutes,
  ...bundleRoutes,
  ...runnerRoutes,
  ...vmRoutes,
  ...vmConfigRoutes,
  ...snapshotRoutes,
  ...storageRoutes,
  ...firewallRoutes,
  ...networkRoutes,
  ...lxcRoutes,
]);
