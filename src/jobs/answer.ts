import { extractResult, logLines } from '../engine/extract.js';
import type { RunResult } from '../engine/types.js';
import { describeFailure } from './failure.js';

const FAILURE_LINE = /fatal:|FAILED|^ERROR!/;

/**
 * How a finished run becomes the synchronous route's answer, as data: the HTTP layer builds it
 * from the route's `output` rule and the body's `as_json`, and it travels with a queued job
 * (RUN_QUEUE=redis) so that a worker shapes the answer exactly as the instance would have.
 * - `log`: `{rc, log_multiline}`;
 * - `result`: `{rc, result}` with the values published under `resultKey`.
 */
export type AnswerShape = { kind: 'log' } | { kind: 'result'; resultKey: string };

/**
 * `{rc, result}` or `{rc, log_multiline}` from a finished run, per the shape.
 * A failed `result` run also carries the first failing log line (`error`) and the log's last ten
 * lines, which the deployer UI shows (an addition; the keys of the success answers are unchanged).
 * Every failed run carries `detail`: what happened in a person's words (failure.ts), the one
 * field the deployer UI reads of a non-2xx answer.
 */
export function shapeAnswer(shape: AnswerShape, run: RunResult): Record<string, unknown> {
  if (shape.kind === 'log') {
    const answer: Record<string, unknown> = { rc: run.rc, log_multiline: logLines(run.events) };
    if (run.rc !== 0) answer.detail = describeFailure(run).detail;
    return answer;
  }
  const answer: Record<string, unknown> = { rc: run.rc, result: extractResult(run.events, shape.resultKey) };
  if (run.rc !== 0) {
    const lines = logLines(run.events);
    answer.log_multiline = lines.slice(-10);
    // A stopped run's log ends with the engine's line saying why (canceled, timed out): that is its
    // error, not whatever Ansible was retrying when it was stopped.
    const stopped = run.status === 'canceled' || run.status === 'timeout';
    // So does a run whose playbook process was killed (its reason: the signal).
    const line = stopped || run.reason ? [...lines].reverse().find((l) => l.startsWith('ERROR!')) : lines.find((l) => FAILURE_LINE.test(l));
    answer.error = line?.trim() ?? (stopped ? `ERROR! the run was ${run.status === 'timeout' ? 'stopped: it timed out' : 'canceled'}` : `Ansible exited with rc=${run.rc}`);
    answer.detail = describeFailure(run).detail;
  }
  return answer;
}

/**
 * The HTTP status of a finished run's answer: 200, or 500 as the original answered every failed
 * run, except 409 when Proxmox refused because what is to be created already exists or the
 * guest is locked (failure.ts).
 */
export function answerStatus(run: RunResult): number {
  if (run.rc === 0) return 200;
  return describeFailure(run).conflict ? 409 : 500;
}
