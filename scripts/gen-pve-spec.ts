// Writes src/simulator/schema/pve-api.json: the official Proxmox VE 8.4 API schema (apidoc.js, kept in
// ../shared/proxmox) flattened to `"<METHOD> <path template>": method` and stripped of prose, so the
// simulator validates requests without reading ../shared at run time. Only this script and the tests
// read ../shared.
//
//   node --import tsx scripts/gen-pve-spec.ts [path/to/pve-api-schema.json]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The official schema tree: `$R42_SHARED_DIR/proxmox`, else `../shared/proxmox` next to the
 * repository, else /work/shared/proxmox (where a clean checkout elsewhere still finds it).
 */
export const SHARED_SCHEMA = [
  process.env.R42_SHARED_DIR,
  path.resolve(REPO_ROOT, '..', 'shared'),
  '/work/shared',
].filter((d): d is string => Boolean(d))
  .map((d) => path.join(d, 'proxmox', 'pve-api-schema.json'))
  .find((f) => fs.existsSync(f)) ?? path.resolve(REPO_ROOT, '..', 'shared', 'proxmox', 'pve-api-schema.json');
/** The compact copy the simulator loads (src/simulator/schema/pve-api.json). */
export const SPEC_FILE = path.join(REPO_ROOT, 'src', 'simulator', 'schema', 'pve-api.json');

/** Human-oriented keys of a property schema: dropped wherever they occur as schema keys. */
export const PROSE_KEYS: ReadonlySet<string> = new Set([
  'description', 'verbose_description', 'format_description', 'typetext', 'renderer', 'permissions', 'title', 'links',
]);

export interface SchemaTreeNode {
  path: string;
  text?: string;
  leaf?: number;
  info?: Record<string, Record<string, unknown>>;
  children?: SchemaTreeNode[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A map of property name → schema (`properties`, inline `format`): names are kept, even `description`. */
function stripMap(map: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map).map(([name, sub]) => [name, stripSchema(sub)]));
}

/** Drops prose from a property schema, recursively (items, nested properties, inline formats, ...). */
export function stripSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripSchema);
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (PROSE_KEYS.has(k)) continue;
    if ((k === 'properties' || k === 'format') && isObject(v)) out[k] = stripMap(v);
    else if (k === 'default' || k === 'enum') out[k] = v; // values, not schemas
    else if (isObject(v) || Array.isArray(v)) out[k] = stripSchema(v);
    else out[k] = v;
  }
  return out;
}

export interface CompactMethod {
  name: string;
  allowtoken: number;
  protected: number;
  proxyto?: string;
  parameters: { additionalProperties?: number; properties: Record<string, unknown>; [key: string]: unknown };
  returns: { type: string };
}

/** Every method of the tree as `"<METHOD> <template>"`, in tree order. */
export function buildSpec(tree: SchemaTreeNode[]): Record<string, CompactMethod> {
  const out: Record<string, CompactMethod> = {};
  const walk = (nodes: SchemaTreeNode[]) => {
    for (const n of nodes) {
      for (const [verb, m] of Object.entries(n.info ?? {})) {
        const returns = isObject(m.returns) ? m.returns : {};
        const parameters = (stripSchema(m.parameters ?? {}) ?? {}) as CompactMethod['parameters'];
        parameters.properties ??= {};
        const entry: CompactMethod = {
          name: String(m.name),
          allowtoken: m.allowtoken ? 1 : 0,
          protected: m.protected ? 1 : 0,
          parameters,
          returns: { type: typeof returns.type === 'string' ? returns.type : 'null' },
        };
        if (typeof m.proxyto === 'string' && m.proxyto) entry.proxyto = m.proxyto;
        out[`${verb} ${n.path}`] = entry;
      }
      walk(n.children ?? []);
    }
  };
  walk(tree);
  return out;
}

export function renderSpec(spec: Record<string, unknown>): string {
  return `${JSON.stringify(spec)}\n`;
}

export function readSharedSchema(file = SHARED_SCHEMA): SchemaTreeNode[] {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as SchemaTreeNode[];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const source = process.argv[2] ?? SHARED_SCHEMA;
  const spec = buildSpec(readSharedSchema(source));
  fs.writeFileSync(SPEC_FILE, renderSpec(spec));
  const size = fs.statSync(SPEC_FILE).size;
  process.stdout.write(`${Object.keys(spec).length} methods, ${size} bytes (${(size / 1024).toFixed(1)} KiB) -> ${path.relative(REPO_ROOT, SPEC_FILE)}\n`);
}
