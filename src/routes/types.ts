import type { TSchema } from 'typebox';
import type { Config } from '../config/env.js';
import type { RunSpec } from '../engine/types.js';

export type Body = Record<string, unknown>;

/** What a route needs to turn a request into runs. */
export interface RouteContext {
  config: Readonly<Config>;
}

/**
 * One operation of the API, described as data. The generic handler validates the body against
 * `body`, asks `plan` for the run, runs it and shapes the answer:
 * - `output: 'log'`: always `{rc, log_multiline}`;
 * - `output: { resultKey }`: `{rc, result}` (values published under that key) when `as_json`
 *   (default true) is set, else `{rc, log_multiline}`.
 */
export interface RouteDef {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  body?: TSchema;
  output: 'log' | { resultKey: string };
  /** Checks and resolution happen here (ApiError on refusal), before anything runs. */
  plan(body: Body, ctx: RouteContext): RunSpec;
}
