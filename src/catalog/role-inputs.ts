import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { ControllerRole } from './role-actions.js';

/**
 * The variables an action of a third-party controller role cannot run without.
 *
 * The upstream range42 role declares no inputs (no argument_specs, no defaults): its `uri` tasks
 * template `{{ lxc_password }}` and fail at run time with "'lxc_password' is undefined" when a
 * request did not carry it, after the run started. Read from the action's task file, the same
 * fact becomes a 422 before anything runs.
 *
 * What counts as required is kept to what is certain: a variable that is the first word of a
 * `{{ … }}` expression, never with a `default(…)`, never tested with `is defined`, not registered
 * or set by the file itself, and not one of Ansible's own names. Anything less certain is left to
 * the run, as before. This project's role declares its actions (`proxmox_controller_actions`) and
 * gives its own defaults, so it is not second-guessed: null.
 */

/** Ansible's own names, and Jinja words that can open an expression. */
const BUILTIN = new Set([
  'item', 'omit', 'inventory_hostname', 'inventory_hostname_short', 'hostvars', 'groups', 'group_names', 'play_hosts',
  'playbook_dir', 'role_path', 'role_name', 'lookup', 'query', 'q', 'range', 'dict', 'lipsum', 'now', 'undef',
  'true', 'false', 'none', 'True', 'False', 'None', 'not', 'loop', 'environment', 'vars',
]);

const EXPRESSION = /\{\{([\s\S]*?)\}\}/g;
const FIRST_WORD = /^\s*([A-Za-z_][A-Za-z0-9_]*)/;
const DEFAULTED = /([A-Za-z_][A-Za-z0-9_]*)\s*\|\s*(?:default|d)\s*\(/g;
const TESTED = /([A-Za-z_][A-Za-z0-9_]*)\s+is\s+(?:not\s+)?(?:defined|undefined|none)\b/g;
/** Jinja statements that bind a name: `{% set x = … %}`, `{% for x, y in … %}`, `{% macro x(…) %}`. */
const BOUND = /\{%-?\s*(?:set\s+([A-Za-z_][A-Za-z0-9_]*)|for\s+([A-Za-z_][A-Za-z0-9_, ]*?)\s+in\b|macro\s+([A-Za-z_][A-Za-z0-9_]*))/g;

type Task = Record<string, unknown>;

/** Names the file itself defines: registered results, set_fact keys, loop variables, vars blocks. */
function definedBy(tasks: unknown, out = new Set<string>()): Set<string> {
  if (!Array.isArray(tasks)) return out;
  for (const t of tasks as Task[]) {
    if (!t || typeof t !== 'object') continue;
    if (typeof t.register === 'string') out.add(t.register);
    for (const key of ['set_fact', 'ansible.builtin.set_fact', 'vars']) {
      const v = t[key];
      if (v && typeof v === 'object') for (const name of Object.keys(v)) out.add(name);
    }
    const loopVar = (t.loop_control as Task | undefined)?.loop_var;
    if (typeof loopVar === 'string') out.add(loopVar);
    for (const nested of ['block', 'rescue', 'always']) definedBy(t[nested], out);
  }
  return out;
}

/** The task file `tasks/main.yml` includes for `action` (an include guarded by `proxmox_vm_action == "<action>"`). */
function actionFile(roleDir: string, action: string): string | null {
  const main = path.join(roleDir, 'tasks', 'main.yml');
  let tasks: unknown;
  try {
    tasks = YAML.parse(fs.readFileSync(main, 'utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(tasks)) return null;
  const guard = new RegExp(`proxmox_vm_action\\s*==\\s*["']${action}["']`);
  for (const t of tasks as Task[]) {
    const when = Array.isArray(t?.when) ? t.when.join(' and ') : t?.when;
    if (typeof when !== 'string' || !guard.test(when)) continue;
    for (const key of ['include_tasks', 'ansible.builtin.include_tasks', 'import_tasks', 'ansible.builtin.import_tasks']) {
      const v = t[key];
      const file = typeof v === 'string' ? v : typeof (v as Task | undefined)?.file === 'string' ? (v as Task).file as string : null;
      if (file && !file.includes('{{')) {
        const tasksDir = path.resolve(roleDir, 'tasks');
        const full = path.resolve(tasksDir, file);
        return full.startsWith(tasksDir + path.sep) && fs.existsSync(full) ? full : null;
      }
    }
  }
  return null;
}

const cache = new Map<string, { stamp: string; required: string[] }>();

/** What the file's expressions need from outside, by the rules above. */
function requiredBy(file: string): string[] {
  const st = fs.statSync(file);
  const stamp = `${st.size}:${st.mtimeMs}`;
  const hit = cache.get(file);
  if (hit?.stamp === stamp) return hit.required;
  const text = fs.readFileSync(file, 'utf8').split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
  let defined: Set<string>;
  try {
    defined = definedBy(YAML.parse(text));
  } catch {
    return [];
  }
  for (const m of text.matchAll(BOUND)) for (const name of (m[1] ?? m[2] ?? m[3] ?? '').split(',')) defined.add(name.trim());
  const optional = new Set([...text.matchAll(DEFAULTED), ...text.matchAll(TESTED)].map((m) => m[1]!));
  const required = new Set<string>();
  for (const m of text.matchAll(EXPRESSION)) {
    const word = FIRST_WORD.exec(m[1]!)?.[1];
    if (!word || BUILTIN.has(word) || word.startsWith('ansible_') || defined.has(word) || optional.has(word)) continue;
    required.add(word);
  }
  const out = [...required].sort();
  cache.set(file, { stamp, required: out });
  return out;
}

/**
 * The variables `action` of the controller role (controllerRole) reads without a default, with
 * the file that reads them; null when the role declares its own actions or the file is not found.
 */
export function actionInputs(role: ControllerRole | null, action: string): { file: string; required: string[] } | null {
  if (!role || role.declaresActions) return null;
  const file = actionFile(role.roleDir, action);
  return file ? { file, required: requiredBy(file) } : null;
}
