import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Body, LockSpec } from '../routes/types.js';
import type { VmTarget } from './types.js';

/** A VM id as requests give it ("4001", 4001), or null. */
function vmid(v: unknown): number | null {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return null;
}

/** Ids in a list of ids, of `{id}`/`{vm_id}` objects, or in a map of such objects. */
function idsIn(v: unknown): number[] {
  const items = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : [];
  const out: number[] = [];
  for (const item of items) {
    const id = item && typeof item === 'object' ? vmid((item as Body).vm_id ?? (item as Body).id) : vmid(item);
    if (id !== null) out.push(id);
  }
  return out;
}

/**
 * The default VM sets of the catalog (`r42_default_vms` in the default-VM bundles'
 * _shared/default_vms.yml), re-read when the file changes.
 */
export class DefaultVmSets {
  private cache: { mtimeMs: number; sets: Record<string, number[]> } | null = null;

  constructor(private readonly publicPlaybooksDir: string) {}

  get file(): string {
    return path.join(this.publicPlaybooksDir, 'bundles', 'core', 'proxmox', 'configure', 'default', 'vms', '_shared', 'default_vms.yml');
  }

  ids(set: string): number[] {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch {
      return [];
    }
    if (!this.cache || this.cache.mtimeMs !== st.mtimeMs) {
      const sets: Record<string, number[]> = {};
      try {
        const doc = YAML.parse(fs.readFileSync(this.file, 'utf8')) as { r42_default_vms?: Record<string, unknown> } | null;
        for (const [name, list] of Object.entries(doc?.r42_default_vms ?? {})) sets[name] = idsIn(list);
      } catch {
        // an unreadable catalog file: the bundle run will fail on it anyway
      }
      this.cache = { mtimeMs: st.mtimeMs, sets };
    }
    return this.cache.sets[set] ?? [];
  }
}

/** The VMs a request changes, per its route's lock spec, on `node`. */
export function targetsOf(spec: LockSpec | undefined, body: Body, node: string, sets: DefaultVmSets): VmTarget[] {
  if (!spec) return [];
  const ids: number[] = [];
  for (const f of spec.ids ?? []) {
    const id = vmid(body[f]);
    if (id !== null) ids.push(id);
  }
  for (const f of spec.lists ?? []) ids.push(...idsIn(body[f]));
  if (spec.defaultSet) ids.push(...sets.ids(spec.defaultSet));
  return [...new Set(ids)].map((id) => ({ node, vmid: id }));
}
