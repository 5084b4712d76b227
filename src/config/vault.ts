import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './env.js';
import { makeInstanceDir } from './instance-dirs.js';

/**
 * Owns the vault password file for the service's lifetime. A user-supplied
 * VAULT_PASSWORD_FILE is used as is; an inline VAULT_PASSWORD is written to a private
 * temporary file (0600, in a 0700 directory) that `dispose()` removes — also on SIGINT/SIGTERM
 * and on process exit, so the password never outlives the service on disk. A process killed by
 * SIGKILL cannot: its directory is named after it and removed by the next start
 * (`r42-vault-<pid>-<start>-XXXXXX`, see config/instance-dirs.ts).
 */
export class VaultPassword {
  readonly file: string | null;
  private tempDir: string | null = null;
  private readonly onExit = () => this.dispose();

  constructor(config: Pick<Config, 'vaultPasswordFile' | 'vaultPassword'>) {
    if (config.vaultPasswordFile) {
      this.file = config.vaultPasswordFile;
    } else if (config.vaultPassword) {
      // Named after this process: a next start removes it if this one is killed (instance-dirs.ts).
      this.tempDir = makeInstanceDir('r42-vault-');
      this.file = path.join(this.tempDir, 'vault_pass.txt');
      fs.writeFileSync(this.file, config.vaultPassword, { mode: 0o600 });
      process.once('exit', this.onExit);
    } else {
      this.file = null;
    }
  }

  /** Idempotent; synchronous so that it also works from an 'exit' handler. */
  dispose(): void {
    if (this.tempDir) {
      fs.rmSync(this.tempDir, { recursive: true, force: true });
      this.tempDir = null;
      process.removeListener('exit', this.onExit);
    }
  }
}
