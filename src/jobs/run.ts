import type { Run } from '../engine/engine.js';
import type { RunResult, RunSpec } from '../engine/types.js';
import { EngineClosedError } from '../errors.js';
import { answerStatus } from './answer.js';
import { nowIso, type Active, type Jobs, type Outcome } from './context.js';
import { push } from './event-log.js';
import { reduceEvent } from './events.js';
import { bestEffort, transition } from './lifecycle.js';
import type { JobRunInfo, JobStatus } from './types.js';

/**
 * Runs a job's plan, one engine run after the other, to its end; resolves with the synchronous
 * route's answer once the end is recorded (or kept in memory, see lifecycle.ts).
 */
export async function drive(
  j: Jobs, a: Active, steps: RunSpec[], first: Run, shape: (r: RunResult) => Record<string, unknown>,
  /** Called with the unredacted answer before the end is recorded (a worker leaves it for the waiting instance). */
  beforeEnd?: (answer: Record<string, unknown>) => Promise<void>,
): Promise<Outcome> {
  let last: RunResult | null = null;
  let status: JobStatus | null = null;
  let reason: string | null = null;
  for (let i = 0; i < steps.length; i++) {
    let run: Run;
    if (i === 0) run = first;
    else {
      if (a.cancelReason) {
        status = 'canceled';
        reason = a.cancelReason;
        break;
      }
      try {
        run = j.opts.engine.start(steps[i]!);
      } catch (err) {
        status = err instanceof EngineClosedError ? 'canceled' : 'failed';
        reason = `step ${i + 1} of ${steps.length} refused: ${(err as Error).message}`;
        break;
      }
    }
    if (steps.length > 1) push(j, a, { t: nowIso(), type: 'step', index: i + 1, of: steps.length, label: steps[i]!.label ?? null });
    last = await watchRun(j, a, run);
    if (last.rc !== 0) break;
  }
  if (!last) throw new Error('no run');
  if (status) {
    // Stopped between two runs: the answer says so the way a stopped run does.
    const text = `ERROR! ${reason}`;
    last = { ...last, rc: 254, status: status === 'canceled' ? 'canceled' : 'failed', events: [...last.events, { event: 'verbose', stdout: text }] };
    push(j, a, { t: nowIso(), type: 'message', level: 'error', text: a.redactor.text(text) });
  } else {
    status = last.status;
    if (status === 'canceled') reason = a.cancelReason ?? 'canceled (service shutting down)';
    else if (status === 'failed' && last.reason) reason = last.reason;
    else if (status === 'timeout') reason = `stopped after ${Math.round((steps[0]?.timeoutMs ?? j.opts.config.runner.timeoutMs) / 1000)} s (RUNNER_TIMEOUT)`;
  }
  const answer = shape(last);
  const http = answerStatus(last);
  await beforeEnd?.(answer);
  await transition(j, a, {
    status, rc: last.rc, started_at: a.record.started_at, finished_at: Date.now(), reason: reason ? a.redactor.text(reason) : null,
    answer: a.redactor.value(answer), http_status: http, runs: a.record.runs,
  });
  return { status: http, body: answer };
}

/** Follows one run of the job to its end. */
async function watchRun(j: Jobs, a: Active, run: Run): Promise<RunResult> {
  a.run = run;
  const info: JobRunInfo = { run_id: run.id, label: run.spec.label ?? null, pid: null, private_dir: null, rc: null, status: null };
  a.record.runs.push(info);
  const started = () => {
    if (a.record.status !== 'queued') return; // a later run of the plan
    transition(j, a, { status: 'running', started_at: Date.now() }).catch((err: unknown) => j.log.error({ err, job: a.record.id }, 'jobs: the start of a job was refused'));
  };
  const onEvent = (ev: Parameters<typeof reduceEvent>[0]) => {
    const e = reduceEvent(ev, { redactor: a.redactor, roots: j.roots });
    if (e) push(j, a, e);
  };
  let unwatch: (() => void) | undefined;
  const onSpawn = (s: { pid: number; privateDir: string }) => {
    // A worker's fence guard kills the run (its process group and tree) if the worker's lease runs out.
    unwatch = j.opts.fence?.watch(s.pid);
    info.pid = s.pid;
    info.private_dir = s.privateDir;
    // Written at once: it is what a restart needs to clean up after a crash.
    bestEffort(j, a, 'the run process', () => j.store.updateJob(a.record.id, { runs: a.record.runs }));
  };
  run.on('event', onEvent);
  run.on('spawn', onSpawn);
  run.once('started', started);
  if (run.state !== 'queued') started(); // it may have started inside Engine.start
  if (a.cancelReason) run.cancel('canceled');
  try {
    const result = await run.done;
    info.rc = result.rc;
    info.status = result.status;
    return result;
  } finally {
    run.off('event', onEvent);
    run.off('spawn', onSpawn);
    run.off('started', started);
    unwatch?.();
  }
}
