import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { DEFAULT_VMS_BUNDLES, DEFAULT_VMS_FILE } from '../config/paths.js';
import type { Body, VmTarget } from './types.js';

/**
 * The VMs a job changes, read from its request body: it holds a lock on each (node, vmid) while
 * it runs. Jobs that only read, or change no VM (node, datacenter, guests over SSH), have none.
 */
export interface LockSpec {
  /** Body fields holding one VM id each (`vm_id`, `vm_new_id`). */
  ids?: readonly string[];
  /** Body fields holding several: a list of ids (`vm_ids`), of `{id}` objects, or a map of `{vm_id}` objects (create-vms). */
  lists?: readonly string[];
  /**
   * A default VM set of the catalog: `r42_default_vms.<set>` in the default-VM bundles'
   * _shared/default_vms.yml; for a catalog without that file, the ids the bundle's playbook
   * (`bundle`, under bundles/) names in its vars; else every VM of the node.
   */
  defaultSet?: string;
  bundle?: string;
}

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
    const o = item as Body;
    const id = item && typeof item === 'object' ? vmid(o.vm_id ?? o.id ?? o.VM_ID ?? o.ID) : vmid(item);
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

  get bundlesDir(): string {
    return path.join(this.publicPlaybooksDir, 'bundles');
  }

  get file(): string {
    return path.join(this.publicPlaybooksDir, 'bundles', DEFAULT_VMS_BUNDLES, DEFAULT_VMS_FILE);
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

/** Play variables of a bundle that name the VMs it acts on (this catalog's and upstream's spellings). */
const VM_SET_VARS = /^(?:VM_IDS|VMS|vm_ids|vms|r42_power_ids)$/;
const anyTag = (tag: string) => ({ tag, resolve: (v: string) => v });

/**
 * The VM ids a bundle playbook names in its plays' `vars` (VM_IDS, VMS...), or null when it names
 * none or computes them (a template): then what it touches cannot be known from the files.
 */
function bundlePlaybookIds(playbook: string): number[] | null {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(playbook, 'utf8'), { customTags: [anyTag('!unsafe'), anyTag('!vault')] });
  } catch {
    return null;
  }
  const ids: number[] = [];
  let unknowable = false;
  for (const play of Array.isArray(doc) ? doc : []) {
    const vars = play && typeof play === 'object' ? (play as Body).vars : null;
    if (!vars || typeof vars !== 'object') continue;
    for (const [key, value] of Object.entries(vars as Body)) {
      if (!VM_SET_VARS.test(key)) continue;
      const found = idsIn(value);
      if (found.length === 0 || JSON.stringify(value).includes('{{')) unknowable = true;
      ids.push(...found);
    }
  }
  return ids.length > 0 && !unknowable ? ids : null;
}

/**
 * The VMs a request changes, per its lock spec, on `node`; `'node'` when they cannot be
 * known (a bundle of a catalog that names its VMs nowhere the service can read): the caller then
 * locks every VM of the node, never none.
 */
export function targetsOf(spec: LockSpec | undefined, body: Body, node: string, sets: DefaultVmSets): VmTarget[] | 'node' {
  if (!spec) return [];
  const ids: number[] = [];
  for (const f of spec.ids ?? []) {
    const id = vmid(body[f]);
    if (id !== null) ids.push(id);
  }
  for (const f of spec.lists ?? []) ids.push(...idsIn(body[f]));
  if (spec.defaultSet) {
    const known = sets.ids(spec.defaultSet);
    const fromPlaybook = known.length > 0 || !spec.bundle ? null : bundlePlaybookIds(path.join(sets.bundlesDir, spec.bundle, 'main.yml'));
    if (known.length === 0 && fromPlaybook === null) return 'node';
    ids.push(...known, ...(fromPlaybook ?? []));
  }
  return [...new Set(ids)].map((id) => ({ node, vmid: id }));
}
