import type { PropertySchema } from './spec.js';

/** Messages by the path of the value at fault (`net0.mtu`), as PVE's `add_error` collects them. */
export type ErrorMap = Record<string, string>;

/**
 * Proxmox property strings (`key=value,...`) as pve-common's JSONSchema.pm parses and prints them
 * (`parse_property_string`, `print_property_string`, `parse_size`, `format_size`):
 *
 * - the default key may be given without `key=` (`local-lvm:vm-100-disk-0,size=32G`);
 * - `alias` keys store under another key, and `keyAlias` pairs store the key name itself
 *   (`virtio=BC:24:11:AA:BB:CC` is model=virtio, macaddr=BC:24:11:AA:BB:CC);
 * - booleans inside are lenient (`1/0/on/off/yes/no/true/false`, any case) and become 1/0;
 * - values are split on every comma: Perl's parser has no quoting, so neither has this one;
 * - the parsed keys are then checked against their schemas like any other value (types, ranges,
 *   named formats), and all problems are reported together as a `format error`;
 * - printing is canonical: default key first, then required keys, then the rest alphabetically,
 *   a keyAlias pair as `model=MAC`; clients (Ansible proxmox_nic / proxmox_disk) compare these strings.
 */

export type PropertyFormat = Record<string, PropertySchema>;

/**
 * A property string PVE would refuse. `message` is the text PVE puts after `invalid format - `
 * (with its trailing newline), e.g. `invalid key in comma-separated list property: colour\n`, or
 * `format error\nnet0.mtu: value must have a minimum value of 1\n` for values that fail their schema.
 */
export class PropertyStringError extends Error {
  override readonly name = 'PropertyStringError';

  constructor(
    message: string,
    /** The key at fault (the first one when several values fail), when there is one. */
    readonly key: string | undefined,
    /** The problem with that key alone, without path or trailing newline. */
    readonly inner: string,
    /** For a `format error`: every failing key (as `<path>.<key>`) with its message. */
    readonly errors?: ErrorMap,
  ) {
    super(message);
  }
}

/** A structural problem: PVE dies with `<text>\n`. */
const die = (text: string, key?: string) => new PropertyStringError(`${text}\n`, key, text);

/** `parse_boolean`: `1/on/yes/true` → '1', `0/off/no/false` → '0' (any case), anything else undefined. */
function parseBoolean(v: string): '1' | '0' | undefined {
  if (/^(?:1|on|yes|true)\n?$/i.test(v)) return '1';
  if (/^(?:0|off|no|false)\n?$/i.test(v)) return '0';
  return undefined;
}

const own = (format: PropertyFormat, key: string): PropertySchema | undefined => (Object.hasOwn(format, key) ? format[key] : undefined);

/** Perl truthiness of a scalar: undef, '' and '0' are false. */
const perlTrue = (v: string | undefined) => v !== undefined && v !== '' && v !== '0';

/** The default key of a format (the one with `default_key`), if any. */
function defaultKeyOf(format: PropertyFormat): string | undefined {
  return Object.keys(format).find((k) => format[k]!.default_key);
}

/**
 * The first half of `parse_property_string`: splits a property string into its keys and values per
 * an inline format (aliases, the default key, booleans normalised) and refuses what is structurally
 * wrong. The values are not checked against their schemas: parsePropertyString (./validate.ts) does
 * both. Throws PropertyStringError.
 */
export function readPropertyString(format: PropertyFormat, text: string): Record<string, string> {
  const res: Record<string, string> = {};
  let defaultKey: string | undefined;
  for (const part of String(text).split(',')) {
    if (/^\s*$/.test(part)) continue;
    const m = /^([^=]+)=(.+)\n?$/.exec(part);
    if (m) {
      let key = m[1]!;
      let value = m[2]!;
      if (res[key] !== undefined) throw die(`duplicate key in comma-separated list property: ${key}`, key);
      let schema = own(format, key);
      if (schema?.alias) {
        const keyAlias = schema.keyAlias;
        if (keyAlias) {
          if (res[keyAlias] !== undefined) throw die(`key alias '${keyAlias}' is already defined`, keyAlias);
          res[keyAlias] = key;
        }
        key = schema.alias;
        schema = own(format, key);
      }
      if (!schema) throw die(`invalid key in comma-separated list property: ${key}`, key);
      if (schema.type === 'boolean') value = parseBoolean(value) ?? value;
      res[key] = value;
    } else if (!part.includes('=')) {
      if (defaultKey) throw die(`duplicate key in comma-separated list property: ${defaultKey}`, defaultKey);
      for (const key of Object.keys(format)) {
        if (!format[key]!.default_key) continue;
        defaultKey = key;
        if (perlTrue(res[key])) throw die(`duplicate key in comma-separated list property: ${key}`, key);
        res[key] = part;
        break;
      }
      if (!defaultKey) throw die('value without key, but schema does not define a default key');
    } else {
      throw die('missing key in comma-separated list property');
    }
  }
  return res;
}

/** keyAlias pairs of a format: `model` → `macaddr` for network devices. */
function keyAliasPairs(format: PropertyFormat): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const schema of Object.values(format)) {
    if (schema.alias && schema.keyAlias) pairs[schema.keyAlias] = schema.alias;
  }
  return pairs;
}

/**
 * `print_property_string`: the default key first (without `key=`, or as `model=MAC` when a keyAlias
 * pair applies), then the required keys, then all others, each group sorted. Keys in `skip` are left
 * out; undefined values are left out. `disk-size` values given in bytes print as `format_size` does.
 */
export function printPropertyString(format: PropertyFormat, values: Record<string, string | number | undefined>, skip: string[] = []): string {
  const pairs = keyAliasPairs(format);
  const out: string[] = [];
  const done = new Set(skip);

  const formatValue = (key: string, value: string | number, keyFormat: unknown): string => {
    if (keyFormat === 'disk-size' && /^\d+$/.test(String(value))) return formatSize(Number(value));
    const text = String(value);
    if (text.includes(',')) throw die(`illegal value with commas for ${key}`, key);
    return text;
  };

  const add = (key: string, isDefault: boolean) => {
    if (done.has(key)) return;
    done.add(key);
    const value = values[key];
    if (value === undefined || value === null) return;
    let schema = own(format, key);
    const partner = pairs[key];
    if (partner !== undefined) {
      const partnerValue = values[partner];
      if (partnerValue !== undefined && partnerValue !== null) {
        out.push(`${formatValue(key, value, schema?.format)}=${formatValue(partner, partnerValue, own(format, partner)?.format)}`);
        done.add(partner);
        return;
      }
    }
    if (schema?.alias) schema = own(format, schema.alias);
    if (!schema) throw die(`invalid key '${key}'`, key);
    const text = formatValue(key, value, schema.format);
    out.push(isDefault ? text : `${key}=${text}`);
  };

  const defaultKey = defaultKeyOf(format);
  if (defaultKey !== undefined) add(defaultKey, true);
  const keys = Object.keys(values).sort();
  for (const key of keys) {
    const schema = own(format, key);
    if (schema && !schema.optional) add(key, false);
  }
  for (const key of keys) add(key, false);
  return out.join(',');
}

const UNIT: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `parse_size`: `32G` → bytes (`K`, `M`, `G`, `T` are powers of 1024; none means bytes). NaN when PVE would return undef. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT])?\n?$/.exec(String(text));
  if (!m) return NaN;
  return Math.trunc(Number(m[1]) * (m[2] ? UNIT[m[2]]! : 1));
}

/** `format_size`: exact multiples print as `T`, `G`, `M` or `K` (largest that divides), anything else as bytes. */
export function formatSize(bytes: number): string {
  const size = Math.trunc(bytes);
  const kb = Math.trunc(size / 1024);
  if (kb * 1024 !== size) return String(size);
  const mb = Math.trunc(kb / 1024);
  if (mb * 1024 !== kb) return `${kb}K`;
  const gb = Math.trunc(mb / 1024);
  if (gb * 1024 !== mb) return `${mb}M`;
  const tb = Math.trunc(gb / 1024);
  if (tb * 1024 !== gb) return `${gb}G`;
  return `${tb}T`;
}
