import { readFileSync } from 'node:fs';

/**
 * The Proxmox VE 8.4 API schema, as generated into pve-api.json (next to this file) by
 * scripts/gen-pve-spec.ts from the official apidoc tree: which methods exist, which parameters each
 * accepts (Proxmox's JSON-schema dialect), and whether API tokens may call it.
 */

/** A property schema in Proxmox's JSON-schema dialect (booleans are written as 1/0). */
export interface ParamSchema {
  type?: string;
  optional?: number;
  default?: unknown;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  /** A Perl regex, matched as `m/^$pattern$/`. */
  pattern?: string;
  /** A named format (`pve-node`, `pve-configid-list`, ...) or an inline property-string format. */
  format?: string | Record<string, PropertySchema>;
  /** Another parameter that must be present when this one is. */
  requires?: string;
  items?: ParamSchema;
  properties?: Record<string, ParamSchema>;
  additionalProperties?: number | ParamSchema;
  [key: string]: unknown;
}

/** A key of an inline property-string format. */
export interface PropertySchema extends ParamSchema {
  /** The key whose value may be written without `key=`. */
  default_key?: number;
  /** This key is another name for `alias`. */
  alias?: string;
  /** With `alias`: the key name itself is stored under `keyAlias` (`virtio=MAC` → model=virtio). */
  keyAlias?: string;
}

export interface MethodSpec {
  /** The handler name in the Perl API (e.g. `update_vm`). */
  name: string;
  /** 1 when API tokens may call it; otherwise token calls get 403. */
  allowtoken?: number;
  protected?: number;
  /** `node`: the call is forwarded to the node named by that parameter. */
  proxyto?: string;
  parameters: { additionalProperties?: number; properties?: Record<string, ParamSchema>; [key: string]: unknown };
  returns: { type: string };
}

/**
 * Index ranges of the options the schema dump collapses to `name[n]` (qemu-server, pve-container,
 * pve-cluster corosync links, pve-manager node ACME domains): the largest index + 1.
 */
export const INDEX_RANGES: Readonly<Record<string, number>> = {
  net: 32, // qemu MAX_NETS; LXC MAX_LXC_NETWORKS
  ipconfig: 32,
  scsi: 31,
  virtio: 16,
  sata: 6,
  ide: 4,
  unused: 256, // qemu MAX_UNUSED_DISKS; LXC MAX_UNUSED_DISKS
  usb: 14,
  hostpci: 16,
  serial: 4,
  parallel: 3,
  numa: 8,
  virtiofs: 10,
  mp: 256, // LXC MAX_MOUNT_POINTS
  dev: 256, // LXC MAX_DEVICES
  link: 8, // corosync link0..link7
  acmedomain: 6, // `for my $i (0..$MAXDOMAINS)` with $MAXDOMAINS = 5
};

export class PveSpec {
  private static cached: PveSpec | undefined;
  private readonly methods: Map<string, MethodSpec>;
  private readonly paths: string[];

  private constructor(raw: Record<string, MethodSpec>) {
    this.methods = new Map(Object.entries(raw));
    this.paths = [...new Set([...this.methods.keys()].map((k) => k.slice(k.indexOf(' ') + 1)))];
  }

  /** The committed schema next to this module, parsed once. */
  static load(): PveSpec {
    PveSpec.cached ??= new PveSpec(JSON.parse(readFileSync(new URL('./pve-api.json', import.meta.url), 'utf8')) as Record<string, MethodSpec>);
    return PveSpec.cached;
  }

  /** The method `verb` (`GET`, `POST`, `PUT`, `DELETE`) of a path template such as `/nodes/{node}/qemu`. */
  method(verb: string, template: string): MethodSpec | undefined {
    return this.methods.get(`${verb.toUpperCase()} ${template}`);
  }

  has(verb: string, template: string): boolean {
    return this.methods.has(`${verb.toUpperCase()} ${template}`);
  }

  /** Every path template that has at least one method, in schema order. */
  templates(): string[] {
    return [...this.paths];
  }

  /** Every `"<METHOD> <template>"` of the schema. */
  keys(): string[] {
    return [...this.methods.keys()];
  }
}

/** `net0` → `['net', 0]` when `net[n]` is a collapsed option of `props` and 0 is in its range. */
export function indexedName(props: Record<string, unknown>, name: string): [string, number] | undefined {
  const m = /^([a-z]+)(\d+)$/.exec(name);
  if (!m) return undefined;
  const base = m[1]!;
  const digits = m[2]!;
  if (!(`${base}[n]` in props)) return undefined;
  if (digits.length > 1 && digits.startsWith('0')) return undefined; // `net01` is not `net1`
  const index = Number(digits);
  return index < (INDEX_RANGES[base] ?? 0) ? [base, index] : undefined;
}

/**
 * The schema of a concrete parameter name: a declared name as is, and an indexed one (`net0`,
 * `scsi30`, `mp255`) through its collapsed `name[n]` entry when the index is within Proxmox's range;
 * `net32` is as unknown as `foo`.
 */
export function paramSchema(spec: MethodSpec, name: string): ParamSchema | undefined {
  const props = spec.parameters.properties ?? {};
  if (name.endsWith('[n]')) return undefined; // the collapsed entry itself is no parameter name
  if (Object.hasOwn(props, name)) return props[name];
  const indexed = indexedName(props, name);
  return indexed ? props[`${indexed[0]}[n]`] : undefined;
}
