import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/env.js';
import { DomainError } from '../errors.js';
import { ProxmoxApiError, ProxmoxClient } from './client.js';
import { CredentialsError, configuredApiHosts, configuredVarNames, loadProxmoxCredentials, type ProxmoxCredentials } from './credentials.js';
import { clusterGuests, containerTemplates, nodeInterfaces, type GuestRef, type NodeInterface } from './guests.js';

/**
 * VM id → name, read straight from the Proxmox API with the inventory's credentials (the original
 * ran a whole vm_list playbook for this, about two seconds per request). Credentials are read
 * again only when one of their files changed (inventory, vault file, vault password file: path,
 * size, mtime and inode), so an edited file applies at once while an unchanged one costs three
 * stat calls instead of a parse and a PBKDF2 derivation (~18 ms) per `!vault` value. HTTP
 * connections are reused.
 */
export class VmNameResolver {
  private client: ProxmoxClient | null = null;
  private clientKey = '';

  private credsCache: { key: string; value: ProxmoxCredentials } | null = null;
  private hostsCache: { key: string; value: string[] } | null = null;

  constructor(private readonly config: Pick<Config, 'inventoryDir' | 'vaultFile'>, private readonly vaultPasswordFile: string | null) {}

  credentials(): ProxmoxCredentials {
    const key = this.sourcesKey();
    if (this.credsCache?.key === key) return this.credsCache.value;
    const value = Object.freeze(loadProxmoxCredentials(this.sources()));
    this.credsCache = { key, value };
    return value;
  }

  /**
   * What the credentials are made of, as it is on disk now: each file's path, size, mtime (ns)
   * and inode (a file replaced by rename is new even with the same size and time). Taken before
   * the files are read, so a change during the read shows as a new key on the next call.
   */
  private sourcesKey(): string {
    const files = [path.join(this.config.inventoryDir, 'hosts.yml'), this.config.vaultFile, this.vaultPasswordFile];
    return files.map((file) => {
      if (!file) return '-';
      const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
      return st ? `${file}:${st.size}:${st.mtimeNs}:${st.ino}` : `${file}:missing`;
    }).join('|');
  }

  private sources() {
    return { inventoryDir: this.config.inventoryDir, vaultFile: this.config.vaultFile, vaultPassword: this.vaultPassword() };
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
    return credentialsOrRefusal(() => {
      const key = this.sourcesKey();
      if (this.hostsCache?.key === key) return [...this.hostsCache.value];
      const value = configuredApiHosts(this.sources());
      this.hostsCache = { key, value };
      return [...value];
    });
  }

  /** Every variable name the inventory and the vault file set (see configuredVarNames); null when unreadable. */
  varNames(): Set<string> | null {
    try {
      return configuredVarNames(this.sources());
    } catch {
      return null;
    }
  }

  /** The name of a VM (`qemu`) or container (`lxc`); DomainError VM_NOT_FOUND when the id is unknown. */
  async resolve(node: string | null, vmId: string, kind: 'qemu' | 'lxc' = 'qemu'): Promise<string> {
    const vms = await this.read((client, creds) => (kind === 'lxc' ? client.listLxc(node ?? creds.node) : client.listQemu(node ?? creds.node)));
    const vm = vms.find((v) => String(v.vmid) === String(Number(vmId)));
    if (!vm) throw new DomainError('VM_NOT_FOUND', ':: err - vm_id NOT FOUND');
    return String(vm.name ?? (vm as { hostname?: unknown }).hostname ?? '');
  }

  /**
   * What an id is on a node: a QEMU VM or an LXC container (one read of `/cluster/resources`),
   * with its name. DomainError VM_NOT_FOUND naming the id and the node when it is neither.
   */
  async guest(node: string | null, vmId: string | number): Promise<GuestRef> {
    const { listed, where } = await this.read(async (client, creds) => ({ listed: await clusterGuests(client), where: node || creds.node }));
    const vmid = Number(vmId);
    // A node that is down answers nothing: say so before a run would find it out (Proxmox's 595).
    if (listed.offlineNodes.has(where)) throw new DomainError('PROXMOX_UNAVAILABLE', `:: err - Proxmox node ${where} is offline (the cluster lists it offline; its API would answer 595)`);
    const found = listed.guests.find((g) => g.vmid === vmid);
    if (found && found.node === where) return found;
    const elsewhere = found ? ` (it is on node ${found.node})` : '';
    throw new DomainError('VM_NOT_FOUND', `:: err - vm_id NOT FOUND : ${vmid} is neither a VM nor a container on node ${where}${elsewhere}`);
  }

  /** The network interfaces of a node (staged ones included), as Proxmox lists them. */
  nodeInterfaces(node: string | null): Promise<NodeInterface[]> {
    return this.read((client, creds) => nodeInterfaces(client, node || creds.node));
  }

  /** The container templates on a node's storage (volume ids, in Proxmox's storage order). */
  containerTemplates(node: string | null): Promise<string[]> {
    return this.read((client, creds) => containerTemplates(client, node || creds.node));
  }

  /** The node a request names, or the inventory's. */
  nodeOf(node: string | null): string {
    return node || credentialsOrRefusal(() => this.credentials()).node;
  }

  /** Every VM and container id of a node (the lock set of a bundle whose VMs cannot be known). */
  async nodeVmIds(node: string | null): Promise<number[]> {
    const guests = await this.read(async (client, creds) => {
      const [qemu, lxc] = await Promise.all([client.listQemu(node || creds.node), client.listLxc(node || creds.node)]);
      return [...qemu, ...lxc];
    });
    return guests.map((g) => Number(g.vmid)).filter((id) => Number.isInteger(id));
  }

  /** One read of the Proxmox API with the current credentials; failures as domain errors. */
  private async read<T>(fn: (client: ProxmoxClient, creds: ProxmoxCredentials) => Promise<T>): Promise<T> {
    const creds = credentialsOrRefusal(() => this.credentials());
    try {
      return await fn(this.clientFor(creds), creds);
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

/** Credentials that cannot be read are the service's configuration problem, said as such. */
function credentialsOrRefusal<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CredentialsError) throw new DomainError('PROXMOX_CREDENTIALS', `:: err - ${err.message}`);
    throw err;
  }
}
