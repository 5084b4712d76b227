import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { RunSpec } from '../engine/types.js';
import { ApiError } from '../http/api-error.js';
import type { AnswerShape } from '../jobs/answer.js';
import type { JobManager } from '../jobs/manager.js';
import { Responses } from '../schemas/common.js';
import { accepted, JobComponents, jobHref } from '../schemas/jobs.js';
import { assertNoServiceOverride, refuseSafetySwitches } from './service-vars.js';
import type { Body, RouteContext, RouteDef } from './types.js';

/** The route's output rule and the body's `as_json`, as the data that says how its answer is shaped. */
function answerShape(def: RouteDef, body: Body, steps: RunSpec[] = []): AnswerShape {
  const asJson = def.output !== 'log' && body.as_json !== false && body.as_json !== null;
  if (def.output === 'log' || !asJson) return { kind: 'log' };
  return { kind: 'result', resultKey: steps.at(-1)?.resultKey ?? def.output.resultKey };
}

/** For the wildcard variants of the generic runners: `<name>/run` → name. */
function paramsOf(def: RouteDef, raw: Record<string, string>): Record<string, string> | null {
  if (!('*' in raw)) return raw;
  const tail = raw['*'] ?? '';
  if (!tail.endsWith('/run')) return null;
  const name = tail.slice(0, -'/run'.length);
  const param = def.url.includes('/scenarios/') ? 'scenario_name' : 'bundles_name';
  return { [param]: name };
}

/** RFC 7240 `Prefer`: `respond-async`, and `wait=N` (seconds the client is willing to wait). */
export function parsePrefer(header: string | string[] | undefined): { respondAsync: boolean; waitS: number | null } {
  let respondAsync = false;
  let waitS: number | null = null;
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const pref of text.split(',')) {
    const [token = '', value] = (pref.split(';')[0] ?? '').split('=').map((x) => x.trim().toLowerCase());
    if (token === 'respond-async') respondAsync = true;
    else if (token === 'wait' && value && /^\d{1,9}$/.test(value.replace(/"/g, ''))) waitS = Number(value.replace(/"/g, ''));
  }
  return { respondAsync, waitS };
}

/** The request headers of every playbook route (documented; both optional). */
const JobHeaders = Type.Object({
  prefer: Type.Optional(Type.String({ description: 'RFC 7240: `respond-async` answers 202 at once with the job; `wait=N` caps the wait for a locked VM' })),
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$', description: 'a repeat with the same key and body within 24 h returns the first job instead of starting another' }),
  ),
});

export interface HandlerDeps {
  ctx: RouteContext;
  jobs: JobManager;
  /** JOBS_LOCK_WAIT: how long a request waits for a VM another job holds. */
  lockWaitMs: number;
}

/**
 * Registers every route of the table on one generic handler. Each request that runs a playbook is
 * a job (src/jobs): synchronous by default (the answer is the run's, as always), or answered 202
 * at once with `Prefer: respond-async`.
 */
export function registerRoutes(app: FastifyInstance, table: readonly RouteDef[], deps: HandlerDeps): void {
  for (const def of table) {
    app.route({
      method: def.method,
      url: def.url,
      schema: {
        operationId: def.operationId,
        tags: def.tags,
        summary: def.summary,
        description: def.description,
        ...(def.hidden ? { hide: true } : {}),
        ...(def.body ? { body: def.body } : {}),
        ...(def.params ? { params: def.params } : {}),
        ...(def.respond ? {} : { headers: JobHeaders }),
        response: {
          200: def.respond ? Type.Null() : Responses.Run.ref,
          ...(def.respond ? {} : { 202: JobComponents.Accepted.ref }),
          400: Responses.Detail.ref,
          404: Responses.Detail.ref,
          ...(def.respond ? {} : { 409: JobComponents.Conflict.ref }),
          422: Responses.ValidationError.ref,
          500: Responses.RunFailure.ref,
          502: Responses.Detail.ref,
          503: Responses.Detail.ref,
        },
      },
      preValidation: async (req) => {
        if (paramsOf(def, req.params as Record<string, string>) === null) throw new ApiError(404, 'Not Found');
        refuseSafetySwitches(req.body);
        const aliases = def.aliases;
        const body = req.body as Body | undefined;
        if (aliases && body && typeof body === 'object' && !Array.isArray(body)) {
          for (const [from, to] of Object.entries(aliases)) {
            if (from in body && !(to in body)) body[to] = body[from];
          }
        }
      },
      handler: async (req, reply) => {
        const body = (req.body ?? {}) as Body;
        if (def.respond) return reply.code(200).send(await def.respond(body, deps.ctx));
        const params = paramsOf(def, req.params as Record<string, string>) ?? {};
        const prefer = parsePrefer(req.headers.prefer);
        const key = req.headers['idempotency-key'];
        // A refusal (VM locked, queue full, ...) is a DomainError: the error handler answers it.
        const submission = await deps.jobs.submit({
          operation: def.operationId,
          method: def.method,
          route: def.url,
          locks: def.locks,
          body,
          params,
          path: req.url.split('?')[0] ?? req.url,
          async: prefer.respondAsync,
          idempotencyKey: typeof key === 'string' ? key : null,
          lockWaitMs: prefer.waitS === null ? deps.lockWaitMs : Math.min(deps.lockWaitMs, prefer.waitS * 1000),
          requestId: req.id,
          plan: async (): Promise<RunSpec[]> => {
            const planned = await def.plan(body, deps.ctx, params);
            const runs = Array.isArray(planned) ? planned : [planned];
            for (const run of runs) assertNoServiceOverride(run, deps.ctx);
            return runs;
          },
          answer: answerShape(def, body),
          answerFor: (steps) => answerShape(def, body, steps),
        });
        const { job, replayed } = submission;
        reply.header('x-job-id', job.id);
        if (replayed) reply.header('idempotent-replayed', 'true');
        if (prefer.respondAsync) {
          const current = (await deps.jobs.get(job.id)) ?? job;
          return reply.code(202).header('location', jobHref(job.id)).header('preference-applied', 'respond-async').send(accepted(current, replayed));
        }
        const outcome = await submission.outcome();
        return reply.code(outcome.status).send(outcome.body);
      },
    });
  }
}
