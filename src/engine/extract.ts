import type { RunnerEvent } from './types.js';

/**
 * `result` of the as_json mode: for each `runner_on_ok` event in order, the value of
 * `event_data.res[key]` when present. A role publishes its answer with `debug: var: <action>`,
 * which is the only event carrying the fact at the top level of `res`.
 */
export function extractResult(events: readonly RunnerEvent[], key: string): unknown[] {
  const out: unknown[] = [];
  for (const ev of events) {
    if (ev.event !== 'runner_on_ok') continue;
    const res = ev.event_data?.res;
    if (res !== null && typeof res === 'object' && !Array.isArray(res) && Object.hasOwn(res, key)) {
      out.push((res as Record<string, unknown>)[key]);
    }
  }
  return out;
}

const ANSI_ESCAPE = /\x1B[@-_][0-?]*[ -/]*[@-~]/g;
// Python's str.isspace() set, which the original's strip() uses (it differs from JS trim()).
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
// Python's str.splitlines() boundaries.
const PY_LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** Python's str.splitlines(): no trailing empty element, nothing for an empty string. */
export function pySplitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(PY_LINE_BREAK);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** `log_multiline` of the raw mode: the events' stdout, joined, stripped, ANSI removed, split. */
export function logLines(events: readonly RunnerEvent[]): string[] {
  const text = events
    .map((ev) => ev.stdout)
    .filter((s): s is string => typeof s === 'string' && s !== '')
    .join('\n')
    .replace(PY_STRIP, '');
  return pySplitLines(text.replace(ANSI_ESCAPE, ''));
}
