import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import { loadProxmoxCredentials, type ProxmoxCredentials } from '../proxmox/credentials.js';
import { readSeed } from './model/seed.js';
import type { Simulator } from './index.js';

/**
 * Starts the simulator inside the service when no real Proxmox is configured, i.e. when the
 * credentials the playbooks will use point at a local address with a token of the simulator's
 * seed (the shipped inventory does). `PROXMOX_SIMULATOR=on|off` forces the choice.
 */
export async function startEmbeddedSimulator(config: Readonly<Config>, vaultPasswordFile: string | null, log: Logger): Promise<Simulator | null> {
  const { mode, stateFile, taskDurationMs } = config.simulator;
  if (mode === 'off') return null;
  let creds: ProxmoxCredentials | null = null;
  try {
    const vaultPassword = vaultPasswordFile ? fs.readFileSync(vaultPasswordFile, 'utf8').trim() : null;
    creds = loadProxmoxCredentials({ inventoryDir: config.inventoryDir, vaultFile: config.vaultFile, vaultPassword });
  } catch (err) {
    if (mode === 'auto') {
      log.info({ err: (err as Error).message }, 'no usable Proxmox credentials: the embedded simulator stays off');
      return null;
    }
  }
  const [host, port] = splitHostPort(creds?.apiHost ?? '127.0.0.1:8006');
  const local = ['127.0.0.1', 'localhost', '::1'].includes(host);
  if (mode === 'auto') {
    const seedTokens = readSeed().users.flatMap((u) => (u.tokens ?? []).map((t) => `${u.userid}!${t.id}=${t.secret}`));
    const ours = creds !== null && seedTokens.includes(`${creds.user}!${creds.tokenId}=${creds.tokenSecret}`);
    if (!local || !ours) {
      log.info({ proxmox: creds?.apiHost }, 'a Proxmox API is configured: the embedded simulator stays off');
      return null;
    }
  }
  try {
    // Only the base duration is configured here: clones, disk imports and downloads take
    // SLOW_TASK_FACTOR times it (3 s at the default 0.5 s), and `/_sim/settings` changes them at run time.
    // Imported here: its modules load the Proxmox schema (360 KB) as they load, which a service
    // talking to a real Proxmox (the usual production case, mode auto) never needs.
    const { startSimulator } = await import('./index.js');
    const sim = await startSimulator({
      host: local ? host : '127.0.0.1', port: local ? port : 8006, stateFile: stateFile ?? undefined, taskDurationMs,
    });
    log.info({ url: sim.url, nodes: sim.state.nodes.map((n) => n.name) }, 'embedded Proxmox VE simulator started');
    return sim;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      log.info({ proxmox: `${host}:${port}` }, 'something already listens on the Proxmox address (a separate simulator?): using it');
      return null;
    }
    throw err;
  }
}

function splitHostPort(apiHost: string): [string, number] {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(apiHost);
  return [m?.[1] ?? '127.0.0.1', m?.[2] ? Number(m[2]) : 8006];
}
