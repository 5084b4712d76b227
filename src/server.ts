import pino from 'pino';
import { createApp } from './app.js';
import { exitOnSignals } from './shutdown.js';
import { loadConfig, loadDotEnv } from './config/env.js';
import { VaultPassword } from './config/vault.js';
import { sweepDeadInstances } from './config/instance-dirs.js';
import { ConfigError } from './config/errors.js';

/** Process entry point: configuration, vault file, HTTP server, signals. */
async function main(): Promise<void> {
  loadDotEnv();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const log = pino({
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
  });
  // What a killed instance left in the temp dir (its vault password file, its warm engine's socket).
  const swept = sweepDeadInstances();
  if (swept.length > 0) log.info({ removed: swept }, 'removed the temp directories of dead service processes');
  const vault = new VaultPassword(config);
  if (!vault.file) log.warn('no VAULT_PASSWORD_FILE or VAULT_PASSWORD: playbooks that need the vault will fail');

  // Loaded only when it may start: with PROXMOX_SIMULATOR=off the simulator's modules (and the
  // data files they read as they load) are not needed at all, e.g. in a production image.
  const simulator = config.simulator.mode === 'off'
    ? null
    : await (await import('./simulator/embed.js')).startEmbeddedSimulator(config, vault.file, log);
  const app = await createApp(config, { vaultPasswordFile: vault.file, logger: log });
  // SIGINT, SIGTERM: the ordered shutdown (shutdown.ts).
  exitOnSignals(config, log, { app, simulator, vault });

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    vault.dispose();
    process.stderr.write(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
