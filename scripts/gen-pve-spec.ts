// Writes src/simulator/schema/pve-api.json: the official Proxmox VE 8.4 API schema (apidoc.js,
// kept in ../shared/proxmox) flattened to `"<METHOD> <path>": method` and stripped of prose, so the
// simulator can validate requests without depending on ../shared at run time.
//
//   node --import tsx scripts/gen-pve-spec.ts [path/to/pve-api-schema.json]
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/config/paths.js';

export const SHARED_SCHEMA = path.resolve(REPO_ROOT, '..', 'shared', 'proxmox', 'pve-api-schema.json');
export const SPEC_FILE = path.join(REPO_ROOT, 'src', 'simulator', 'schema', 'pve-api.json');

const PROSE = new Set(['description', 'verbose_description', 'format_description', 'typetext', 'renderer', 'permissions', 'title', 'links']);

interface TreeNode {
  path: string;
  info?: Record<string, Record<string, unknown>>;
  children?: TreeNode[];
}

/** Drops prose from a schema; property names (which may be called `description`) are kept. */
function strip(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (PROSE.has(k)) continue;
    if ((k === 'properties' || k === 'format') && v && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, strip(sub)]));
    } else if (k === 'items') out[k] = strip(v);
    else out[k] = v;
  }
  return out;
}

export function buildSpec(tree: TreeNode[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (nodes: TreeNode[]) => {
    for (const n of nodes) {
      for (const [verb, m] of Object.entries(n.info ?? {})) {
        const returns = m.returns as Record<string, unknown> | undefined;
        out[`${verb} ${n.path}`] = {
          name: m.name,
          ...(m.allowtoken ? { allowtoken: 1 } : {}),
          ...(m.protected ? { protected: 1 } : {}),
          ...(m.proxyto ? { proxyto: m.proxyto } : {}),
          parameters: strip(m.parameters ?? { properties: {} }),
          returns: { type: returns?.type ?? 'null' },
        };
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

if (import.meta.url === `file://${process.argv[1]}`) {
  const source = process.argv[2] ?? SHARED_SCHEMA;
  const spec = buildSpec(JSON.parse(fs.readFileSync(source, 'utf8')) as TreeNode[]);
  fs.writeFileSync(SPEC_FILE, renderSpec(spec));
  process.stdout.write(`${Object.keys(spec).length} methods, ${fs.statSync(SPEC_FILE).size} bytes -> ${path.relative(REPO_ROOT, SPEC_FILE)}\n`);
}
