import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/env.js';
import type { RunSpec } from '../engine/types.js';
import { DomainError } from '../errors.js';

/** The configured directories a run's files live under, by name: each host has its own checkout. */
export type RootName = 'inventory' | 'catalog' | 'project';
export type Roots = Readonly<Record<RootName, string>>;

/** A file of a run, relative to one of the roots. */
export interface PortablePath {
  root: RootName;
  rel: string;
}

/** A RunSpec as data another host can run: its paths relative to the configured roots. */
export interface PortableRunSpec extends Omit<RunSpec, 'playbook' | 'inventory'> {
  playbook: PortablePath;
  inventory: PortablePath;
}

export function rootsOf(config: Pick<Config, 'inventoryDir' | 'publicPlaybooksDir' | 'projectRootDir'>): Roots {
  return { inventory: config.inventoryDir, catalog: config.publicPlaybooksDir, project: config.projectRootDir };
}

const inside = (root: string, p: string): string | null => {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : null;
};

/** A checked absolute path as a root and a path below it (the most specific root wins). */
function portable(p: string, roots: Roots): PortablePath {
  const byDepth = (Object.entries(roots) as [RootName, string][]).sort((a, b) => b[1].length - a[1].length);
  for (const [root, dir] of byDepth) {
    const rel = inside(dir, p);
    if (rel !== null) return { root, rel: rel.split(path.sep).join('/') };
  }
  throw new DomainError('PATH_TRAVERSAL', `:: err - ${path.basename(p)} is outside the configured directories`);
}

export function toPortable(spec: RunSpec, roots: Roots): PortableRunSpec {
  return { ...spec, playbook: portable(spec.playbook, roots), inventory: portable(spec.inventory, roots) };
}

/**
 * A portable path resolved against this host's roots, and checked again: no `..` out of the root,
 * no symlink leading out of it (real paths compared), an existing file.
 */
function resolve(p: PortablePath, roots: Roots, missing: 'PLAYBOOK_NOT_FOUND' | 'INVENTORY_NOT_FOUND'): string {
  const dir = roots[p.root];
  if (!dir || typeof p.rel !== 'string' || path.isAbsolute(p.rel)) throw new DomainError('PATH_TRAVERSAL', ':: err - a queued run names a path outside its root');
  const abs = path.resolve(dir, p.rel);
  if (inside(dir, abs) === null) throw new DomainError('PATH_TRAVERSAL', `:: err - ${p.rel} is outside ${p.root}`);
  let real: string;
  try {
    real = fs.realpathSync(abs);
    if (!fs.statSync(real).isFile()) throw new Error('not a file');
  } catch {
    throw new DomainError(missing, `:: err - ${p.root}/${p.rel} not found on this host`);
  }
  if (inside(fs.realpathSync(dir), real) === null) throw new DomainError('PATH_TRAVERSAL', `:: err - ${p.rel} leads outside ${p.root}`);
  return abs;
}

export function fromPortable(spec: PortableRunSpec, roots: Roots): RunSpec {
  return { ...spec, playbook: resolve(spec.playbook, roots, 'PLAYBOOK_NOT_FOUND'), inventory: resolve(spec.inventory, roots, 'INVENTORY_NOT_FOUND') };
}
