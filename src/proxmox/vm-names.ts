import fs from 'node:fs';
import type { Config } from '../config/env.js';
import { DomainError } from '../errors.js';
import { ProxmoxApiError, ProxmoxClient } from './client.js';
import { CredentialsError, configuredApiHosts, loadProxmoxCredentials, type ProxmoxCredentials } from './credentials.js';

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
    return loadProxmoxCredentials({ inventoryDir: this.config.inventoryDir, vaultFile: this.config.vaultFile, vaultPassword: this.vaultPassword() });
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

  private vaultPassword(): string | null {
    return this.vaultPasswordFile ? fs.readFileSync(this.vaultPasswordFile, 'utf8').trim() : null;
  }

  /** The Proxmox API hosts a request may name (see configuredApiHosts). */
  apiHosts(): string[] {
    try {
      return configuredApiHosts({ inventoryDir: this.config.inventoryDir, vaultFile: this.config.vaultFile, vaultPassword: this.vaultPassword() });
    } catch (err) {
      if (err instanceof CredentialsError) throw new DomainError('PROXMOX_CREDENTIALS', `:: err - ${err.message}`);
      throw err;
    }
  }

  /** The name of a VM (`qemu`) or container (`lxc`); DomainError VM_NOT_FOUND when the id is unknown. */
  async resolve(node: string | null, vmId: string, kind: 'qemu' | 'lxc' = 'qemu'): Promise<string> {
    let creds: ProxmoxCredentials;
    try {
      creds = this.credentials();
    } catch (err) {
      if (err instanceof CredentialsError) throw new DomainError('PROXMOX_CREDENTIALS', `:: err - ${err.message}`);
      throw err;
    }
    let vms;
    try {
      const client = this.clientFor(creds);
      vms = await (kind === 'lxc' ? client.listLxc(node ?? creds.node) : client.listQemu(node ?? creds.node));
    } catch (err) {
      if (err instanceof ProxmoxApiError) throw new DomainError('PROXMOX_UNAVAILABLE', `:: err - ${err.message}`);
      throw err;
    }
    const vm = vms.find((v) => String(v.vmid) === String(Number(vmId)));
    if (!vm) throw new DomainError('VM_NOT_FOUND', ':: err - vm_id NOT FOUND');
    return String(vm.name ?? (vm as { hostname?: unknown }).hostname ?? '');
  }

  /** Every VM and container id of a node (the lock set of a bundle whose VMs cannot be known). */
  async nodeVmIds(node: string | null): Promise<number[]> {
    let creds: ProxmoxCredentials;
    try {
      creds = this.credentials();
    } catch (err) {
      if (err instanceof CredentialsError) throw new DomainError('PROXMOX_CREDENTIALS', `:: err - ${err.message}`);
      throw err;
    }
    try {
      const client = this.clientFor(creds);
      const target = node || creds.node;
      const [qemu, lxc] = await Promise.all([client.listQemu(target), client.listLxc(target)]);
      return [...qemu, ...lxc].map((g) => Number(g.vmid)).filter((id) => Number.isInteger(id));
    } catch (err) {
      if (err instanceof ProxmoxApiError) throw new DomainError('PROXMOX_UNAVAILABLE', `:: err - ${err.message}`);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = null;
  }
}
