import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { WebSocket } from 'ws';
import { ApiError } from '../http/api-error.js';
import type { JobManager } from '../jobs/manager.js';
import { isFinal, type JobEvent, type JobStatus } from '../jobs/types.js';
import { Responses } from '../schemas/common.js';
import { EventsQuery, JobComponents, JobIdParams, JobListQuery, JobListSchema, jobDetail, jobSummary } from '../schemas/jobs.js';
import { keepAlive } from '../ws/keep-alive.js';

const TAGS = ['jobs'];
/** A stream whose unsent data passes this is too slow: it is closed (it can resume later). */
const MAX_BUFFERED = 8 * 1024 * 1024;
const CLOSE_NOT_FOUND = 4404;
const CLOSE_TOO_SLOW = 1013;

export interface JobRoutesOptions {
  heartbeatMs: number;
}

const notFound = () => new ApiError(404, ':: err - JOB NOT FOUND');

/** A request of the events route, its params and query typed by their schemas. */
type EventsRequest = Pick<FastifyRequest, 'headers' | 'id' | 'log' | 'raw'> & { params: Static<typeof JobIdParams>; query: Static<typeof EventsQuery> };

/** Where a stream resumes: Last-Event-ID (what EventSource sends on reconnect) wins over ?after. */
function resumePoint(req: EventsRequest): number {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && /^\d{1,15}$/.test(header.trim())) return Number(header.trim());
  return req.query.after ?? 0;
}

const sseEvent = (e: JobEvent) => `id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`;
const heartbeat = () => JSON.stringify({ type: 'heartbeat', t: new Date().toISOString() });

/**
 * `/v0/jobs`: history (filters, keyset pagination), one job, cancel, and its event stream — as
 * Server-Sent Events, or over WebSocket on the same URL. Streams replay what the client missed
 * (Last-Event-ID or ?after=N), follow live, send a heartbeat, and end after the job's `end` event.
 */
/** Every job route reads the job store: a shared store that is down answers 503 + Retry-After
 * (JOB STORE UNAVAILABLE; the run queue's for a cancel that cannot reach it). */
const STORE_UNAVAILABLE = { 503: Responses.Detail.ref } as const;

export function registerJobRoutes(root: FastifyInstance, jobs: JobManager, opts: JobRoutesOptions): { closeStreams(): void } {
  // Handlers typed by their schemas (the validator stays the app's, http/validation.ts).
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const streams = new Set<() => void>();

  app.get('/v0/jobs', {
    schema: {
      operationId: 'list_jobs', tags: TAGS, summary: 'List jobs, newest first',
      description: 'Every playbook run of the API is a job, synchronous or not. Filters combine; pages are keyset-paginated (`next_cursor`).',
      querystring: JobListQuery,
      response: { 200: JobListSchema, 422: Responses.ValidationError.ref, ...STORE_UNAVAILABLE },
    },
  }, async (req) => {
    const q = req.query;
    // A cursor this service did not make is an InvalidCursorError: the error handler answers 422.
    const page = await jobs.list({
      status: q.status ? (q.status.split(',') as JobStatus[]) : undefined,
      operation: q.operation,
      node: q.node,
      vmid: q.vm_id,
      limit: q.limit ?? 50,
      cursor: q.cursor ?? null,
    });
    return { jobs: page.jobs.map(jobSummary), total: page.total, next_cursor: page.next_cursor };
  });

  app.get('/v0/jobs/:id', {
    schema: {
      operationId: 'get_job', tags: TAGS, summary: 'Read a job',
      description: 'Status, rc, timings, the request (secrets redacted) and, once finished, the `result` / `log_multiline` the synchronous route answers.',
      params: JobIdParams,
      response: { 200: JobComponents.Job.ref, 404: Responses.Detail.ref, 422: Responses.ValidationError.ref, ...STORE_UNAVAILABLE },
    },
  }, async (req) => {
    const job = await jobs.get(req.params.id);
    if (!job) throw notFound();
    return jobDetail(job);
  });

  app.post('/v0/jobs/:id/cancel', {
    schema: {
      operationId: 'cancel_job', tags: TAGS, summary: 'Cancel a job',
      description: 'A queued job never starts; a running one is stopped (SIGTERM, then its whole process tree is killed after RUNNER_CANCEL_GRACE). Answers once it is over, with the job (status canceled). 409 when it had already finished.',
      params: JobIdParams,
      response: { 200: JobComponents.Job.ref, 404: Responses.Detail.ref, 409: Responses.Detail.ref, 422: Responses.ValidationError.ref, ...STORE_UNAVAILABLE },
    },
  }, async (req) => {
    const job = await jobs.cancel(req.params.id);
    if (!job) throw notFound();
    return jobDetail(job);
  });

  app.route({
    method: 'GET',
    url: '/v0/jobs/:id/events',
    schema: {
      operationId: 'job_events', tags: TAGS, summary: 'Follow the events of a job (SSE or WebSocket)',
      description:
        'Server-Sent Events: each event has its number as `id` and JSON as `data` ({seq, t, type, …}: status, step, playbook_start, play_start, ' +
        'task_start, task_ok, task_failed, task_skipped, host_unreachable, item_failed, no_hosts, stats, message, end). ' +
        'Resume with the standard `Last-Event-ID` header (or `?after=N`): missed events are replayed, then the stream follows live. ' +
        'A `heartbeat` event (no id) comes every JOBS_HEARTBEAT_INTERVAL. The stream ends after the `end` event; a finished job with ' +
        'nothing left to replay answers 204 (which tells EventSource to stop reconnecting). ' +
        'The same URL upgraded to a WebSocket sends the same JSON events as text messages (resume with `?after=N`), ' +
        '`{"type":"heartbeat"}` messages, and closes with 1000 after `end` (4404: unknown job).',
      params: JobIdParams,
      querystring: EventsQuery,
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ description: 'resume after this event' })) }),
      response: {
        200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: Type.String() } } },
        204: { description: 'the job is over and there is nothing after Last-Event-ID', type: 'null' },
        404: Responses.Detail.ref,
        422: Responses.ValidationError.ref,
        ...STORE_UNAVAILABLE,
      },
    },
    handler: async (req, reply) => sse(req, reply),
    wsHandler: (socket, req) => {
      websocket(socket, req).catch((err: unknown) => {
        req.log.error({ err }, 'jobs: event stream failed');
        socket.close(1011, 'internal error');
      });
    },
  });

  async function sse(req: EventsRequest, reply: FastifyReply) {
    const id = req.params.id;
    const after = resumePoint(req);
    const job = await jobs.get(id);
    if (!job) throw notFound();
    if (isFinal(job.status) && after >= job.event_count) return reply.code(204).send();

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': req.id,
      'x-content-type-options': 'nosniff',
    });
    raw.write('retry: 2000\n\n');
    let done = false;
    let stop: (() => void) | null = null;
    const close = () => {
      if (done) return;
      done = true;
      clearInterval(beat);
      stop?.();
      streams.delete(close);
      raw.end();
    };
    const write = (text: string) => {
      if (done) return;
      raw.write(text);
      if (raw.writableLength > MAX_BUFFERED) {
        req.log.warn({ job: id }, 'jobs: event stream client too slow, closed');
        close();
      }
    };
    const beat = setInterval(() => write(`event: heartbeat\ndata: ${heartbeat()}\n\n`), opts.heartbeatMs);
    beat.unref();
    streams.add(close);
    req.raw.on('close', close);
    raw.on('close', close);
    try {
      stop = await jobs.follow(id, after, { event: (e) => write(sseEvent(e)), end: close });
    } catch (err) {
      req.log.error({ err, job: id }, 'jobs: event stream failed');
      close();
    }
    if (done) stop?.();
  }

  async function websocket(socket: WebSocket, req: EventsRequest) {
    const id = req.params.id;
    let done = false;
    let stop: (() => void) | null = null;
    const close = (code = 1000, reason = 'job finished') => {
      if (done) return;
      done = true;
      stopBeat();
      stop?.();
      streams.delete(closeAll);
      socket.close(code, reason);
    };
    const closeAll = () => close(1001, 'server shutting down');
    const send = (text: string) => {
      if (done || socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > MAX_BUFFERED) return close(CLOSE_TOO_SLOW, 'client too slow');
      socket.send(text);
    };
    const stopBeat = keepAlive(socket, opts.heartbeatMs, () => send(heartbeat()));
    socket.on('close', () => close());
    streams.add(closeAll);
    stop = await jobs.follow(id, resumePoint(req), { event: (e) => send(JSON.stringify(e)), end: () => close() });
    if (stop === null) close(CLOSE_NOT_FOUND, 'job not found');
    else if (done) stop();
  }

  /** The shutdown step once the jobs are over: streams still open end (close 1001 for sockets). */
  return {
    closeStreams: () => {
      for (const close of [...streams]) close();
    },
  };
}
