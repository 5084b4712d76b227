import { FORMATS } from './formats.js';
import { parsePropertyString, PropertyStringError, type PropertyFormat } from './property-string.js';
import { paramSchema, type MethodSpec, type ParamSchema } from './spec.js';

/**
 * Parameter validation as pve-common's JSONSchema.pm does it: every parameter checked, the first
 * problem of each reported with PVE's exact text, all of them together in one 400. Integers and
 * booleans come out as numbers (booleans as 0/1); strings stay strings.
 */

export interface Validated {
  params: Record<string, unknown>;
  errors: Record<string, string> | null;
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/;

/** Perl's idea of the value in messages: strings as they are, JSON booleans by class name. */
const shown = (v: unknown) => (typeof v === 'boolean' ? 'JSON::PP::Boolean' : `'${String(v)}'`);
const typeError = (type: string, v: unknown) =>
  typeof v === 'boolean' ? `type check ('${type}') failed - got JSON::PP::Boolean` : `type check ('${type}') failed - got ${Array.isArray(v) ? 'ARRAY' : shown(v)}`;

export function validateParams(spec: MethodSpec, input: Record<string, unknown>): Validated {
  const errors: Record<string, string> = {};
  const params: Record<string, unknown> = {};
  const props = spec.parameters.properties ?? {};
  const strict = spec.parameters.additionalProperties === 0 || spec.parameters.additionalProperties === undefined;

  for (const [name, raw] of Object.entries(input)) {
    const schema = paramSchema(spec, name);
    if (!schema) {
      if (strict) errors[name] = 'property is not defined in schema and the schema does not allow additional properties';
      else params[name] = raw;
      continue;
    }
    const checked = checkValue(name, schema, legacyNormalize(schema, raw));
    if ('error' in checked) errors[name] = checked.error;
    else params[name] = checked.value;
  }
  for (const [name, schema] of Object.entries(props)) {
    if (name.endsWith('[n]')) continue;
    if (!schema.optional && (input[name] === undefined || input[name] === null)) {
      errors[name] ??= 'property is missing and it is not optional';
    }
    if (schema.requires && input[name] !== undefined && input[schema.requires] === undefined) {
      errors[schema.requires] ??= `missing property - '${name}' requires this property`;
    }
  }
  return { params, errors: Object.keys(errors).length ? errors : null };
}

/** An array for a `*-list` string is joined with commas; a scalar for an array is wrapped. */
function legacyNormalize(schema: ParamSchema, v: unknown): unknown {
  if (Array.isArray(v) && schema.type === 'string' && typeof schema.format === 'string' && schema.format.endsWith('-list')) return v.join(',');
  if (!Array.isArray(v) && schema.type === 'array') return [v];
  return v;
}

type Checked = { value: unknown } | { error: string };

export function checkValue(name: string, schema: ParamSchema, v: unknown): Checked {
  const type = schema.type ?? 'string';
  let value: unknown = v;
  switch (type) {
    case 'boolean':
      if (v === true || v === false) value = v ? 1 : 0;
      else if (v === 0 || v === 1 || v === '0' || v === '1') value = Number(v);
      else return { error: typeError('boolean', v) };
      break;
    case 'integer':
      if (typeof v === 'boolean' || !(typeof v === 'number' ? Number.isInteger(v) : INTEGER.test(String(v)))) return { error: typeError('integer', v) };
      value = Number(v);
      break;
    case 'number':
      if (typeof v === 'boolean' || !NUMBER.test(String(v))) return { error: typeError('number', v) };
      value = Number(v);
      break;
    case 'array': {
      const out: unknown[] = [];
      for (const item of v as unknown[]) {
        const c = schema.items ? checkValue(name, schema.items, item) : { value: item };
        if ('error' in c) return c;
        out.push(c.value);
      }
      return { value: out };
    }
    case 'object':
    case 'null':
    case 'any':
      return { value: v };
    default:
      if (typeof v === 'boolean') return { error: typeError('string', v) };
      if (v !== null && typeof v === 'object') return { error: typeError('string', v) };
      value = String(v);
  }
  const text = String(value);
  if (schema.maxLength !== undefined && text.length > schema.maxLength) return { error: `value may only be ${schema.maxLength} characters long` };
  if (schema.minLength !== undefined && text.length < schema.minLength) return { error: `value must be at least ${schema.minLength} characters long` };
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return { error: `value must have a minimum value of ${schema.minimum}` };
    if (schema.maximum !== undefined && value > schema.maximum) return { error: `value must have a maximum value of ${schema.maximum}` };
  }
  if (schema.pattern !== undefined && !new RegExp(`^(?:${schema.pattern})$`, 's').test(text)) return { error: 'value does not match the regex pattern' };
  if (schema.format !== undefined) {
    const err = checkFormat(name, schema.format, text);
    if (err) return { error: `invalid format - ${err}` };
  }
  if (schema.enum && !schema.enum.includes(text)) return { error: `value '${text}' does not have a value in the enumeration '${schema.enum.join(', ')}'` };
  return { value };
}

function checkFormat(name: string, format: ParamSchema['format'], text: string): string | null {
  if (typeof format === 'string') return FORMATS[format]?.(text) ?? null;
  if (!format) return null;
  return checkPropertyString(name, format as PropertyFormat, text);
}

/** A property string: structure first, then every key against its own schema. */
export function checkPropertyString(name: string, format: PropertyFormat, text: string): string | null {
  let parsed: Record<string, string>;
  try {
    parsed = parsePropertyString(format, text);
  } catch (err) {
    return err instanceof PropertyStringError ? err.message : String(err);
  }
  const keyErrors: string[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    const schema = format[key];
    if (!schema || schema.alias) continue;
    const c = checkValue(`${name}.${key}`, schema, value);
    if ('error' in c) keyErrors.push(`${name}.${key}: ${c.error}`);
  }
  for (const [key, schema] of Object.entries(format)) {
    if (!schema.alias && !schema.optional && parsed[key] === undefined) keyErrors.push(`${name}.${key}: property is missing and it is not optional`);
  }
  return keyErrors.length ? `format error\n${keyErrors.join('\n')}\n` : null;
}
