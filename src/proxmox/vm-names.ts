import fs from 'node:fs';
import type { Config } from '../config/env.js';
import { ApiError } from '../errors.js';
import { ProxmoxApiError, ProxmoxClient } from './client.js';
import { CredentialsError, loadProxmoxCredentials, type ProxmoxCredentials } from './credentials.js';

/**
 * VM id → name, read straight from the Proxmox API with the inventory's credentials (the original
 * ran a whole vm_list playbook for this, about two seconds per request). Credentials are read per
 * call, so an edited inventory or vault file applies at once; HTTP connections are reused.
 */
export class VmNameResolver {
  private client: ProxmoxClient | null = null;
  private clientKey = '';

  constructor(private readonly config: Pick<Config, 'inventoryDir' | 'vaultFile'>, private readonly vaultPasswordFile: string | null) {}

  credentials(): ProxmoxCredentials {
    const vaultPassword = this.vaultPasswordFile ? fs.readFileSync(this.vaultPasswordFile, 'utf8').trim() : null;
    return loadProxmoxCredentials({ inventoryDir: this.config.inventoryDir, vaultFile: this.config.vaultFile, vaultPassword });
  }

  private clientFor(creds: ProxmoxCredentials): ProxmoxClient {
    const key = JSON.stringify(creds);
    if (!this.client || key !== this.clientKey) {
      void this.client?.close();
      this.client = new ProxmoxClient(creds);
      this.clientKey = key;
    }
    return this.client;
  }

  async resolve(node: string | null, vmId: string): Promise<string> {
    let creds: ProxmoxCredentials;
    try {
      creds = this.credentials();
    } catch (err) {
      if (err instanceof CredentialsError) throw new ApiError(500, `:: err - ${err.message}`);
      throw err;
    }
    let vms;
    try {
      vms = await this.clientFor(creds).listQemu(node ?? creds.node);
    } catch (err) {
      if (err instanceof ProxmoxApiError) throw new ApiError(502, `:: err - ${err.message}`);
      throw err;
    }
    const vm = vms.find((v) => String(v.vmid) === String(Number(vmId)));
    if (!vm) throw new ApiError(404, ':: err - vm_id NOT FOUND');
    return String(vm.name ?? '');
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = null;
  }
}
