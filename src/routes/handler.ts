import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Engine } from '../engine/engine.js';
import { extractResult, logLines } from '../engine/extract.js';
import type { RunResult } from '../engine/types.js';
import { DetailResponse, RunResponse, ValidationErrorResponse } from '../schemas/common.js';
import type { Body, RouteContext, RouteDef } from './types.js';

/** `{rc, result}` or `{rc, log_multiline}` from a finished run, per the route's output rule. */
export function shapeAnswer(def: RouteDef, body: Body, run: RunResult): Record<string, unknown> {
  const asJson = def.output !== 'log' && body.as_json !== false && body.as_json !== null;
  if (def.output !== 'log' && asJson) return { rc: run.rc, result: extractResult(run.events, def.output.resultKey) };
  return { rc: run.rc, log_multiline: logLines(run.events) };
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
        ...(def.body ? { body: def.body } : {}),
        response: {
          200: RunResponse,
          400: DetailResponse,
          422: ValidationErrorResponse,
          500: Type.Union([RunResponse, DetailResponse]),
          503: DetailResponse,
        },
      },
      handler: async (req, reply) => {
        const body = (req.body ?? {}) as Body;
        const spec = def.plan(body, deps.ctx);
        const run = await deps.engine.run(spec);
        return reply.code(run.rc === 0 ? 200 : 500).send(shapeAnswer(def, body, run));
      },
    });
  }
}
