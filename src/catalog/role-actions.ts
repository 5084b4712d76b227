import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

/**
 * Which actions the Proxmox controller role on the roles path knows. An operation whose action the
 * role lacks is refused before it runs: the upstream role dispatches with `when:` conditions, so an
 * unknown action runs nothing and "succeeds" with an empty result, which is worse than an error.
 *
 * The role says it in one of two ways: this project's publishes `proxmox_controller_actions`
 * (vars/ or defaults/), the upstream one compares `proxmox_vm_action` with each name in its task
 * files. A role found in neither form is not second-guessed (null: no check).
 */
const CONTROLLER_ROLE = 'range42-ansible_roles-proxmox_controller';

/** The directories Ansible searches for roles, in its order (as the engine sets ANSIBLE_ROLES_PATH). */
function rolesPath(projectRootDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const inherited = env.ANSIBLE_ROLES_PATH || '~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles';
  return [path.join(projectRootDir, 'roles'), ...inherited.split(':')].filter(Boolean).map((d) => d.replace(/^~(?=\/|$)/, os.homedir()));
}

const cache = new Map<string, { stamp: string; role: ControllerRole }>();

function taskFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.ya?ml$/.test(d.name))
    .map((d) => path.join(d.parentPath, d.name));
}

/** A cheap fingerprint of the role's files: any edit changes a size or an mtime. */
function stampOf(files: string[]): string {
  return files.map((f) => {
    const st = fs.statSync(f);
    return `${f}:${st.size}:${st.mtimeMs}`;
  }).join('|');
}

function declared(roleDir: string): Set<string> | null {
  for (const file of ['vars/main.yml', 'defaults/main.yml']) {
    const full = path.join(roleDir, file);
    if (!fs.existsSync(full)) continue;
    const doc = YAML.parse(fs.readFileSync(full, 'utf8')) as Record<string, unknown> | null;
    const actions = doc?.proxmox_controller_actions;
    if (actions && typeof actions === 'object') return new Set(Object.keys(actions));
  }
  return null;
}

const COMPARISON = /proxmox_vm_action\s*==\s*["']([A-Za-z0-9_]+)["']/g;

function compared(files: string[]): Set<string> | null {
  const found = new Set<string>();
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      if (line.trim().startsWith('#')) continue;
      for (const m of line.matchAll(COMPARISON)) found.add(m[1]!);
    }
  }
  return found.size > 0 ? found : null;
}

/**
 * The controller role Ansible would use: its directory, its actions (null when they cannot be
 * told) and whether it declares them itself (this project's role) or only compares them (upstream's).
 */
export interface ControllerRole {
  roleDir: string;
  actions: Set<string> | null;
  declaresActions: boolean;
}

/** The controller role on the roles path Ansible would use, re-read when its files change. */
export function controllerRole(projectRootDir: string, env: NodeJS.ProcessEnv = process.env): ControllerRole | null {
  const roleDir = rolesPath(projectRootDir, env).map((d) => path.join(d, CONTROLLER_ROLE)).find((d) => fs.existsSync(path.join(d, 'tasks')));
  if (!roleDir) return null;
  const files = [...taskFiles(path.join(roleDir, 'tasks')), ...['vars/main.yml', 'defaults/main.yml'].map((f) => path.join(roleDir, f)).filter((f) => fs.existsSync(f))];
  const stamp = stampOf(files);
  const hit = cache.get(roleDir);
  if (hit && hit.stamp === stamp) return hit.role;
  const own = declared(roleDir);
  const role: ControllerRole = { roleDir, actions: own ?? compared(files), declaresActions: own !== null };
  cache.set(roleDir, { stamp, role });
  return role;
}
