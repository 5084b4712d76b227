import fs from 'node:fs';
import path from 'node:path';
import { DomainError, pyRepr, type DomainErrorCode } from '../errors.js';

/**
 * Names of bundles, scenarios and inventories that clients may send: slash-separated segments
 * of letters, digits, `_` and `-`. No dots, so no `..`; no leading slash, so nothing absolute.
 */
const NAME_PATTERN = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;

export type PlaybookKind = 'bundles' | 'scenarios' | 'actions';

function isInside(child: string, parent: string): boolean {
  return child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

function realpathOrNull(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

/**
 * Maps a bundle/scenario name to `<base>/<kind>/<name>/<file>`, following symlinks, and refuses
 * anything that does not stay inside `<base>/<kind>`. Every refusal is a DomainError (NAME_REFUSED,
 * PLAYBOOK_NOT_FOUND, PATH_TRAVERSAL), answered 400 with a JSON detail (the original answered a
 * plain-text 500 for a missing file).
 */
export function resolveCatalogPlaybook(base: string, kind: PlaybookKind, name: string, file = 'main.yml'): string {
  if (!NAME_PATTERN.test(name)) throw new DomainError('NAME_REFUSED', `:: err - INVALID ACTION NAME FORMAT ${pyRepr(name)}`);
  const root = realpathOrNull(path.join(base, kind));
  if (root === null) throw new DomainError('PLAYBOOK_NOT_FOUND', `:: err - PLAYBOOKS DIR NOT FOUND : ${path.join(base, kind)}`);
  const candidate = path.join(root, name, file);
  const resolved = realpathOrNull(candidate);
  if (resolved === null) throw new DomainError('PLAYBOOK_NOT_FOUND', `:: err - PLAYBOOK NOT FOUND : ${candidate}`);
  if (!isInside(resolved, root)) throw new DomainError('PATH_TRAVERSAL', `:: err - POTENTIAL PATH TRAVERSAL DETECTED : ${resolved}`);
  if (!fs.statSync(resolved).isFile()) throw new DomainError('PLAYBOOK_NOT_FOUND', `:: err - PLAYBOOK NOT FOUND : ${candidate}`);
  return resolved;
}

/** `<inventoryDir>/<name>.yml`, with the same name rules and containment check. */
export function resolveInventory(inventoryDir: string, name: string): string {
  if (!NAME_PATTERN.test(name)) throw new DomainError('NAME_REFUSED', `:: err - INVALID INVENTORY NAME FORMAT ${pyRepr(name)}`);
  const root = realpathOrNull(inventoryDir);
  if (root === null) throw new DomainError('INVENTORY_DIR_NOT_FOUND', `:: err - INVENTORY DIR  NOT FOUND : ${inventoryDir}`);
  const candidate = path.join(root, `${name}.yml`);
  const resolved = realpathOrNull(candidate);
  if (resolved === null) throw new DomainError('INVENTORY_NOT_FOUND', `:: err - INVENTORY NOT FOUND : ${candidate}`);
  if (!isInside(resolved, root)) throw new DomainError('PATH_TRAVERSAL', `:: err - POTENTIAL PATH TRAVERSAL DETECTED : ${resolved}`);
  return resolved;
}

/** The service's own playbooks (generic.yml, ping.yml): a fixed name, so only existence is checked. */
export function requireFile(file: string, message: string, code: DomainErrorCode = 'PLAYBOOK_NOT_FOUND'): string {
  if (realpathOrNull(file) === null) throw new DomainError(code, `${message} : ${file}`);
  return file;
}
