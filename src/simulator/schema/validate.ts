import { FORMATS, perlTrue, splitList } from './formats.js';
import { perlPatternMatches } from './perl-regex.js';
import { PropertyStringError, readPropertyString, type ErrorMap, type PropertyFormat } from './property-string.js';
import { indexedName, paramSchema, PveSpec, type MethodSpec, type ParamSchema, type PropertySchema } from './spec.js';

/**
 * Parameter validation as pve-common's JSONSchema.pm does it (`validate` → `check_prop` →
 * `check_object` / `check_type` / `check_format`), after RESTHandler's legacy normalisation:
 *
 * - every parameter is checked and every problem collected, keyed by parameter (`net0`, or
 *   `name[0]` for array items), with PVE's exact texts; a second problem on the same key is joined
 *   with a literal backslash-n, as `add_error` does;
 * - per value the order is PVE's: type, then format, pattern, maxLength, minLength, maximum,
 *   minimum, enum; the first failure of a value ends its checks (enum aside);
 * - `invalid format - <text>` carries the die text of the format check, trailing newline included
 *   (`invalid format - value does not look like a valid VM ID\n`), as real PVE replies do;
 * - patterns are matched as Perl does, `m/^$pattern$/` — so a pattern with a top-level `|` is only
 *   anchored on its outer branches — with `(?^i:...)` groups, `{,n}` and `$` translated;
 * - top-level booleans are strict (`0`/`1` as string or number, or JSON true/false).
 *
 * Values come back normalised: booleans as 0/1, integers and numbers as JS numbers, strings as
 * strings (a JSON number given for a string becomes its Perl string form), arrays item by item.
 *
 * The named formats are in formats.ts, the Perl pattern translation in perl-regex.ts.
 */

export interface Validated {
  params: Record<string, unknown>;
  errors: ErrorMap | null;
}

const NOT_DEFINED = 'property is not defined in schema and the schema does not allow additional properties';
const MISSING = 'property is missing and it is not optional';

/** `add_error`: a second message for the same path is joined with a literal `\n` (single-quoted in Perl). */
function addError(errors: ErrorMap, path: string, msg: string): void {
  const key = path || '_root';
  errors[key] = errors[key] ? `${errors[key]}\\n${msg}` : msg;
}

const isHash = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** How Perl prints a number (`%.15g`). */
function perlNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Inf' : '-Inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  const [mantissa, exponent] = n.toPrecision(15).split('e') as [string, string | undefined];
  const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  if (exponent === undefined) return trimmed;
  const e = Number(exponent);
  return `${trimmed}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** A scalar as Perl sees it in string context (JSON booleans are objects and never get here). */
const scalarText = (v: unknown): string => (typeof v === 'number' ? perlNumber(v) : String(v));

/** The class name Perl reports for a reference value. */
function refType(v: unknown): string | undefined {
  if (typeof v === 'boolean') return 'JSON::PP::Boolean';
  if (Array.isArray(v)) return 'ARRAY';
  if (isHash(v)) return 'HASH';
  return undefined;
}

const IS_INTEGER = /^[+-]?\d+\n?$/;
const IS_NUMBER = /^[+-]?(?:\d+\.\d+|\d+\.|\.\d+|\d+)(?:[eE][+-]?\d+)?\n?$/;

/** `check_type`; returns false (after recording the error) when the value has the wrong type. */
function checkType(path: string, type: string | undefined, value: unknown, errors: ErrorMap): boolean {
  if (!type || type === 'any') return true;
  if (type === 'null') {
    addError(errors, path, `type check ('${type}') failed - value is not null`);
    return false;
  }
  const ref = refType(value);
  if (type === 'array' || type === 'object') {
    if (ref !== (type === 'array' ? 'ARRAY' : 'HASH')) {
      addError(errors, path, `type check ('${type}') failed`);
      return false;
    }
    return true;
  }
  if (ref) {
    if (type === 'boolean' && ref === 'JSON::PP::Boolean') return true;
    addError(errors, path, `type check ('${type}') failed - got ${ref}`);
    return false;
  }
  const text = scalarText(value);
  const ok = type === 'boolean' ? text === '1' || text === '0' : type === 'integer' ? IS_INTEGER.test(text) : type === 'number' ? IS_NUMBER.test(text) : true;
  if (!ok) addError(errors, path, `type check ('${type}') failed - got '${text}'`);
  return ok;
}

/** `check_prop`: one value against its schema; errors are recorded under `path`. */
function checkProp(value: unknown, schema: ParamSchema, path: string, errors: ErrorMap): void {
  if (value === undefined || value === null) {
    if (schema.type === 'null') return;
    if (!schema.optional && !schema.alias && !schema.group) addError(errors, path, MISSING);
    return;
  }
  if (!checkType(path, schema.type, value, errors)) return;

  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => checkProp(item, schema.items!, `${path}[${i}]`, errors));
    return;
  }
  if (isHash(value)) {
    if (schema.properties || schema.additionalProperties) {
      checkObject(path, (schema.properties ?? {}) as Record<string, ParamSchema>, value, schema.additionalProperties, errors);
    }
    return;
  }
  if (typeof value === 'boolean') return; // a JSON::PP::Boolean is a reference: no scalar checks

  const text = scalarText(value);
  if (schema.format) {
    const err = checkFormat(schema.format, text, path);
    if (err !== null) {
      addError(errors, path, `invalid format - ${err}`);
      return;
    }
  }
  if (schema.pattern && !perlPatternMatches(schema.pattern, text)) {
    addError(errors, path, 'value does not match the regex pattern');
    return;
  }
  const length = [...text].length;
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    addError(errors, path, `value may only be ${schema.maxLength} characters long`);
    return;
  }
  if (schema.minLength !== undefined && length < schema.minLength) {
    addError(errors, path, `value must be at least ${schema.minLength} characters long`);
    return;
  }
  if (IS_NUMBER.test(text)) {
    if (schema.maximum !== undefined && Number(text) > Number(schema.maximum)) {
      addError(errors, path, `value must have a maximum value of ${scalarText(schema.maximum)}`);
      return;
    }
    if (schema.minimum !== undefined && Number(text) < Number(schema.minimum)) {
      addError(errors, path, `value must have a minimum value of ${scalarText(schema.minimum)}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.some((e) => String(e) === text)) {
    addError(errors, path, `value '${text}' does not have a value in the enumeration '${schema.enum.join(', ')}'`);
  }
}

/**
 * `check_object`: every declared key (missing ones included), then every given key (`requires`,
 * undeclared keys). `additional` = 0 refuses undeclared keys, a schema checks them, else they pass.
 */
function checkObject(
  path: string,
  schema: Record<string, ParamSchema | PropertySchema>,
  value: Record<string, unknown>,
  additional: unknown,
  errors: ErrorMap,
  lookup: (key: string) => ParamSchema | undefined = (key) => (Object.hasOwn(schema, key) ? schema[key] : undefined),
): void {
  const sub = (k: string) => (path ? `${path}.${k}` : k);
  for (const k of Object.keys(schema)) {
    if (k.endsWith('[n]')) continue; // collapsed indexed options: checked through the given names below
    checkProp(value[k], schema[k]!, sub(k), errors);
  }
  for (const k of Object.keys(value)) {
    if (!Object.hasOwn(schema, k) && indexedName(schema, k)) checkProp(value[k], lookup(k)!, sub(k), errors);
  }
  for (const k of Object.keys(value)) {
    const s = lookup(k);
    if (s) {
      const requires = s.requires;
      if (typeof requires === 'string' && (value[requires] === undefined || value[requires] === null)) {
        addError(errors, sub(requires), `missing property - '${sub(k)}' requires this property`);
      }
      continue;
    }
    if (additional !== undefined && additional !== null && !additional) {
      addError(errors, sub(k), NOT_DEFINED);
      continue;
    }
    if (isHash(additional)) checkProp(value[k], additional as ParamSchema, sub(k), errors);
  }
}


/**
 * RESTHandler's `$normalize_legacy_param_formats`, on declared top-level parameters with a true
 * value: an array for a string with a `*-list` format is joined with `,`; a plain scalar for an
 * `array` parameter is wrapped.
 */
function normalizeLegacy(props: Record<string, ParamSchema>, input: Record<string, unknown>): Record<string, unknown> {
  const out = { ...input };
  for (const [key, schema] of Object.entries(props)) {
    const value = out[key];
    if (!perlTrue(value)) continue;
    const type = schema.type ?? '';
    if (Array.isArray(value) && type === 'string' && typeof schema.format === 'string' && schema.format.endsWith('-list')) {
      out[key] = value.map((v) => (v === null || v === undefined ? '' : typeof v === 'boolean' ? (v ? '1' : '0') : scalarText(v))).join(',');
    } else if (refType(value) === undefined && type === 'array') {
      out[key] = [value];
    }
  }
  return out;
}

/** A valid value in the shape the handlers get: booleans 0/1, integers and numbers as numbers. */
function normalizeValue(schema: ParamSchema | undefined, value: unknown): unknown {
  if (!schema) return value;
  switch (schema.type) {
    case 'boolean':
      return value === true || scalarText(value) === '1' ? 1 : 0;
    case 'integer':
    case 'number':
      return typeof value === 'number' ? value : Number(String(value).trim());
    case 'string':
      return typeof value === 'number' ? scalarText(value) : value;
    case 'array':
      return Array.isArray(value) ? value.map((item) => normalizeValue(schema.items, item)) : value;
    default:
      return value;
  }
}

/**
 * Validates the merged URI/query/body parameters of a call against its method schema. `errors` is
 * null when PVE would accept the call; otherwise it holds what PVE answers as
 * `400 Parameter verification failed.` (`{"errors": {...}}`).
 */
export function validateParams(spec: MethodSpec, input: Record<string, unknown>): Validated {
  const props = (spec.parameters.properties ?? {}) as Record<string, ParamSchema>;
  const values = normalizeLegacy(props, input);
  const errors: ErrorMap = {};
  if (spec.parameters.type && spec.parameters.type !== 'object') {
    checkType('', String(spec.parameters.type), values, errors);
  }
  checkObject('', props, values, spec.parameters.additionalProperties, errors, (key) => paramSchema(spec, key));
  if (Object.keys(errors).length) return { params: values, errors };

  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === null) continue;
    params[key] = normalizeValue(paramSchema(spec, key), value);
  }
  return { params, errors: null };
}

/** Hash-registered formats (property strings) whose keys the schema dump does not spell out. */
const HASH_FORMATS: Record<string, () => PropertyFormat | undefined> = {
  // qemu-server PVE/QemuServer/Cloudinit: ipconfig[n]
  'pve-qm-ipconfig': () => ({
    ip: { type: 'string', format: 'pve-ipv4-config', optional: 1 },
    gw: { type: 'string', format: 'ipv4', optional: 1 },
    ip6: { type: 'string', format: 'pve-ipv6-config', optional: 1 },
    gw6: { type: 'string', format: 'ipv6', optional: 1 },
  }),
  // `cdrom` (alias of ide2) uses the IDE drive format
  'pve-qm-ide': () => {
    const format = PveSpec.load().method('PUT', '/nodes/{node}/qemu/{vmid}/config')?.parameters.properties?.['ide[n]']?.format;
    return format && typeof format === 'object' ? format : undefined;
  },
};


/**
 * `check_format`: null when the value is fine, else the text PVE appends to `invalid format - `.
 * Inline objects are property strings; `<name>-list` checks each list item, `<name>-opt` allows ''.
 */
export function checkFormat(format: string | Record<string, PropertySchema>, text: string, path = ''): string | null {
  if (typeof format === 'object') return propertyStringError(format, text, path);
  if (format === 'regex') return null;
  const m = /^(.*?)(?:-(list|opt))?$/.exec(format)!;
  const name = m[1]!;
  const kind = m[2] ?? 'none';
  const code = FORMATS[name];
  if (!code) {
    const hash = kind === 'none' ? HASH_FORMATS[name]?.() : undefined;
    return hash ? propertyStringError(hash, text, path) : null; // unknown here: lenient
  }
  if (kind === 'list') {
    for (const item of splitList(text)) {
      const err = code(item);
      if (err !== null) return err;
    }
    return null;
  }
  if (kind === 'opt') return perlTrue(text) ? code(text) : null;
  return code(text);
}

/**
 * `parse_property_string`: reads a property string against an inline format and checks its values
 * against their schemas. `path` (the parameter name, e.g. `net0`) prefixes the keys in `format error`
 * messages, as PVE does. Throws PropertyStringError.
 */
export function parsePropertyString(format: PropertyFormat, text: string, path = ''): Record<string, string> {
  const res = readPropertyString(format, text);
  const errors: ErrorMap = {};
  checkObject(path, format, res, 0, errors);
  const failed = Object.keys(errors);
  if (failed.length) {
    const first = failed[0]!;
    const key = path && first.startsWith(`${path}.`) ? first.slice(path.length + 1) : first;
    const message = `format error\n${failed.map((k) => `${k}: ${errors[k]}\n`).join('')}`;
    throw new PropertyStringError(message, key, errors[first]!.replace(/\n+$/, ''), errors);
  }
  return res;
}

function propertyStringError(format: PropertyFormat, text: string, path: string): string | null {
  try {
    parsePropertyString(format, text, path);
    return null;
  } catch (err) {
    if (err instanceof PropertyStringError) return err.message;
    throw err;
  }
}
