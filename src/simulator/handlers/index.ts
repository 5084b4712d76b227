import type { Router } from '../router.js';
import { registerAccess } from './access.js';
import { registerAgent } from './agent.js';
import { registerAplinfo } from './aplinfo.js';
import { registerCluster } from './cluster.js';
import { registerDisks } from './disks.js';
import { registerFirewall } from './firewall.js';
import { registerFirewallIpSets } from './firewall-ipset.js';
import { registerLxc } from './lxc.js';
import { registerNetwork } from './network.js';
import { registerQemu } from './qemu.js';
import { registerRrd } from './rrd.js';
import { registerSnapshots } from './snapshots.js';
import { registerStorage } from './storage.js';

/** Every emulated endpoint; anything else answers 501 like an unknown PVE path. */
export function registerAll(router: Router): void {
  const on = router.add.bind(router);
  registerCluster(on);
  registerAccess(on);
  registerQemu(on);
  registerAgent(on);
  registerDisks(on);
  registerLxc(on);
  registerSnapshots(on);
  registerFirewall(on);
  registerFirewallIpSets(on);
  registerNetwork(on);
  registerStorage(on);
  registerAplinfo(on);
  registerRrd(on);
}
