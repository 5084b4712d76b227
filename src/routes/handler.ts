import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Engine } from '../engine/engine.js';
import { extractResult, logLines } from '../engine/extract.js';
import type { RunResult, RunSpec } from '../engine/types.js';
import { ApiError } from '../errors.js';
import { DetailResponse, RunResponse, ValidationErrorResponse } from '../schemas/common.js';
import type { Body, RouteContext, RouteDef } from './types.js';

const FAILURE_LINE = /fatal:|FAILED/;

/**
 * `{rc, result}` or `{rc, log_multiline}` from a finished run, per the route's output rule.
 * A failed as_json run also carries the first failing log line (`error`) and the log's last ten
 * lines, which the deployer UI shows (an addition; the keys of the success answers are unchanged).
 */
export function shapeAnswer(def: RouteDef, body: Body, run: RunResult): Record<string, unknown> {
  const asJson = def.output !== 'log' && body.as_json !== false && body.as_json !== null;
  if (def.output === 'log' || !asJson) return { rc: run.rc, log_multiline: logLines(run.events) };
  const answer: Record<string, unknown> = { rc: run.rc, result: extractResult(run.events, def.output.resultKey) };
  if (run.rc !== 0) {
    const lines = logLines(run.events);
    answer.log_multiline = lines.slice(-10);
    answer.error = lines.find((l) => FAILURE_LINE.test(l))?.trim() ?? `Ansible exited with rc=${run.rc}`;
  }
  return answer;
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

/** Runs the plan's steps in order; stops at the first non-zero rc. */
async function execute(engine: Engine, steps: RunSpec[]): Promise<RunResult> {
  let last: RunResult | null = null;
  for (const step of steps) {
    last = await engine.run(step);
    if (last.rc !== 0) break;
  }
  if (!last) throw new ApiError(500, ':: err - nothing to run');
  return last;
}

/** Registers every route of the table on one generic handler. */
export function registerRoutes(app: FastifyInstance, table: readonly RouteDef[], deps: { engine: Engine; ctx: RouteContext }): void {
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
        response: {
          200: def.respond ? Type.Null() : RunResponse,
          400: DetailResponse,
          404: DetailResponse,
          422: ValidationErrorResponse,
          500: Type.Union([RunResponse, DetailResponse]),
          502: DetailResponse,
          503: DetailResponse,
        },
      },
      preValidation: async (req) => {
        if (paramsOf(def, req.params as Record<string, string>) === null) throw new ApiError(404, 'Not Found');
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
        const planned = await def.plan(body, deps.ctx, params);
        const run = await execute(deps.engine, Array.isArray(planned) ? planned : [planned]);
        return reply.code(run.rc === 0 ? 200 : 500).send(shapeAnswer(def, body, run));
      },
    });
  }
}
