import { logLines } from '../engine/extract.js';
import type { RunnerEvent, RunResult } from '../engine/types.js';

/**
 * What went wrong in a failed run, in a person's words, for the `detail` of a failure answer (the
 * deployer UI shows only a non-2xx answer's `detail`). Read from the run's events: the first
 * failed task (its name, its host, its `msg`), else the engine's or Ansible's `ERROR!` line. The
 * role's Proxmox calls word their failures one way (src/../roles/…/action_plugins/proxmox_api.py):
 *   `Proxmox API <METHOD> <path> failed: HTTP <status>: <Proxmox's message>[ <errors as JSON>]`
 *   `Proxmox task <UPID> failed: <exit status>` (and `did not end within`, `could not read the status`);
 * the node and the guest are taken from the path or the UPID, Proxmox's own message is kept.
 *
 * `conflict`: Proxmox refused because something already exists or a guest is locked; the
 * answer is then a 409 instead of the original's 500 (a deliberate widening, see the README).
 */
export interface FailureDescription {
  detail: string;
  conflict: boolean;
}

/** Proxmox's wording when the thing to create is there already. */
const ALREADY_EXISTS = /already exists?/i;
/** Proxmox's wording of a guest lock (`VM is locked (backup)`, `CT 200 is locked (clone)`, `can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout`). */
const LOCKED = /\b(?:VM|CT)(?: \d+)? is locked\b|can't lock file/i;
const API_FAILURE = /^Proxmox API (\S+) (\S+) failed: (?:HTTP (\d{3}): )?([\s\S]*)$/;
const TASK_FAILURE = /^Proxmox task (\S+) failed: ([\s\S]*)$/;
const TASK_NOT_ENDED = /^Proxmox task (\S+) did not end within ([\s\S]*)$/;
const TASK_UNREADABLE = /^could not read the status of Proxmox task (\S+): ([\s\S]*)$/;
/** The longest detail: a person reads it in a toast, the log is in `log_multiline`. */
const MAX_DETAIL = 1000;

interface Where {
  node: string | null;
  guest: string | null;
}

/** Node and guest from a Proxmox API path (`/nodes/px/qemu/100/…`). */
function fromPath(path: string): Where {
  const node = /^\/nodes\/([^/]+)/.exec(path)?.[1] ?? null;
  const g = /\/(qemu|lxc)\/(\d+)/.exec(path);
  return { node: node ? decodeURIComponent(node) : null, guest: g ? `${g[1] === 'lxc' ? 'CT' : 'VM'} ${g[2]}` : null };
}

/** Node and guest from a task id (`UPID:node:pid:pstart:start:qmstart:100:user:`). */
function fromUpid(upid: string): Where {
  const parts = upid.split(':');
  const type = parts[5] ?? '';
  const id = parts[6] ?? '';
  const guest = /^\d+$/.test(id) ? `${/^(vz|lxc|pct)/.test(type) ? 'CT' : 'VM'} ${id}` : null;
  return { node: parts[1] || null, guest };
}

/** Proxmox's parameter errors (`{"iface": "interface already exists"}`) as `iface: interface already exists`. */
function readableErrors(text: string): string {
  const m = /^([\s\S]*?)\s*(\{[\s\S]*\})\s*$/.exec(text);
  if (!m) return text;
  try {
    const errors = JSON.parse(m[2]!) as Record<string, unknown>;
    const list = Object.entries(errors).map(([k, v]) => `${k}: ${String(v).trim()}`).join('; ');
    return `${m[1]!.replace(/\.$/, '')}: ${list}`;
  } catch {
    return text;
  }
}

interface Failure {
  task: string | null;
  host: string | null;
  msg: string;
}

const textOf = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/** The first failure of a task that was not ignored (an item's own message before the task's summary). */
function firstFailure(events: readonly RunnerEvent[]): Failure | null {
  for (const ev of events) {
    const d = ev.event_data;
    if (!d) continue;
    const failed = ev.event === 'runner_on_failed' || ev.event === 'runner_item_on_failed' || ev.event === 'runner_on_unreachable';
    if (!failed || d.ignore_errors === true) continue;
    const res = (d.res && typeof d.res === 'object' ? d.res : {}) as Record<string, unknown>;
    const msg = textOf(res.msg) ?? textOf(res.stderr) ?? textOf(res.reason) ?? textOf(res.exception) ?? 'no message';
    const unreachable = ev.event === 'runner_on_unreachable';
    return { task: textOf(d.task), host: textOf(d.host), msg: unreachable ? `host unreachable: ${msg}` : msg };
  }
  return null;
}

/** The task the run was in when it was stopped (timeout, cancel): the last one started, named as the log shows it. */
function lastTask(events: readonly RunnerEvent[]): { task: string | null; host: string | null } {
  let host: string | null = null;
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i]!;
    if (ev.event === 'runner_on_start') host ??= textOf(ev.event_data?.host);
    if (ev.event !== 'playbook_on_task_start') continue;
    // The header line has the name templated (`TASK [role : Start VM 4004] ***`); event_data.task may not.
    const header = /TASK \[(?:[^\]]*? : )?(.*?)\]\s*\**\s*$/m.exec(ev.stdout ?? '')?.[1];
    const named = textOf(ev.event_data?.task);
    return { task: textOf(header) ?? (named && !named.includes('{{') ? named : null), host };
  }
  return { task: null, host };
}

const limit = (s: string) => (s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL - 1)}…` : s);

/** A failed task's message, worded for a person; `conflict` when Proxmox says it exists or is locked. */
function describeTask(f: Failure): FailureDescription {
  const what = f.task ?? 'The playbook';
  const api = API_FAILURE.exec(f.msg);
  const taskFailed = TASK_FAILURE.exec(f.msg);
  const taskLate = TASK_NOT_ENDED.exec(f.msg);
  const taskUnread = TASK_UNREADABLE.exec(f.msg);
  const task = taskFailed ?? taskLate ?? taskUnread;
  let where: Where = { node: null, guest: null };
  let says: string;
  let proxmox: string | null = null;
  if (api) {
    where = fromPath(api[2]!);
    const status = api[3] ? Number(api[3]) : null;
    proxmox = readableErrors(api[4]!.trim());
    says = status === null
      ? `Proxmox did not answer (${proxmox})`
      : status < 500
        ? `Proxmox refused the request (HTTP ${status}): ${proxmox}`
        : `Proxmox failed (HTTP ${status}): ${proxmox}`;
  } else if (task) {
    where = fromUpid(task[1]!);
    proxmox = task[2]!.trim();
    says = taskFailed
      ? `the Proxmox task failed: ${proxmox}`
      : taskLate
        ? `the Proxmox task did not end within ${proxmox}`
        : `the status of the Proxmox task could not be read: ${proxmox}`;
  } else {
    says = f.msg;
  }
  const on = where.node ? ` on node ${where.node}` : f.host ? ` on ${f.host}` : '';
  if (proxmox !== null && ALREADY_EXISTS.test(proxmox)) {
    // Proxmox names the guest it would create (`unable to create VM 2007: config file already exists`).
    const named = /\b(VM|CT) (\d+)\b/.exec(proxmox);
    const head = named ? `${named[1]} ${named[2]} already exists${on}` : `${what} failed${on}: it already exists`;
    return { detail: limit(`${head} (Proxmox: ${proxmox})`), conflict: true };
  }
  if (proxmox !== null && LOCKED.test(proxmox)) {
    const guest = where.guest ?? /\b(VM|CT) (\d+)\b/.exec(proxmox)?.[0] ?? 'The guest';
    const kind = /\(([^)]+)\)/.exec(proxmox)?.[1];
    return {
      detail: limit(`${guest}${on} is locked${kind ? ` (${kind})` : ''} by another Proxmox operation: ${what} was refused; try again once it is over (Proxmox: ${proxmox})`),
      conflict: true,
    };
  }
  return { detail: limit(`${what} failed${on}: ${says}`), conflict: false };
}

/** Why the run failed (rc ≠ 0), for a person. */
export function describeFailure(run: RunResult): FailureDescription {
  const lines = logLines(run.events);
  if (run.status === 'canceled' || run.status === 'timeout') {
    const { task, host } = lastTask(run.events);
    // The engine's own line says how it was stopped (`ERROR! the run was stopped after 8 s: it timed out (RUNNER_TIMEOUT)`).
    const stopped = [...lines].reverse().find((l) => l.startsWith('ERROR!'))?.replace(/^ERROR!\s*/, '');
    const why = stopped ?? (run.status === 'timeout' ? 'the run timed out' : 'the run was canceled');
    const during = task ? ` during "${task}"${host ? ` on ${host}` : ''}` : '';
    const head = run.status === 'timeout' ? `Timed out${during}` : `Canceled${during}`;
    const tail = run.status === 'timeout' && task ? '; the Proxmox task may still be running' : '';
    return { detail: limit(`${head}: ${why}${tail}`), conflict: false };
  }
  const failure = firstFailure(run.events);
  if (failure) return describeTask(failure);
  const error = lines.find((l) => l.startsWith('ERROR!'));
  if (error) return { detail: limit(`Ansible could not run the playbook: ${error.replace(/^ERROR!\s*/, '')}`), conflict: false };
  return { detail: `The playbook failed (Ansible exited with rc=${run.rc})`, conflict: false };
}

/**
 * A `detail` for a failure body that has none (an internal error's `{rc, log_multiline}`, the
 * stored answer of a job from before `detail`): its `error`, else its last log line.
 */
export function detailOfBody(body: Record<string, unknown>, status: number): string {
  if (typeof body.error === 'string' && body.error.trim() !== '') return limit(body.error.trim());
  const log = Array.isArray(body.log_multiline) ? (body.log_multiline as unknown[]).filter((l): l is string => typeof l === 'string' && l.trim() !== '') : [];
  const last = log[log.length - 1];
  if (last) return limit(last.trim());
  return typeof body.rc === 'number' ? `The playbook failed (rc=${body.rc}, HTTP ${status})` : `HTTP ${status}`;
}
