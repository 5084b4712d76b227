import path from 'node:path';
import type { RunnerEvent } from '../engine/types.js';
import type { Redactor } from './redact.js';
import type { JobEvent, JobEventType } from './types.js';

/** An event before it gets its number. */
export type UnnumberedEvent = Omit<JobEvent, 'seq'>;

const ANSI = /\x1B[@-_][0-?]*[ -/]*[@-~]/g;
const MAX_TEXT = 2000;

/** ansible-runner's `created` is UTC without a zone ("2026-01-02T03:04:05.123456"). */
function eventTime(created: unknown): string {
  if (typeof created === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/.test(created)) {
    const d = new Date(`${created}Z`);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  return new Date().toISOString();
}

function clip(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
}

function messageOf(res: unknown, failed: boolean): string | undefined {
  if (!res || typeof res !== 'object') return undefined;
  const r = res as Record<string, unknown>;
  if (typeof r.msg === 'string' && r.msg !== '') return r.msg;
  if (failed) {
    for (const k of ['stderr', 'module_stderr', 'stdout', 'reason']) if (typeof r[k] === 'string' && r[k] !== '') return r[k] as string;
  }
  return undefined;
}

type HostCounts = Record<string, Record<string, number>>;

function stats(data: Record<string, unknown>): HostCounts {
  const out: HostCounts = {};
  const names: Record<string, string> = { ok: 'ok', changed: 'changed', failures: 'failed', skipped: 'skipped', dark: 'unreachable', rescued: 'rescued', ignored: 'ignored' };
  for (const [key, name] of Object.entries(names)) {
    const perHost = data[key];
    if (!perHost || typeof perHost !== 'object') continue;
    for (const [host, n] of Object.entries(perHost as Record<string, unknown>)) {
      out[host] ??= { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, rescued: 0, ignored: 0 };
      if (typeof n === 'number') out[host]![name] = n;
    }
  }
  return out;
}

export interface ReduceOptions {
  redactor: Redactor;
  /** Playbook paths are shown relative to the first of these that contains them. */
  roots: readonly string[];
}

function playbookName(p: unknown, roots: readonly string[]): string | undefined {
  if (typeof p !== 'string') return undefined;
  for (const root of roots) {
    const rel = path.relative(root, p);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel;
  }
  return path.basename(p);
}

/**
 * One ansible-runner event reduced to what a UI shows, or null for the ones it does not need
 * (runner_on_start, item successes, async polls, …). Every string goes through the redactor.
 */
export function reduceEvent(ev: RunnerEvent, opts: ReduceOptions): UnnumberedEvent | null {
  const d = (ev.event_data ?? {}) as Record<string, unknown>;
  const r = opts.redactor;
  const t = eventTime(ev.created);
  const str = (v: unknown) => (typeof v === 'string' ? r.text(clip(v)) : undefined);
  const make = (type: JobEventType, fields: Record<string, unknown>): UnnumberedEvent => {
    const e: UnnumberedEvent = { t, type };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) e[k] = v;
    return e;
  };
  const task = () => ({ task: str(d.task), action: str(d.task_action), host: str(d.host) });
  const duration = typeof d.duration === 'number' ? Math.round(d.duration * 1000) / 1000 : undefined;
  switch (ev.event) {
    case 'playbook_on_start':
      return make('playbook_start', { playbook: str(playbookName(d.playbook, opts.roots)) });
    case 'playbook_on_play_start':
      return make('play_start', { play: str(d.play ?? d.name) });
    case 'playbook_on_task_start':
      return make('task_start', { task: str(d.task), action: str(d.task_action) });
    case 'runner_on_ok': {
      const res = d.res as Record<string, unknown> | undefined;
      return make('task_ok', { ...task(), changed: res?.changed === true, duration, msg: str(messageOf(res, false)) });
    }
    case 'runner_on_failed':
      return make('task_failed', { ...task(), duration, ignored: d.ignore_errors === true, msg: str(messageOf(d.res, true)) });
    case 'runner_on_skipped':
      return make('task_skipped', task());
    case 'runner_on_unreachable':
      return make('host_unreachable', { ...task(), msg: str(messageOf(d.res, true)) });
    case 'runner_item_on_failed':
      return make('item_failed', { ...task(), msg: str(messageOf(d.res, true)) });
    case 'playbook_on_no_hosts_matched':
    case 'playbook_on_no_hosts_remaining':
      return make('no_hosts', { play: str(d.play) });
    case 'playbook_on_stats':
      return make('stats', { hosts: r.value(stats(d)) });
    case 'verbose':
    case 'warning':
    case 'error':
    case 'deprecated': {
      const text = typeof ev.stdout === 'string' ? ev.stdout.replace(ANSI, '').trim() : '';
      if (text === '') return null;
      const level = ev.event === 'verbose' ? (/^(ERROR!|fatal)/.test(text) ? 'error' : /^\[?WARNING/.test(text) ? 'warning' : 'info') : ev.event === 'deprecated' ? 'warning' : ev.event;
      return make('message', { level, text: r.text(clip(text)) });
    }
    default:
      return null;
  }
}
