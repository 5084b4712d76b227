/**
 * Shares the repeated parts of the OpenAPI document as components, after @fastify/swagger has
 * built it (its `transformObject`). @fastify/swagger already names the shared schemas
 * (`app.addSchema`) in `components.schemas`; this refers to them, and to two more kinds of
 * component, wherever the document would otherwise repeat them for every operation:
 *
 * - request body fields equal to a body building block (`components.schemas`, e.g. ProxmoxNode):
 *   the routes keep the block inline, for the validator; the document names it once;
 * - request bodies several operations share (`components.requestBodies`, named like their schema
 *   in src/schemas, e.g. VmRequest);
 * - responses whose schema is a shared schema (`components.responses`, named like their schema);
 * - parameters that are the same on several operations (`components.parameters`, e.g. the job
 *   headers `Prefer` and `Idempotency-Key`).
 *
 * Nothing changes meaning: the document with every `$ref` replaced by its target is the document
 * with everything inline (tests/http/openapi-components.test.ts checks that against the one from
 * before the components).
 */

type Json = Record<string, unknown>;
type Operation = { operationId?: string; parameters?: Json[]; requestBody?: { content?: Record<string, { schema?: Json }> }; responses?: Record<string, Json> };
type Document = { paths?: Record<string, Record<string, Operation>>; components?: Record<string, Record<string, Json> | undefined> };

const SCHEMAS = '#/components/schemas/';

/** JSON text with sorted keys: equal for equal schemas whatever the order of their keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Json).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function* operations(doc: Document): Generator<Operation> {
  for (const item of Object.values(doc.paths ?? {})) yield* Object.values(item);
}

/** Replaces, below the body schema `schema`, every subschema equal to a block by a reference to it. */
function referBlocks(schema: Json, blocks: ReadonlyMap<string, string>): void {
  const refer = (sub: unknown): unknown => {
    if (sub === null || typeof sub !== 'object' || Array.isArray(sub)) return sub;
    const name = blocks.get(canonical(sub));
    if (name) return { $ref: `${SCHEMAS}${name}` };
    referBlocks(sub as Json, blocks);
    return sub;
  };
  const props = schema.properties as Json | undefined;
  if (props) for (const k of Object.keys(props)) props[k] = refer(props[k]);
  for (const k of ['items', 'additionalProperties'] as const) if (schema[k] !== undefined) schema[k] = refer(schema[k]);
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = schema[k];
    if (Array.isArray(list)) schema[k] = list.map(refer);
  }
}

/** The shared schema a response is entirely made of (`{description, content: {<type>: {schema: {$ref}}}}`), if any. */
function responseSchemaName(response: Json): string | null {
  const content = response.content as Record<string, Json> | undefined;
  if (!content || Object.keys(response).some((k) => k !== 'description' && k !== 'content')) return null;
  const names = new Set<string>();
  for (const media of Object.values(content)) {
    const schema = media.schema as Json | undefined;
    const ref = schema?.$ref;
    if (Object.keys(media).length !== 1 || Object.keys(schema ?? {}).length !== 1 || typeof ref !== 'string' || !ref.startsWith(SCHEMAS)) return null;
    names.add(ref.slice(SCHEMAS.length));
  }
  return names.size === 1 ? [...names][0]! : null;
}

const pascal = (s: string) => s.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');

interface Found {
  /** The component name this occurrence would have, or null when it is not to be shared. */
  name: string | null;
  value: Json;
  replace: (ref: Json) => void;
}

/**
 * Moves to `components.<kind>` the occurrences of each name when there are at least two of the
 * same form (the most frequent form, if a name has several); each becomes a reference.
 */
function hoist(doc: Document, kind: 'schemas' | 'responses' | 'parameters' | 'requestBodies', found: readonly Found[]): void {
  const groups = new Map<string, Map<string, Found[]>>();
  for (const f of found) {
    if (!f.name) continue;
    const forms = groups.get(f.name) ?? new Map<string, Found[]>();
    const key = canonical(f.value);
    forms.set(key, [...(forms.get(key) ?? []), f]);
    groups.set(f.name, forms);
  }
  for (const [name, forms] of groups) {
    const [most] = [...forms.values()].sort((a, b) => b.length - a.length);
    if (!most || most.length < 2) continue;
    const target = (doc.components![kind] ??= {});
    const value = most[0]!.value;
    if (name in target && canonical(target[name]) !== canonical(value)) continue; // taken by another component
    target[name] = value;
    for (const f of most) f.replace({ $ref: `#/components/${kind}/${name}` });
  }
}

export interface ShareOptions {
  /** Names in `components.schemas` of the request body building blocks. */
  bodyBlocks: readonly string[];
  /** The name of each operation's request body (by operationId), for those that have one. */
  requestBodies?: Readonly<Record<string, string>>;
}

export function shareComponents<T>(document: T, opts: ShareOptions): T {
  const doc = document as Document;
  doc.components ??= {};
  const schemas = doc.components.schemas ?? {};
  const blocks = new Map<string, string>();
  for (const name of opts.bodyBlocks) {
    const schema = schemas[name];
    if (!schema) throw new Error(`openapi: no component schema ${name}`);
    blocks.set(canonical(schema), name);
  }
  const bodySchemas: Found[] = [];
  const bodies: Found[] = [];
  const responses: Found[] = [];
  const parameters: Found[] = [];
  for (const op of operations(doc)) {
    for (const media of Object.values(op.requestBody?.content ?? {})) if (media.schema) referBlocks(media.schema, blocks);
    const bodyName = (op.operationId ? opts.requestBodies?.[op.operationId] : undefined) ?? null;
    for (const media of Object.values(op.requestBody?.content ?? {})) {
      const m = media as Json;
      if (m.schema) bodySchemas.push({ name: bodyName, value: m.schema as Json, replace: (ref) => { m.schema = ref; } });
    }
    const rs = op.responses ?? {};
    for (const code of Object.keys(rs)) responses.push({ name: responseSchemaName(rs[code]!), value: rs[code]!, replace: (ref) => { rs[code] = ref; } });
    const ps = op.parameters ?? [];
    ps.forEach((p, i) => {
      const name = typeof p.name === 'string' && typeof p.in === 'string' ? `${pascal(p.name)}${pascal(p.in)}` : null;
      parameters.push({ name, value: p, replace: (ref) => { ps[i] = ref; } });
    });
  }
  // A body's schema first (operations may show it with different examples), then whole bodies.
  hoist(doc, 'schemas', bodySchemas);
  for (const op of operations(doc)) {
    const bodyName = (op.operationId ? opts.requestBodies?.[op.operationId] : undefined) ?? null;
    if (op.requestBody) bodies.push({ name: bodyName, value: op.requestBody, replace: (ref) => { (op as Json).requestBody = ref; } });
  }
  hoist(doc, 'requestBodies', bodies);
  hoist(doc, 'responses', responses);
  hoist(doc, 'parameters', parameters);
  return document;
}
