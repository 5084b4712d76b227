import { readFileSync } from 'node:fs';

/**
 * The Proxmox VE 8.4 API schema (generated into pve-api.json by scripts/gen-pve-spec.ts): which
 * methods exist, which parameters each accepts, and whether API tokens may call it.
 */

export interface ParamSchema {
  type?: string;
  optional?: number;
  default?: unknown;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  /** A named format, or an inline property-string format (key → schema). */
  format?: string | Record<string, PropertySchema>;
  requires?: string;
  items?: ParamSchema;
  properties?: Record<string, ParamSchema>;
  [key: string]: unknown;
}

/** A key of a property string: may be the default key, or an alias / key-alias of another. */
export interface PropertySchema extends ParamSchema {
  default_key?: number;
  alias?: string;
  keyAlias?: string;
}

export interface MethodSpec {
  name: string;
  allowtoken?: number;
  protected?: number;
  proxyto?: string;
  parameters: { additionalProperties?: number; properties?: Record<string, ParamSchema> };
  returns: { type: string };
}

/** Index ranges of the collapsed `name[n]` options (qemu-server / pve-container constants). */
const INDEX_RANGES: Record<string, number> = {
  net: 32, scsi: 31, virtio: 16, sata: 6, ide: 4, unused: 256, usb: 14, hostpci: 16, serial: 4,
  parallel: 3, ipconfig: 32, numa: 8, virtiofs: 10, mp: 256, dev: 256, link: 8, acmedomain: 6,
};

export class PveSpec {
  private static cached: PveSpec | undefined;
  private readonly methods: Map<string, MethodSpec>;

  private constructor(raw: Record<string, MethodSpec>) {
    this.methods = new Map(Object.entries(raw));
  }

  static load(): PveSpec {
    PveSpec.cached ??= new PveSpec(JSON.parse(readFileSync(new URL('./pve-api.json', import.meta.url), 'utf8')) as Record<string, MethodSpec>);
    return PveSpec.cached;
  }

  method(verb: string, template: string): MethodSpec | undefined {
    return this.methods.get(`${verb} ${template}`);
  }

  has(verb: string, template: string): boolean {
    return this.methods.has(`${verb} ${template}`);
  }

  /** Every `"<METHOD> <template>"` of the schema. */
  keys(): string[] {
    return [...this.methods.keys()];
  }
}

/** The schema of a concrete parameter name: `net0` resolves to `net[n]` when 0 is in range. */
export function paramSchema(spec: MethodSpec, name: string): ParamSchema | undefined {
  const props = spec.parameters.properties ?? {};
  const direct = props[name];
  if (direct) return direct;
  const m = /^([a-z]+)(\d+)$/.exec(name);
  if (!m) return undefined;
  const [, base, index] = m as unknown as [string, string, string];
  const collapsed = props[`${base}[n]`];
  if (!collapsed) return undefined;
  if (index.length > 1 && index.startsWith('0')) return undefined;
  return Number(index) < (INDEX_RANGES[base] ?? 0) ? collapsed : undefined;
}
