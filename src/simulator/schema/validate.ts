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
 * Named formats implemented (with PVE's messages): string, urlencoded, regex, pve-configid,
 * pve-storage-id, acme-plugin-id, pve-bridge-id, pve-vmid, pve-node, storage-pair, bridge-pair,
 * mac-addr, mac-prefix, ipv4, ipv6, ip, ipv4mask, CIDR, CIDRv4, CIDRv6, IPorCIDR, IPorCIDRorAlias,
 * pve-ipv4-config, pve-ipv6-config, email, email-or-username, dns-name, address, pve-iface,
 * pve-vlan-id-or-range, disk-size, pve-startup-order, pve-tag, pve-tfa-secret, pve-task-status-type,
 * ldap-simple-attr, pve-realm, pve-userid, pve-tokenid, pve-groupid, pve-roleid, pve-poolid,
 * pve-priv, pve-volume-id, pve-volume-id-or-absolute-path, pve-volume-id-or-qm-path,
 * pve-qm-bootdisk, pve-hotplug-features, pve-acme-domain, pve-acme-alias, pve-fw-addr-spec,
 * pve-fw-sport-spec, pve-fw-dport-spec, pve-fw-protocol-spec, pve-fw-icmp-type-spec, and the
 * property-string formats pve-qm-ipconfig and pve-qm-ide; plus their `-list` (split on `,` `;` and
 * spaces) and `-opt` (empty allowed) variants, e.g. pve-configid-list, pve-tag-list, dns-name-list,
 * string-list, email-opt, pve-vmid-list, pve-node-list, pve-storage-id-list, address-list.
 *
 * Lenient (accepted as they are, the schema dump does not describe them and the simulator does
 * not need them strict): pve-calendar-event, pve-replication-job-id, graphite-path,
 * backup-fleecing, backup-performance, prune-backups, pve-ha-resource-or-vm-id,
 * pve-ha-group-node, pve-storage-path-in-property-string, pve-sdn-* (vnet, zone, subnet,
 * controller, ipam, dns, dhcp-range, bgp-rt, isis-net), pve-cpuset, pve-qemu-sev-fmt, pve-qm-boot,
 * pve-qm-cicustom, pve-vm-cpu-conf, pve-qm-hostpci, pve-qm-rng, pve-qm-smbios1, pve-qm-watchdog,
 * proxmox-remote, pve-lxc-dev-string, pve-lxc-mp-string, lxc-ip-with-ll-iface, pve-ct-timezone,
 * pve-day-of-week, pve-storage-server, pve-storage-portal-dns, pve-storage-content,
 * pve-storage-path, pve-storage-options, pve-storage-vgname, pve-fw-conntrack-helper,
 * pem-certificate-chain, pem-string, pve-command-batch, pve-dir-override, realm-sync-options,
 * pve-tfa-config, and any other name not listed above.
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
export function perlNumber(n: number): string {
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
export function checkProp(value: unknown, schema: ParamSchema, path: string, errors: ErrorMap): void {
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
export function checkObject(
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

/** Perl truthiness of a scalar value (JSON booleans by their value). */
const perlTrue = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== false && v !== '' && v !== '0' && v !== 0;

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

// ---------------------------------------------------------------------------------------------
// Perl patterns

const patternCache = new Map<string, RegExp | null>();

const swapCase = (c: string) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());
const isLetter = (c: string) => /^[A-Za-z]$/.test(c);

/** A character class body made case-insensitive: letters and letter ranges get their other case. */
function caseFoldClass(body: string): string {
  let extra = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (body[i + 1] === '-' && i + 2 < body.length && isLetter(c) && isLetter(body[i + 2]!)) {
      extra += `${swapCase(c)}-${swapCase(body[i + 2]!)}`;
      i += 2;
    } else if (isLetter(c)) {
      extra += swapCase(c);
    }
  }
  return body + extra;
}

/**
 * Perl's inline modifiers: `(?^flags:…)` (defaults, then flags: how Perl stringifies a `qr//`,
 * hence the schema dump's `(?^i:…)`), `(?flags-flags:…)` (added to / removed from the enclosing
 * ones) and the group-less `(?flags)` / `(?^flags)` (to the end of the enclosing group).
 */
const PERL_MODIFIERS = /^\(\?(\^?)([a-z]*)(?:-([a-z]*))?([:)])/;

/**
 * Translates a Perl regex (as the schema dump spells it) to JavaScript: inline modifier groups
 * (`(?^i:…)`, `(?i:…)`, `(?i)`…; `i` is case-folded by hand since Node 20 has no inline
 * modifiers, `s` makes `.` match a newline, the others change nothing the schema's patterns use),
 * `{,n}` quantifiers, and `$`, which in Perl also matches before a final newline.
 */
export function translatePerlRegex(src: string): string {
  let out = '';
  const stack: [boolean, boolean][] = [];
  let ci = false;
  let dotall = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      out += c + (src[i + 1] ?? '');
      i++;
    } else if (c === '[') {
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      const negated = src[i + 1] === '^';
      const body = src.slice(i + (negated ? 2 : 1), j);
      out += `[${negated ? '^' : ''}${ci ? caseFoldClass(body) : body}]`;
      i = j;
    } else if (c === '(') {
      const m = PERL_MODIFIERS.exec(src.slice(i));
      if (m && (m[1] || m[2] || m[3] !== undefined || m[4] === ')')) {
        const [, caret, on = '', off = '', end] = m;
        const apply = (flag: string, current: boolean) => (caret ? on.includes(flag) : (current || on.includes(flag)) && !off.includes(flag));
        if (end === ':') {
          stack.push([ci, dotall]);
          out += '(?:';
        }
        ci = apply('i', ci);
        dotall = apply('s', dotall);
        i += m[0].length - 1;
      } else {
        stack.push([ci, dotall]);
        out += c;
      }
    } else if (c === ')') {
      [ci, dotall] = stack.pop() ?? [false, false];
      out += c;
    } else if (c === '{' && /^\{,\d+\}/.test(src.slice(i))) {
      out += '{0,';
      i++;
    } else if (c === '$') {
      out += '(?=\\n?$)';
    } else if (c === '.' && dotall) {
      out += '[\\s\\S]';
    } else if (ci && isLetter(c)) {
      out += `[${c}${swapCase(c)}]`;
    } else {
      out += c;
    }
  }
  return out;
}

/** `$value =~ m/^$pattern$/`; a pattern JavaScript cannot compile is not enforced. */
export function perlPatternMatches(pattern: string, text: string): boolean {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(`^${translatePerlRegex(pattern)}(?=\\n?$)`);
    } catch {
      re = null;
    }
    patternCache.set(pattern, re);
  }
  return re ? re.test(text) : true;
}

// ---------------------------------------------------------------------------------------------
// Named formats: each returns null when the value is fine, else the text PVE dies with.

type FormatCheck = (v: string) => string | null;

const IPV4OCTET = '(?:25[0-5]|(?:2[0-4]|1[0-9]|[1-9])?[0-9])';
const IPV4RE = `(?:(?:${IPV4OCTET}\\.){3}${IPV4OCTET})`;
const H16 = '(?:[0-9a-fA-F]{1,4})';
const LS32 = `(?:(?:${IPV4RE}|${H16}:${H16}))`;
const IPV6RE =
  '(?:' +
  `(?:(?:(?:${H16}:){6})${LS32})|` +
  `(?:(?:::(?:${H16}:){5})${LS32})|` +
  `(?:(?:(?:${H16})?::(?:${H16}:){4})${LS32})|` +
  `(?:(?:(?:(?:${H16}:){0,1}${H16})?::(?:${H16}:){3})${LS32})|` +
  `(?:(?:(?:(?:${H16}:){0,2}${H16})?::(?:${H16}:){2})${LS32})|` +
  `(?:(?:(?:(?:${H16}:){0,3}${H16})?::(?:${H16}:){1})${LS32})|` +
  `(?:(?:(?:(?:${H16}:){0,4}${H16})?::)${LS32})|` +
  `(?:(?:(?:(?:${H16}:){0,5}${H16})?::)${H16})|` +
  `(?:(?:(?:(?:${H16}:){0,6}${H16})?::)))`;
const END = '(?=\\n?$)';
const anchored = (re: string, flags = '') => new RegExp(`^${re}${END}`, flags);
const IPV4 = anchored(`(?:${IPV4RE})`);
const IPV6 = anchored(`(?:${IPV6RE})`);
const IP = anchored(`(?:(?:${IPV4RE})|(?:${IPV6RE}))`);
const CIDRV4 = new RegExp(`^(?:${IPV4RE})(?:/(\\d+))${END}`);
const CIDRV6 = new RegExp(`^(?:${IPV6RE})(?:/(\\d+))${END}`);
const EMAIL_USER_RE = '[\\w+\\-~]+(?:\\.[\\w+\\-~]+)*';
const EMAIL_RE = `${EMAIL_USER_RE}@[a-zA-Z0-9\\-]+(?:\\.[a-zA-Z0-9\\-]+)*`;
const DNS_LABEL = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9\\-]*[a-zA-Z0-9])?)';
const DNS_NAME = anchored(`(?:${DNS_LABEL}\\.)*${DNS_LABEL}`);
const CONFIGID = anchored('[a-z][a-z0-9_-]+', 'i');
const PVE_ID = anchored('[a-z][a-z0-9\\-_.]*[a-z0-9]', 'i');
const REALM_RE = '[A-Za-z][A-Za-z0-9.\\-_]+';
const USER_RE = '[^\\s:/]+';
const TAG = anchored('[a-z0-9_][a-z0-9_\\-+.]*', 'i');

const when = (ok: (v: string) => boolean, msg: (v: string) => string): FormatCheck => (v) => (ok(v) ? null : `${msg(v)}\n`);

const isCidrV4 = (v: string) => {
  const m = CIDRV4.exec(v);
  return !!m && Number(m[1]) > 7 && Number(m[1]) <= 32;
};
const isCidrV6 = (v: string) => {
  const m = CIDRV6.exec(v);
  return !!m && Number(m[1]) > 7 && Number(m[1]) <= 128;
};

const ipv4MaskBits = (mask: string): number | undefined => {
  if (!IPV4.test(mask)) return undefined;
  const bits = mask.replace(/\n$/, '').split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : undefined;
};

const verifyUsername = (username: string): string | null => {
  const len = [...username].length;
  if (len < 3) return `user name '${username}' is too short\n`;
  if (len > 64) return `user name '${username}' is too long (${len} > 64)\n`;
  return anchored(`(?:${USER_RE})@(?:${REALM_RE})`).test(username) ? null : `value '${username}' does not look like a valid user name\n`;
};

const parseVolumeId = when((v) => /^[a-z][a-z0-9\-_.]*[a-z0-9]:.+\n?$/i.test(v), (v) => `unable to parse volume ID '${v}'`);
const volumeIdOrAbsolutePath: FormatCheck = (v) => (v.startsWith('/') ? null : parseVolumeId(v));

/** `parse_idmap` for storage-pair / bridge-pair entries. */
const idPair = (idCheck: FormatCheck): FormatCheck => (entry) => {
  const problem = (() => {
    const parts = splitList(entry);
    let hasDefault = false;
    let identity = false;
    let mapped = false;
    const seen = new Set<string>();
    for (const part of parts) {
      if (part === '1') {
        identity = true;
        continue;
      }
      const m = /^([^:]+):([^:]+)$/.exec(part);
      if (m) {
        const err = idCheck(m[1]!) ?? idCheck(m[2]!);
        if (err) return `entry '${part}' contains invalid ID - ${err}\n`;
        if (seen.has(m[1]!)) return `duplicate mapping for source '${m[1]}'\n`;
        seen.add(m[1]!);
        mapped = true;
      } else {
        const err = idCheck(part);
        if (err) return `entry '${part}' contains invalid ID - ${err}\n`;
        if (hasDefault) return 'default target ID can only be provided once\n';
        hasDefault = true;
      }
    }
    if (identity && (hasDefault || mapped)) return 'identity mapping cannot be combined with other mappings\n';
    return null;
  })();
  return problem === null ? null : `${problem}\n`;
};

/** Net::IP->new() as pve-firewall uses it: addresses, prefixes (host bits must be zero) and ranges. */
function netIpError(elem: string): string | null {
  const toBits = (ip: string): string | undefined => {
    if (IPV4.test(ip)) return ip.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
    if (!IPV6.test(ip)) return undefined;
    let [head, tail] = ip.includes('::') ? (ip.split('::') as [string, string]) : [ip, undefined];
    const groups = (s: string) => (s ? s.split(':') : []);
    let v4: string[] = [];
    const last = (tail ?? head).split(':').pop() ?? '';
    if (last.includes('.')) {
      const bytes = last.split('.').map(Number);
      v4 = [((bytes[0]! << 8) | bytes[1]!).toString(16), ((bytes[2]! << 8) | bytes[3]!).toString(16)];
      if (tail !== undefined) tail = tail.slice(0, -last.length).replace(/:$/, '');
      else head = head.slice(0, -last.length).replace(/:$/, '');
    }
    const h = groups(head);
    const t = tail === undefined ? [] : groups(tail);
    const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length - v4.length).fill('0');
    return [...h, ...fill, ...t, ...v4].map((g) => parseInt(g, 16).toString(2).padStart(16, '0')).join('');
  };
  const range = /^([^-\s]+)\s*-\s*([^-\s]+)$/.exec(elem);
  if (range) {
    const [a, b] = [toBits(range[1]!), toBits(range[2]!)];
    if (a === undefined) return `Cannot determine IP version for ${range[1]}`;
    if (b === undefined || a.length !== b.length) return `Cannot determine IP version for ${range[2]}`;
    return a > b ? `Begin address is greater than End address ${range[1]} - ${range[2]}` : null;
  }
  const [addr, prefix, extra] = elem.split('/');
  const bits = toBits(addr!);
  if (bits === undefined || extra !== undefined) return `Cannot determine IP version for ${elem}`;
  if (prefix === undefined) return null;
  if (!/^\d+$/.test(prefix)) return `Invalid prefix length /${prefix}`;
  const len = Number(prefix);
  if (len > bits.length) return `Prefix length ${len} is longer than IP address (${bits.length})`;
  return /^0*$/.test(bits.slice(len)) ? null : `Invalid prefix ${bits}/${len}`;
}

const IP_ALIAS = anchored('[A-Za-z][A-Za-z0-9\\-_]+');

const IP_OR_CIDR = new RegExp(`^(?:${IPV6RE}|${IPV4RE})(?:/(\\d+))?${END}`);

const ipOrCidr: FormatCheck = (v) => {
  if (IP_OR_CIDR.test(v)) {
    const err = netIpError(v.replace(/\n$/, ''));
    return err === null ? null : `${err}\n`;
  }
  return 'value does not look like a valid IP address or CIDR network\n';
};

/** An alias as a rule references it: `name`, or scoped `dc/name` / `guest/name` (PVE 8). */
const SCOPED_IP_ALIAS = anchored('(?:(?:dc|guest)/)?([A-Za-z][A-Za-z0-9\\-_]+)');

/**
 * `parse_address_list` (pve-firewall): an ipset (`+name`, `+dc/name`, `+guest/name`), an alias
 * (`name`, `dc/name`, `guest/name`), or IPs/CIDRs/one range. Whether the ipset or alias exists is
 * checked by the rule handlers (`verify_rule`), not here.
 */
const fwAddrSpec: FormatCheck = (str) => {
  if (/^\+\S+$/.test(str)) return str.replace(/^\+(?:dc|guest)\//, '+').length > 65 ? 'ipset name too long\n' : null;
  const alias = SCOPED_IP_ALIAS.exec(str);
  if (alias) return alias[1]!.length > 64 ? 'alias name too long\n' : null;
  const elements = str.split(',');
  while (elements.length && elements[elements.length - 1] === '') elements.pop();
  if (str !== elements.join(',')) return 'extraneous commas in list\n';
  let version: number | undefined;
  let range = false;
  for (const elem of elements) {
    const err = netIpError(elem);
    if (err !== null) return `invalid IP address: ${err}\n`;
    if (elem.includes('-')) range = true;
    const v = IPV4.test(elem.split(/[/\s-]/)[0]!) ? 4 : 6;
    if (version && v !== version) return `detected mixed ipv4/ipv6 addresses in address list '${str}'\n`;
    version = v;
  }
  if (range && elements.length > 1) return "you can't use a range in a list\n";
  return null;
};

/** Service names of Debian's /etc/services most used in firewall rules. */
const SERVICES = new Set([
  'ftp-data', 'ftp', 'ssh', 'telnet', 'smtp', 'time', 'whois', 'tacacs', 'domain', 'bootps', 'bootpc', 'tftp', 'gopher', 'finger', 'http',
  'kerberos', 'pop3', 'sunrpc', 'auth', 'nntp', 'ntp', 'epmap', 'netbios-ns', 'netbios-dgm', 'netbios-ssn', 'imap2', 'snmp', 'snmp-trap',
  'bgp', 'irc', 'ldap', 'https', 'microsoft-ds', 'isakmp', 'submissions', 'syslog', 'printer', 'submission', 'ipp', 'ldaps', 'rsync',
  'ftps-data', 'ftps', 'telnets', 'imaps', 'pop3s', 'socks', 'openvpn', 'ms-sql-s', 'ms-sql-m', 'mysql', 'ms-wbt-server', 'nut',
  'svn', 'sip', 'sip-tls', 'xmpp-client', 'xmpp-server', 'postgresql', 'amqp', 'x11', 'nrpe', 'iax', 'radius', 'radius-acct', 'nfs',
  'zabbix-agent', 'zabbix-trapper', 'git', 'http-alt', 'webmin', 'mdns', 'l2f', 'pptp', 'rtsp', 'mongodb', 'redis', 'iscsi-target',
]);
/** /etc/protocols names and numbers (Debian netbase) plus `icmpv6`. */
const PROTOCOLS = new Set([
  'ip', 'hopopt', 'icmp', 'igmp', 'ggp', 'ipencap', 'st', 'tcp', 'egp', 'igp', 'pup', 'udp', 'hmp', 'xns-idp', 'rdp', 'iso-tp4', 'dccp',
  'xtp', 'ddp', 'idpr-cmtp', 'ipv6', 'ipv6-route', 'ipv6-frag', 'idrp', 'rsvp', 'gre', 'esp', 'ah', 'skip', 'ipv6-icmp', 'ipv6-nonxt',
  'ipv6-opts', 'rspf', 'vmtp', 'eigrp', 'ospf', 'ax.25', 'ipip', 'etherip', 'encap', 'pim', 'ipcomp', 'vrrp', 'l2tp', 'isis', 'sctp', 'fc',
  'mobility-header', 'udplite', 'mpls-in-ip', 'manet', 'hip', 'shim6', 'wesp', 'rohc', 'ethernet', 'icmpv6',
  ...[0, 1, 2, 3, 4, 5, 6, 8, 9, 12, 17, 20, 22, 27, 29, 33, 36, 37, 39, 41, 43, 44, 45, 46, 47, 50, 51, 57, 58, 59, 60, 73, 81, 88, 89,
    93, 94, 97, 98, 103, 108, 112, 115, 124, 132, 133, 135, 136, 137, 138, 139, 140, 141, 142, 143].map(String),
]);
const ICMP_TYPES = new Set([
  'any', 'echo-reply', 'destination-unreachable', 'network-unreachable', 'host-unreachable', 'protocol-unreachable', 'port-unreachable',
  'fragmentation-needed', 'source-route-failed', 'network-unknown', 'host-unknown', 'network-prohibited', 'host-prohibited',
  'TOS-network-unreachable', 'TOS-host-unreachable', 'communication-prohibited', 'host-precedence-violation', 'precedence-cutoff',
  'source-quench', 'redirect', 'network-redirect', 'host-redirect', 'TOS-network-redirect', 'TOS-host-redirect', 'echo-request',
  'router-advertisement', 'router-solicitation', 'time-exceeded', 'ttl-zero-during-transit', 'ttl-zero-during-reassembly',
  'parameter-problem', 'ip-header-bad', 'required-option-missing', 'timestamp-request', 'timestamp-reply', 'address-mask-request',
  'address-mask-reply',
]);
const ICMPV6_TYPES = new Set([
  'destination-unreachable', 'no-route', 'communication-prohibited', 'beyond-scope', 'address-unreachable', 'port-unreachable',
  'failed-policy', 'reject-route', 'packet-too-big', 'time-exceeded', 'ttl-zero-during-transit', 'ttl-zero-during-reassembly',
  'parameter-problem', 'bad-header', 'unknown-header-type', 'unknown-option', 'echo-request', 'echo-reply', 'router-solicitation',
  'router-advertisement', 'neighbor-solicitation', 'neighbour-solicitation', 'neighbor-advertisement', 'neighbour-advertisement', 'redirect',
]);

/** `parse_port_name_number_or_range` (pve-firewall). */
const fwPortSpec = (dport: boolean): FormatCheck => (str) => {
  const elements = str.split(',');
  while (elements.length && elements[elements.length - 1] === '') elements.pop();
  if (str !== elements.join(',')) return 'extraneous commas in list\n';
  let count = 0;
  let icmp = false;
  for (const item of elements) {
    const range = /^([0-9]+):([0-9]+)$/.exec(item);
    if (range) {
      count += 2;
      const [p1, p2] = [Number(range[1]), Number(range[2])];
      if (p1 > 65535) return `invalid port '${range[1]}'\n`;
      if (p2 > 65535) return `invalid port '${range[2]}'\n`;
      if (p1 > p2) return `backwards range '${range[1]}:${range[2]}' not allowed, did you mean '${range[2]}:${range[1]}'?\n`;
    } else if (/^[0-9]+$/.test(item)) {
      count += 1;
      if (Number(item) > 65535) return `invalid port '${item}'\n`;
    } else if (dport && (ICMP_TYPES.has(item) || ICMPV6_TYPES.has(item))) {
      icmp = true;
    } else if (!SERVICES.has(item)) {
      return `invalid port '${item}'\n`;
    }
  }
  if (icmp && count > 0) return 'ICMP ports not allowed in port range\n';
  if (count > 15) return 'too many entries in port list (> 15 numbers)\n';
  return null;
};

/** `pve_parse_startup_order`. */
const startupOrder: FormatCheck = (value) => {
  if (!perlTrue(value)) return 'unable to parse startup options\n';
  for (const p of value.split(',')) {
    if (/^\s*$/.test(p)) continue;
    if (!/^(?:(?:order=)?\d+|up=\d+|down=\d+)\n?$/.test(p)) return 'unable to parse startup options\n';
  }
  return null;
};

/** `pve_verify_vlan_id_or_range`. */
const vlanIdOrRange: FormatCheck = (vlan) => {
  const m = /^(\d+)(?:-(\d+))?\n?$/.exec(vlan);
  if (!m) return `invalid VLAN configuration '${vlan}'\n`;
  const [start, end] = [m[1]!, m[2]];
  const bad = (tag: string) => Number(tag) < 2 || Number(tag) > 4094;
  if (bad(start)) return `invalid VLAN tag '${start}'\n`;
  if (end && perlTrue(end)) {
    if (bad(end)) return `invalid VLAN tag '${end}'\n`;
    if (Number(start) >= Number(end)) return `VLAN range must go from lower to higher tag '${vlan}'\n`;
  }
  return null;
};

/** `is_valid_drivename` (tpmstate0 excluded). */
const DRIVE_NAME = /^(?:ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5])|efidisk0)$/;
const HOTPLUG = new Set(['network', 'disk', 'cpu', 'memory', 'usb', 'cloudinit']);

/** Privileges of PVE 8.4 (pve-access-control `$privgroups`). */
const PRIVILEGES = new Set([
  'Datastore.Allocate', 'Datastore.AllocateSpace', 'Datastore.AllocateTemplate', 'Datastore.Audit', 'Group.Allocate', 'Mapping.Audit',
  'Mapping.Modify', 'Mapping.Use', 'Permissions.Modify', 'Pool.Allocate', 'Pool.Audit', 'Realm.Allocate', 'Realm.AllocateUser',
  'SDN.Allocate', 'SDN.Audit', 'SDN.Use', 'Sys.AccessNetwork', 'Sys.Audit', 'Sys.Console', 'Sys.Incoming', 'Sys.Modify', 'Sys.PowerMgmt',
  'Sys.Syslog', 'User.Modify', 'VM.Allocate', 'VM.Audit', 'VM.Backup', 'VM.Clone', 'VM.Config.CDROM', 'VM.Config.CPU',
  'VM.Config.Cloudinit', 'VM.Config.Disk', 'VM.Config.HWType', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.Options',
  'VM.Console', 'VM.Migrate', 'VM.Monitor', 'VM.PowerMgmt', 'VM.Snapshot', 'VM.Snapshot.Rollback',
]);

const storageId = when((v) => PVE_ID.test(v), (v) => `storage ID '${v}' contains illegal characters`);
const bridgeId = when((v) => /^[-_.\w]+\n?$/.test(v), (v) => `invalid bridge ID '${v}'`);

/** Code-registered formats (`register_format(name, \&sub)`). */
export const FORMATS: Readonly<Record<string, FormatCheck>> = {
  string: () => null,
  urlencoded: when((v) => /^[-%a-zA-Z0-9_.!~*'()]*\n?$/.test(v), (v) => `invalid urlencoded string: ${v}`),
  'pve-configid': when((v) => CONFIGID.test(v), (v) => `invalid configuration ID '${v}'`),
  'pve-storage-id': storageId,
  'acme-plugin-id': when((v) => PVE_ID.test(v), (v) => `ACME plugin ID '${v}' contains illegal characters`),
  'pve-bridge-id': bridgeId,
  'pve-vmid': when((v) => /^[1-9][0-9]{2,8}\n?$/.test(v), () => 'value does not look like a valid VM ID'),
  'pve-node': when((v) => /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)\n?$/.test(v), () => 'value does not look like a valid node name'),
  'storage-pair': idPair(storageId),
  'bridge-pair': idPair(bridgeId),
  'mac-addr': when((v) => /^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}\n?$/i.test(v), () => 'value does not look like a valid unicast MAC address'),
  'mac-prefix': when((v) => /^[a-f0-9][02468ace](?::[a-f0-9]{2}){0,2}:?\n?$/i.test(v), () => 'value is not a valid unicast MAC address prefix'),
  ipv4: when((v) => IPV4.test(v), () => 'value does not look like a valid IPv4 address'),
  ipv6: when((v) => IPV6.test(v), () => 'value does not look like a valid IPv6 address'),
  ip: when((v) => IP.test(v), () => 'value does not look like a valid IP address'),
  'ldap-simple-attr': when((v) => /^[a-zA-Z0-9]+\n?$/.test(v), (v) => `value '${v}' does not look like a simple ldap attribute name`),
  ipv4mask: when((v) => ipv4MaskBits(v) !== undefined, () => 'value does not look like a valid IP netmask'),
  CIDRv6: when(isCidrV6, () => 'value does not look like a valid IPv6 CIDR network'),
  CIDRv4: when(isCidrV4, () => 'value does not look like a valid IPv4 CIDR network'),
  CIDR: when((v) => isCidrV4(v) || isCidrV6(v), () => 'value does not look like a valid CIDR network'),
  'pve-ipv4-config': when((v) => /^(?:dhcp|manual)\n?$/.test(v) || isCidrV4(v), () => 'value does not look like a valid ipv4 network configuration'),
  'pve-ipv6-config': when((v) => /^(?:auto|dhcp|manual)\n?$/.test(v) || isCidrV6(v), () => 'value does not look like a valid ipv6 network configuration'),
  email: when((v) => anchored(EMAIL_RE).test(v), () => 'value does not look like a valid email address'),
  'email-or-username': when((v) => anchored(EMAIL_RE).test(v) || anchored(EMAIL_USER_RE).test(v), () => 'value does not look like a valid email address or user name'),
  'dns-name': when((v) => DNS_NAME.test(v), () => 'value does not look like a valid DNS name'),
  'pve-iface': when((v) => /^[a-z][a-z0-9_]{1,20}(?:[:.]\d+)?\n?$/i.test(v), (v) => `invalid network interface name '${v}'`),
  'pve-vlan-id-or-range': vlanIdOrRange,
  address: when((v) => IP.test(v) || DNS_NAME.test(v), (v) => `value does not look like a valid address: ${v}`),
  'disk-size': when((v) => /^\d+(?:\.\d+)?[KMGT]?\n?$/.test(v), (v) => `value does not look like a valid disk size: ${v}`),
  'pve-startup-order': startupOrder,
  'pve-tag': when((v) => TAG.test(v), () => 'invalid characters in tag'),
  'pve-tfa-secret': when(
    (v) => /^v2-0x[0-9a-fA-F]{16,128}\n?$/.test(v) || /^v2-[A-Z2-7=]{16,128}\n?$/.test(v) || /^(?:[A-Z2-7=]{16}|[A-Fa-f0-9]{40})\n?$/.test(v),
    () => 'unable to decode TFA secret',
  ),
  'pve-task-status-type': when((v) => /^(?:ok|error|warning|unknown)\n?$/i.test(v), (v) => `invalid status '${v}'`),
  // pve-firewall
  IPorCIDR: ipOrCidr,
  IPorCIDRorAlias: (v) => (IP_ALIAS.test(v) ? null : ipOrCidr(v)),
  'pve-fw-addr-spec': fwAddrSpec,
  'pve-fw-sport-spec': fwPortSpec(false),
  'pve-fw-dport-spec': fwPortSpec(true),
  'pve-fw-protocol-spec': (v) => (perlTrue(v) && !PROTOCOLS.has(v) ? `unknown protocol '${v}'\n` : null),
  'pve-fw-icmp-type-spec': (v) => (ICMP_TYPES.has(v) || ICMPV6_TYPES.has(v) || v === '' ? null : `invalid icmp-type value '${v}'\n`),
  // pve-access-control
  'pve-realm': when((v) => anchored(REALM_RE).test(v), () => 'value does not look like a valid realm'),
  'pve-userid': verifyUsername,
  'pve-tokenid': when((v) => anchored(`(?:(?:${USER_RE})@(?:${REALM_RE}))!(?:${REALM_RE})`).test(v), (v) => `value '${v}' does not look like a valid token ID`),
  'pve-groupid': when((v) => /^[A-Za-z0-9.\-_]+\n?$/.test(v), (v) => `group name '${v}' contains invalid characters`),
  'pve-roleid': when((v) => /^[A-Za-z0-9.\-_]+\n?$/.test(v), (v) => `role name '${v}' contains invalid characters`),
  'pve-poolid': when((v) => /^[A-Za-z0-9.\-_]+(?:\/[A-Za-z0-9.\-_]+){0,2}\n?$/.test(v), (v) => `pool name '${v}' contains invalid characters`),
  'pve-priv': when((v) => PRIVILEGES.has(v), (v) => `invalid privilege '${v}'`),
  // pve-storage, qemu-server
  'pve-volume-id': parseVolumeId,
  'pve-volume-id-or-absolute-path': volumeIdOrAbsolutePath,
  'pve-volume-id-or-qm-path': (v) => (v === 'none' || v === 'cdrom' ? null : volumeIdOrAbsolutePath(v)),
  'pve-qm-bootdisk': when((v) => DRIVE_NAME.test(v), (v) => `invalid boot disk '${v}'`),
  'pve-hotplug-features': (v) => {
    if (v === '0' || v === '1') return null;
    for (const feature of splitList(v)) if (!HOTPLUG.has(feature)) return `invalid hotplug feature '${feature}'\n`;
    return null;
  },
  // pve-manager
  'pve-acme-domain': when((v) => /^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)+\n?$/i.test(v), (v) => `value '${v}' does not look like a valid domain name!`),
  'pve-acme-alias': when((v) => /^[a-z0-9_][a-z0-9_-]*(?:\.[a-z0-9_][a-z0-9_-]*)+\n?$/i.test(v), (v) => `value '${v}' does not look like a valid alias name!`),
};

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

/** `split_list`: separators are `,`, `;` and whitespace (or NUL when present). */
export function splitList(text: string): string[] {
  if (text.includes('\0')) return text.split('\0');
  return text.replace(/[,;]/g, ' ').split(/\s+/).filter((v) => v !== '');
}

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
