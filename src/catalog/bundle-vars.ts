import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

/**
 * The variables a catalog bundle or scenario declares in the `vars.schema.json` beside its
 * playbook (JSON Schema 2020-12). The generic runners check the variables a request passes
 * against it before anything runs; a catalog without such a file takes any variable.
 */
export interface VarsProblem {
  /** The variable (a top-level key), or '' for the whole set. */
  variable: string;
  /** Below the variable, JSON-pointer style, when the problem is inside its value. */
  pointer: string;
  message: string;
  type: 'missing' | 'value_error';
}

const ajv = new Ajv2020({ allErrors: true, strict: false, unicodeRegExp: false, validateFormats: false });
const cache = new Map<string, { mtimeMs: number; validate: ValidateFunction }>();

function compiled(file: string): ValidateFunction | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return null;
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit.validate;
  const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete schema.$id; // several bundles may share an id; each file is its own schema here
  const validate = ajv.compile(schema);
  cache.set(file, { mtimeMs: st.mtimeMs, validate });
  return validate;
}

/** `required` alternatives (anyOf of required lists) named together, so the message says what would do. */
function problemsOf(errors: readonly ErrorObject[]): VarsProblem[] {
  const missing = errors.filter((e) => e.keyword === 'required' && e.instancePath === '');
  const alternatives = errors.some((e) => e.keyword === 'anyOf' && e.instancePath === '');
  const out: VarsProblem[] = [];
  if (missing.length > 0) {
    const names = [...new Set(missing.map((e) => String((e.params as { missingProperty: string }).missingProperty)))];
    if (alternatives && names.length > 1) out.push({ variable: names[0]!, pointer: '', type: 'missing', message: `Field required (one of: ${names.join(', ')})` });
    else for (const name of names) out.push({ variable: name, pointer: '', type: 'missing', message: 'Field required' });
  }
  for (const e of errors) {
    if (e.keyword === 'required' && e.instancePath === '') continue;
    if (['anyOf', 'oneOf', 'if'].includes(e.keyword) && e.instancePath === '') continue;
    const [, variable = '', ...rest] = e.instancePath.split('/');
    if (out.some((p) => p.variable === variable && p.pointer === rest.join('/'))) continue;
    out.push({ variable, pointer: rest.join('/'), type: 'value_error', message: e.message ?? 'invalid value' });
  }
  return out;
}

/** Problems of `vars` against the schema beside `playbook`; [] when they fit or there is no schema. */
export function checkBundleVars(playbook: string, vars: Record<string, unknown>): VarsProblem[] {
  const validate = compiled(path.join(path.dirname(playbook), 'vars.schema.json'));
  if (!validate || validate(vars)) return [];
  return problemsOf(validate.errors ?? []);
}
