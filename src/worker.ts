import pino from 'pino';
import { loadConfig, loadDotEnv } from './config/env.js';
import { ConfigError } from './config/errors.js';
import { VaultPassword } from './config/vault.js';
import { sweepDeadInstances } from './config/instance-dirs.js';
import { Engine } from './engine/engine.js';
import { PgJobStore } from './jobs/pg-store.js';
import { ServiceSecrets } from './jobs/secrets.js';
import { RunWorker } from './jobs/worker.js';

/**
 * `npm run worker` (`node dist/worker.js` in production): a process that runs the playbooks of
 * RUN_QUEUE=redis on this host — its own checkout (PROJECT_ROOT_DIR, the catalog, the inventory),
 * its own Ansible and vault — with the same configuration variables as the API. SIGTERM/SIGINT:
 * no new job; running ones get SHUTDOWN_GRACE, then are canceled and recorded; exit 0.
 */
async function main(): Promise<void> {
  loadDotEnv();
  let config;
  try {
    config = loadConfig();
    if (config.queue.mode !== 'redis') throw new ConfigError('RUN_QUEUE', 'must be redis for a worker (with REDIS_URL and JOBS_STORE=postgres)');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const log = pino({ level: config.logLevel }).child({ role: 'worker' });
  // What a killed instance left in the temp dir (its vault password file, its warm engine's socket).
  const swept = sweepDeadInstances();
  if (swept.length > 0) log.info({ removed: swept }, 'removed the temp directories of dead service processes');
  const vault = new VaultPassword(config);
  if (!vault.file) log.warn('no VAULT_PASSWORD_FILE or VAULT_PASSWORD: playbooks that need the vault will fail');
  let store: PgJobStore;
  try {
    store = await PgJobStore.open(config.jobs.databaseUrl!);
  } catch (err) {
    vault.dispose();
    process.stderr.write(`fatal: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const engine = new Engine({ config, vaultPasswordFile: vault.file, log });
  const secrets = new ServiceSecrets(config, vault.file);
  const worker = new RunWorker({ config, store, engine, log, secrets: () => secrets.values() });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal while stopping: exiting now');
      vault.dispose();
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'worker stopping: no new job, waiting for running playbooks');
    const bound = setTimeout(() => {
      log.error('worker shutdown did not finish in time');
      vault.dispose();
      process.exit(1);
    }, config.runner.shutdownGraceMs + config.runner.cancelGraceMs + 10_000);
    void worker
      .close()
      .then(() => store.close())
      .then(
        () => {
          clearTimeout(bound);
          vault.dispose();
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'worker shutdown failed');
          vault.dispose();
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await engine.warmUp();
  await worker.start();
  // For whoever started it (tests, supervisors): the worker id, once it takes jobs.
  process.stdout.write(`${JSON.stringify({ msg: 'worker ready', worker: worker.id, pid: process.pid })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
