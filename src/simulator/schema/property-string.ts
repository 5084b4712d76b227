import type { PropertySchema } from './spec.js';

/**
 * Proxmox property strings (`key=value,...`) as pve-common parses and prints them: a default key
 * may come without `key=`, key aliases pair a model with a MAC (`virtio=BC:24:11:..`), booleans
 * inside are lenient, and printing is canonical (default key, required keys, then alphabetical),
 * which clients such as Ansible's proxmox_nic rely on to compare values.
 */

export type PropertyFormat = Record<string, PropertySchema>;

export class PropertyStringError extends Error {
  constructor(
    message: string,
    /** Inner validation errors per key (the `format error` case). */
    readonly keyErrors?: Record<string, string>,
  ) {
    super(message);
  }
}

/** `1/0/on/off/yes/no/true/false`, any case, to 1/0; anything else is left as is. */
export function parseBoolean(v: string): string {
  if (/^(1|on|yes|true)$/i.test(v)) return '1';
  if (/^(0|off|no|false)$/i.test(v)) return '0';
  return v;
}

function defaultKey(format: PropertyFormat): string | undefined {
  return Object.keys(format).find((k) => format[k]!.default_key);
}

/** Splits on commas outside double quotes (PVE allows quoted values for a few keys). */
function splitParts(text: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

export function parsePropertyString(format: PropertyFormat, text: string): Record<string, string> {
  const res: Record<string, string> = {};
  let usedDefault: string | undefined;
  for (const part of splitParts(text)) {
    if (/^\s*$/.test(part)) continue;
    const m = /^([^=]+)=(.+)$/s.exec(part);
    if (m) {
      let key = m[1]!;
      let value = m[2]!;
      if (res[key] !== undefined) throw new PropertyStringError(`duplicate key in comma-separated list property: ${key}`);
      let schema = format[key];
      if (schema?.alias) {
        if (schema.keyAlias) {
          if (res[schema.keyAlias] !== undefined) throw new PropertyStringError(`key alias '${schema.keyAlias}' is already defined`);
          res[schema.keyAlias] = key;
        }
        key = schema.alias;
        schema = format[key];
      }
      if (!schema) throw new PropertyStringError(`invalid key in comma-separated list property: ${key}`);
      if (schema.type === 'boolean') value = parseBoolean(value);
      if (value.startsWith('"') && value.endsWith('"') && value.length > 1) value = value.slice(1, -1);
      res[key] = value;
    } else if (!part.includes('=')) {
      if (usedDefault) throw new PropertyStringError(`duplicate key in comma-separated list property: ${usedDefault}`);
      const dk = defaultKey(format);
      if (!dk) throw new PropertyStringError('value without key, but schema does not define a default key');
      if (res[dk] !== undefined) throw new PropertyStringError(`duplicate key in comma-separated list property: ${dk}`);
      res[dk] = part;
      usedDefault = dk;
    } else {
      throw new PropertyStringError('missing key in comma-separated list property');
    }
  }
  return res;
}

/** `print_property_string`: default key first, required keys next, the rest alphabetically. */
export function printPropertyString(format: PropertyFormat, values: Record<string, string | number>): string {
  // keyAlias pairs: for net, `model` is printed together with `macaddr` as `virtio=MAC`.
  const combineWith: Record<string, string> = {};
  for (const schema of Object.values(format)) {
    if (schema.alias && schema.keyAlias) combineWith[schema.keyAlias] = schema.alias;
  }
  const out: string[] = [];
  const done = new Set<string>();
  const add = (key: string, isDefault: boolean) => {
    if (done.has(key)) return;
    done.add(key);
    const value = values[key];
    if (value === undefined) return;
    const partner = combineWith[key];
    if (partner !== undefined && values[partner] !== undefined) {
      out.push(`${value}=${values[partner]}`);
      done.add(partner);
      return;
    }
    out.push(isDefault ? String(value) : `${key}=${value}`);
  };
  const dk = defaultKey(format);
  if (dk) add(dk, true);
  const keys = Object.keys(values).sort();
  for (const k of keys) if (format[k] && !format[k]!.optional) add(k, false);
  for (const k of keys) add(k, false);
  return out.join(',');
}

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `32G` → bytes (`parse_size`); a bare number is bytes. NaN when unparsable. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT])?$/.exec(text.trim());
  if (!m) return NaN;
  return Math.round(Number(m[1]) * (m[2] ? UNITS[m[2]]! : 1));
}

/** `format_size`: exact multiples print as T, G, M or K, anything else as bytes. */
export function formatSize(bytes: number): string {
  const kb = Math.floor(bytes / 1024);
  if (kb * 1024 !== bytes) return String(bytes);
  const mb = Math.floor(kb / 1024);
  if (mb * 1024 !== kb) return `${kb}K`;
  const gb = Math.floor(mb / 1024);
  if (gb * 1024 !== mb) return `${mb}M`;
  const tb = Math.floor(gb / 1024);
  if (tb * 1024 !== gb) return `${gb}G`;
  return `${tb}T`;
}
