import type { Router } from '../router.js';
import { registerCluster } from './cluster.js';
import { registerFirewall } from './firewall.js';
import { registerLxc } from './lxc.js';
import { registerNetwork } from './network.js';
import { registerQemu } from './qemu.js';
import { registerSnapshots } from './snapshots.js';
import { registerStorage } from './storage.js';

/** Every emulated endpoint; anything else answers 501 like an unknown PVE path. */
export function registerAll(router: Router): void {
  const on = router.add.bind(router);
  registerCluster(on);
  registerQemu(on);
  registerLxc(on);
  registerSnapshots(on);
  registerFirewall(on);
  registerNetwork(on);
  registerStorage(on);
}
