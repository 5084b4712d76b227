import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/config/paths.js';

/**
 * The layers of src/, and the one direction of their imports:
 *
 *   composition (app.ts, server.ts, worker.ts, shutdown.ts, http/openapi.ts: they build the whole service)
 *     → HTTP (routes/, http/, schemas/, ws/: the wire — routes, schemas, error mapping, sockets)
 *       → domain (jobs/, engine/, proxmox/, catalog/, errors.ts: runs, jobs, Proxmox, the catalog)
 *         → config (config/)
 *
 * A module imports its own layer or a lower one, never a higher one: the domain knows nothing of
 * HTTP. The Proxmox simulator (simulator/) is a tool beside the service: it may use the domain and
 * the configuration, and only the composition imports it. On top of the layers: no import cycle
 * between two modules, nor between two directories of src/ (jobs/ ↔ routes/ was one).
 * Type-only imports count: a type is a dependency too.
 */
type Layer = 'composition' | 'http' | 'domain' | 'config' | 'simulator';

const RANK: Record<Exclude<Layer, 'simulator'>, number> = { composition: 3, http: 2, domain: 1, config: 0 };

const COMPOSITION = new Set(['app.ts', 'server.ts', 'worker.ts', 'shutdown.ts', 'http/openapi.ts']);
const LAYER_OF_DIR: Record<string, Layer> = {
  routes: 'http',
  http: 'http',
  schemas: 'http',
  ws: 'http',
  jobs: 'domain',
  engine: 'domain',
  proxmox: 'domain',
  catalog: 'domain',
  'errors.ts': 'domain',
  config: 'config',
  simulator: 'simulator',
};

/** `jobs/manager.ts` → `jobs`; a file at the top of src/ is its own unit (`errors.ts`). */
const unitOf = (file: string) => file.split('/')[0]!;

function layerOf(file: string): Layer | undefined {
  return COMPOSITION.has(file) ? 'composition' : LAYER_OF_DIR[unitOf(file)];
}

/** Whether `from` may import `to` by the layer rules. */
function mayImport(from: string, to: string): boolean {
  const a = layerOf(from);
  const b = layerOf(to);
  if (!a || !b) return false;
  if (a === 'simulator') return b === 'simulator' || b === 'domain' || b === 'config';
  if (b === 'simulator') return a === 'composition';
  return RANK[a] >= RANK[b];
}

/** Every .ts file under `root` (paths relative to it, with `/`) → the files of `root` it imports. */
function importGraph(root: string): Map<string, string[]> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(root);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    // Static imports, `export ... from`, `import type`, and dynamic import() with a literal specifier.
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const deps: string[] = [];
    for (const { fileName: spec } of info.importedFiles) {
      if (!spec.startsWith('.')) continue; // a package or node: builtin
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
      if (!fs.existsSync(target)) throw new Error(`${path.relative(root, file)}: cannot resolve ${spec}`);
      if (!target.endsWith('.ts')) continue; // JSON data
      deps.push(path.relative(root, target).split(path.sep).join('/'));
    }
    graph.set(path.relative(root, file).split(path.sep).join('/'), [...new Set(deps)]);
  }
  return graph;
}

/** The strongly connected components with more than one node (Tarjan): each is an import cycle. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** The graph between the units of src/ (its directories, and the files at its top). */
function unitGraph(graph: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const units = new Map<string, Set<string>>();
  for (const [from, deps] of graph) {
    if (COMPOSITION.has(from)) continue; // the composition imports everything by design
    const set = units.get(unitOf(from)) ?? new Set<string>();
    for (const to of deps) if (unitOf(to) !== unitOf(from) && !COMPOSITION.has(to)) set.add(unitOf(to));
    units.set(unitOf(from), set);
  }
  return new Map([...units].map(([u, s]) => [u, [...s].sort()]));
}

const SRC = path.join(REPO_ROOT, 'src');

describe('architecture: the layers of src/', () => {
  const graph = importGraph(SRC);

  it('knows the layer of every module', () => {
    expect([...graph.keys()].filter((f) => !layerOf(f))).toEqual([]);
  });

  it('imports only go down: composition → HTTP → domain → config (the domain never imports HTTP)', () => {
    const wrong: string[] = [];
    for (const [from, deps] of graph) for (const to of deps) if (!mayImport(from, to)) wrong.push(`${from} (${layerOf(from)}) → ${to} (${layerOf(to)})`);
    expect(wrong).toEqual([]);
  });

  it('has no import cycle between modules', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no import cycle between directories', () => {
    expect(cycles(unitGraph(graph))).toEqual([]);
  });
});

describe('architecture: the checks themselves', () => {
  it('refuse a domain module importing an HTTP one, and allow the other way', () => {
    expect(mayImport('jobs/manager.ts', 'routes/types.ts')).toBe(false);
    expect(mayImport('proxmox/status-poller.ts', 'ws/protocol.ts')).toBe(false);
    expect(mayImport('engine/names.ts', 'http/api-error.ts')).toBe(false);
    expect(mayImport('config/env.ts', 'errors.ts')).toBe(false);
    expect(mayImport('simulator/embed.ts', 'routes/table.ts')).toBe(false);
    expect(mayImport('routes/handler.ts', 'simulator/index.ts')).toBe(false);
    expect(mayImport('routes/handler.ts', 'jobs/manager.ts')).toBe(true);
    expect(mayImport('http/errors.ts', 'errors.ts')).toBe(true);
    expect(mayImport('app.ts', 'simulator/index.ts')).toBe(true);
  });

  it('find a cycle, also one that only shows between directories', () => {
    expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    const files = new Map([['jobs/manager.ts', ['routes/types.ts']], ['routes/handler.ts', ['jobs/manager.ts']], ['routes/types.ts', []]]);
    expect(cycles(files)).toEqual([]);
    expect(cycles(unitGraph(files))).toEqual([['jobs', 'routes']]);
  });
});
