import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchema, FastifySchemaCompiler } from 'fastify';
import { VMID_KEYWORD } from '../schemas/common.js';

/**
 * Request validation with the original API's acceptance rules and error format.
 *
 * The original is FastAPI + pydantic v2 in lax mode: strings must be JSON strings (no coercion
 * from numbers), while booleans also accept 0/1 and words like "yes"/"off", and integers accept
 * numeric strings. `laxCoerce` applies exactly those conversions before a strict AJV check, so
 * acceptance matches; `toDetail` renders AJV's errors as pydantic's `{field,msg,type,input,ctx}`.
 */

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  [k: string]: unknown;
};

const TRUE_WORDS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_WORDS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);
/** A decimal number as pydantic reads one from a string (surrounding whitespace allowed). */
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** An integer as pydantic reads one from a string: digits, optionally followed by a zero fraction ("3.0"). */
const INTEGRAL = /^[+-]?\d+(?:\.0*)?$/;

function types(schema: JsonSchema): string[] {
  return schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
}

/*
 * A VM id field (marked VMID_KEYWORD by schemas/common.ts): a digit string or a number, which
 * becomes a number before the check, so that the range applies to both and every layer after
 * validation (the per-VM lock, the job record, Ansible) sees one canonical id: "0004001" and 4001
 * are the same VM.
 */

/**
 * Converts, in place where possible, what pydantic v2's lax mode converts for JSON input, and
 * returns the new value:
 *
 * | field   | also accepts (lax)                                                           |
 * |---------|-------------------------------------------------------------------------------|
 * | bool    | 0 / 1 (also 0.0 / 1.0); the strings 0 off f false n no / 1 on t true y yes     |
 * | int     | true / false (1 / 0); a float with no fractional part; an integer string       |
 * |         | ("42", " 42 ", "42.0")                                                         |
 * | float   | true / false; a numeric string ("1.5", "1e3")                                  |
 * | str     | nothing: a number or a boolean is refused (string_type)                        |
 * | list    | nothing: only a JSON array (tuples and sets exist only in Python input)        |
 *
 * Whatever is not converted is left for the strict check to refuse with pydantic's error type.
 */
function laxCoerce(schema: JsonSchema | undefined, value: unknown): unknown {
  if (!schema || value === null || value === undefined) return value;
  const t = types(schema);
  const wantsString = t.includes('string');
  if (schema[VMID_KEYWORD] === true && typeof value === 'string' && /^[0-9]+$/.test(value)) return Number(value);
  if (typeof value === 'string' && !wantsString) {
    const text = value.trim();
    const word = text.toLowerCase();
    if (t.includes('boolean')) {
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
    }
    if (t.includes('integer') && INTEGRAL.test(text)) return Number(text);
    if (t.includes('number') && NUMERIC.test(text)) return Number(text);
  }
  if (typeof value === 'number' && t.includes('boolean') && !t.includes('number') && !t.includes('integer')) {
    if (value === 1) return true;
    if (value === 0) return false;
  }
  if (typeof value === 'boolean' && !t.includes('boolean') && (t.includes('integer') || t.includes('number'))) return value ? 1 : 0;
  if (Array.isArray(value) && schema.items) {
    for (let i = 0; i < value.length; i++) value[i] = laxCoerce(schema.items, value[i]);
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const sub = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (sub) obj[key] = laxCoerce(sub, obj[key]);
    }
  }
  return value;
}

const ajv = new Ajv({
  allErrors: true,
  coerceTypes: false,
  useDefaults: true,
  removeAdditional: false,
  strict: false,
  unicodeRegExp: false,
});

/**
 * JSON numbers that JavaScript reads as Infinity (1e400) are no numbers at all: wherever they are
 * (a free-form map included), they are refused before anything runs.
 */
function nonFinite(value: unknown, pointer = ''): ErrorObject[] {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? [] : [{ keyword: 'x-finite', instancePath: pointer, schemaPath: '', params: {} }];
  }
  if (value === null || typeof value !== 'object') return [];
  const out: ErrorObject[] = [];
  for (const [k, v] of Object.entries(value)) out.push(...nonFinite(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  return out;
}

/** A validation error that keeps what the caller sent: pydantic echoes the input, not our coercions. */
export interface RequestValidationError extends Error {
  validation: ErrorObject[];
  sentInput: unknown;
}

/**
 * A copy of the request data as it arrived, taken before coercion and defaults change it. Bodies
 * are parsed JSON (at most 1 MiB), so structuredClone is exact and cheap next to a playbook run.
 */
const snapshot = (data: unknown): unknown => (data !== null && typeof data === 'object' ? structuredClone(data) : data);

/**
 * Compiled checks by schema text: many routes share a schema (the job headers, path parameters,
 * bodies of the wildcard variants), Fastify hands each route its own copy, and every app of a
 * process (tests, `npm run openapi`) compiles the same table again. A check depends only on its
 * schema (the AJV instance has no shared schemas), so equal text means the same function.
 */
const compiled = new Map<string, ValidateFunction>();

function compile(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(key, validate);
  }
  return validate;
}

/** Fastify validator compiler: lax coercion, then a strict check that reports every error. */
export const validatorCompiler: FastifySchemaCompiler<FastifySchema> = ({ schema }) => {
  const validate = compile(schema as object);
  return (data: unknown) => {
    const sent = snapshot(data);
    const coerced = laxCoerce(schema as JsonSchema, data);
    const errors = validate(coerced) ? nonFinite(coerced) : [...(validate.errors ?? []), ...nonFinite(coerced)];
    if (errors.length === 0) return { value: coerced };
    const err = new Error('validation failed') as RequestValidationError;
    err.validation = errors;
    err.sentInput = sent;
    return { error: err };
  };
};

export interface DetailItem {
  field: string;
  msg: string;
  type: string;
  input: unknown;
  ctx: Record<string, unknown> | null;
}

function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function location(context: string, pointer: string, extra?: string): string {
  const parts = [context, ...pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))];
  if (extra !== undefined) parts.push(extra);
  return parts.filter((p) => p !== '').join('.');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One pydantic-style item for one AJV error. `root` is the validated value (the body). */
function item(e: ErrorObject, root: unknown, context: string): DetailItem | null {
  const input = valueAt(root, e.instancePath);
  const field = location(context, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { field: location(context, e.instancePath, String(p.missingProperty)), msg: 'Field required', type: 'missing', input, ctx: null };
    case 'pattern':
      return { field, msg: `String should match pattern '${String(p.pattern)}'`, type: 'string_pattern_mismatch', input, ctx: { pattern: p.pattern } };
    case 'minimum':
      return { field, msg: `Input should be greater than or equal to ${String(p.limit)}`, type: 'greater_than_equal', input, ctx: { ge: p.limit } };
    case 'maximum':
      return { field, msg: `Input should be less than or equal to ${String(p.limit)}`, type: 'less_than_equal', input, ctx: { le: p.limit } };
    case 'x-finite':
      return { field, msg: 'Input should be a finite number', type: 'finite_number', input, ctx: null };
    case 'maxItems': {
      const n = Number(p.limit);
      const actual = Array.isArray(input) ? input.length : 0;
      return { field, msg: `List should have at most ${plural(n, 'item')} after validation, not ${actual}`, type: 'too_long', input, ctx: { field_type: 'List', max_length: n, actual_length: actual } };
    }
    case 'maxProperties': {
      const n = Number(p.limit);
      const actual = input && typeof input === 'object' ? Object.keys(input).length : 0;
      return { field, msg: `Dictionary should have at most ${plural(n, 'item')} after validation, not ${actual}`, type: 'too_long', input, ctx: { field_type: 'Dictionary', max_length: n, actual_length: actual } };
    }
    case 'propertyNames':
      return null; // reported by the nested error on the key itself
    case 'exclusiveMinimum':
      return { field, msg: `Input should be greater than ${String(p.limit)}`, type: 'greater_than', input, ctx: { gt: p.limit } };
    case 'minItems': {
      const n = Number(p.limit);
      const actual = Array.isArray(input) ? input.length : 0;
      return { field, msg: `List should have at least ${plural(n, 'item')} after validation, not ${actual}`, type: 'too_short', input, ctx: { field_type: 'List', min_length: n, actual_length: actual } };
    }
    case 'minProperties': {
      const n = Number(p.limit);
      const actual = input && typeof input === 'object' ? Object.keys(input).length : 0;
      return { field, msg: `Dictionary should have at least ${plural(n, 'item')} after validation, not ${actual}`, type: 'too_short', input, ctx: { field_type: 'Dictionary', min_length: n, actual_length: actual } };
    }
    case 'maxLength':
      return { field, msg: `String should have at most ${plural(Number(p.limit), 'character')}`, type: 'string_too_long', input, ctx: { max_length: p.limit } };
    case 'minLength':
      return { field, msg: `String should have at least ${plural(Number(p.limit), 'character')}`, type: 'string_too_short', input, ctx: { min_length: p.limit } };
    case 'enum':
      return { field, msg: `Input should be ${(p.allowedValues as unknown[]).map((v) => `'${String(v)}'`).join(' or ')}`, type: 'enum', input, ctx: { expected: (p.allowedValues as unknown[]).join(', ') } };
    case 'type':
      return typeItem(String(p.type).split(',').find((t) => t !== 'null') ?? 'null', field, input, e.instancePath === '');
    case 'additionalProperties':
      return { field: location(context, e.instancePath, String(p.additionalProperty)), msg: 'Extra inputs are not permitted', type: 'extra_forbidden', input: valueAt(input, `/${String(p.additionalProperty)}`), ctx: null };
    default:
      return { field, msg: e.message ?? 'Invalid input', type: e.keyword, input, ctx: null };
  }
}

function typeItem(expected: string, field: string, input: unknown, isRoot: boolean): DetailItem {
  const base = { field, input, ctx: null };
  switch (expected) {
    case 'string':
      return { ...base, msg: 'Input should be a valid string', type: 'string_type' };
    case 'boolean':
      return typeof input === 'string' || typeof input === 'number'
        ? { ...base, msg: 'Input should be a valid boolean, unable to interpret input', type: 'bool_parsing' }
        : { ...base, msg: 'Input should be a valid boolean', type: 'bool_type' };
    case 'integer':
      if (typeof input === 'number') return { ...base, msg: 'Input should be a valid integer, got a number with a fractional part', type: 'int_from_float' };
      if (typeof input === 'string') return { ...base, msg: 'Input should be a valid integer, unable to parse string as an integer', type: 'int_parsing' };
      return { ...base, msg: 'Input should be a valid integer', type: 'int_type' };
    case 'number':
      return typeof input === 'string'
        ? { ...base, msg: 'Input should be a valid number, unable to parse string as a number', type: 'float_parsing' }
        : { ...base, msg: 'Input should be a valid number', type: 'float_type' };
    case 'array':
      return { ...base, msg: 'Input should be a valid list', type: 'list_type' };
    case 'object':
      return isRoot
        ? { ...base, msg: 'Input should be a valid dictionary or object to extract fields from', type: 'model_attributes_type' }
        : { ...base, msg: 'Input should be a valid dictionary', type: 'dict_type' };
    default:
      return { ...base, msg: `Input should be a valid ${expected}`, type: `${expected}_type` };
  }
}

/**
 * The `detail` list for a failed validation, in the order of the schema's fields (pydantic's
 * order; AJV reports `required` first). A missing body is one `missing` item on `body`.
 */
export function toDetail(errors: readonly ErrorObject[], root: unknown, context: string, fieldOrder: readonly string[] = []): DetailItem[] {
  if (context === 'body' && (root === undefined || root === null)) {
    return [{ field: 'body', msg: 'Field required', type: 'missing', input: null, ctx: null }];
  }
  const out: DetailItem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const d = item(e, root, context);
    if (!d) continue;
    const key = `${d.field}\u0000${d.type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  const rank = (d: DetailItem) => {
    const i = fieldOrder.indexOf(d.field.split('.')[1] ?? '');
    return i < 0 ? fieldOrder.length : i;
  };
  return out.sort((a, b) => rank(a) - rank(b));
}
