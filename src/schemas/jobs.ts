import { Type, type Static } from 'typebox';
import { isFinal, JOB_STATUSES, type JobRecord, type JobStatus } from '../jobs/types.js';
import { NODE_PATTERN, Responses } from './common.js';
import { component } from './components.js';

/** What the API shows of a job, and the TypeBox schemas of the /v0/jobs routes. */

function iso(ms: number): string;
function iso(ms: number | null): string | null;
function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
export const jobHref = (id: string) => `/v0/jobs/${id}`;

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);
const StatusSchema = Type.Unsafe<JobStatus>({ type: 'string', enum: [...JOB_STATUSES], description: 'queued, running, then successful, failed, canceled, timeout or lost' });

const summaryProperties = {
  id: Type.String({ description: 'job id' }),
  status: StatusSchema,
  rc: Nullable(Type.Integer({ description: 'ansible-playbook exit code (254: canceled or timed out); null until finished, and for lost jobs' })),
  operation: Type.String({ description: 'operationId of the route' }),
  method: Type.String(),
  path: Type.String({ description: 'the request path as called' }),
  route: Type.String({ description: 'the route pattern' }),
  node: Nullable(Type.String({ description: 'Proxmox node of the request' })),
  targets: Type.Array(Type.Object({ node: Type.String(), vm_id: Type.Integer() }), { description: 'VMs the job changes (and locks while it runs)' }),
  async: Type.Boolean({ description: 'started with Prefer: respond-async' }),
  created_at: Type.String({ format: 'date-time' }),
  started_at: Nullable(Type.String({ format: 'date-time' })),
  finished_at: Nullable(Type.String({ format: 'date-time' })),
  queued_ms: Nullable(Type.Integer({ description: 'time spent waiting for a run slot' })),
  duration_ms: Nullable(Type.Integer({ description: 'run time, from start to end' })),
  reason: Nullable(Type.String({ description: 'why it was canceled, timed out or lost' })),
  http_status: Nullable(Type.Integer({ description: 'the status the synchronous route answers (200 or 500), once finished' })),
  idempotency_key: Nullable(Type.String()),
  request_id: Nullable(Type.String({ description: 'X-Request-Id of the request that started it' })),
  event_count: Type.Integer({ description: 'number of events so far (the last event id)' }),
  links: Type.Object({ self: Type.String(), events: Type.String(), cancel: Type.String() }),
};

export const JobSummarySchema = Type.Object(summaryProperties, { description: 'A job (without its request and answer)' });

export const JobSchema = Type.Object(
  {
    ...summaryProperties,
    request: Type.Object({ body: Type.Unknown(), params: Type.Record(Type.String(), Type.String()) }, { description: 'the validated request, secrets redacted' }),
    result: Type.Optional(Type.Array(Type.Unknown(), { description: 'as the synchronous route answers, once finished (redacted)' })),
    log_multiline: Type.Optional(Type.Array(Type.String(), { description: 'as the synchronous route answers, once finished (redacted)' })),
    error: Type.Optional(Type.String()),
  },
  { description: 'A job: status, timings, request and, once finished, the answer of the synchronous route' },
);

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobSummarySchema),
  total: Type.Integer({ description: 'jobs matching the filters' }),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as `cursor` for the next page; null on the last' }),
});

export const JobAcceptedSchema = Type.Object(
  {
    job_id: Type.String(),
    status: StatusSchema,
    href: Type.String({ description: 'the job (also in the Location header)' }),
    events: Type.String({ description: 'its event stream (SSE or WebSocket)' }),
    replayed: Type.Boolean({ description: 'true when an Idempotency-Key repeat returned the job of the first request' }),
  },
  { description: 'Accepted: the job runs in the background (Prefer: respond-async)' },
);

export const LockConflictSchema = Type.Object(
  { detail: Type.String(), job_id: Type.String({ description: 'the job holding the lock' }) },
  { description: 'A VM of the request is being changed by another job (after waiting JOBS_LOCK_WAIT)' },
);

const LockConflict = component('LockConflict', LockConflictSchema);

/** The job schemas several routes answer with, as components (see schemas/components.ts). */
export const JobComponents = {
  Job: component('Job', JobSchema),
  Accepted: component('JobAccepted', JobAcceptedSchema),
  LockConflict,
  /**
   * The 409 of a playbook route: a VM of the request held by another job (nothing ran), or the run
   * failed because Proxmox refused: what it would create already exists, or the guest is locked.
   */
  Conflict: component('ConflictResponse', Type.Union([LockConflict.ref, Responses.Run.ref, Responses.Detail.ref], {
    description: 'A VM is held by another job (LockConflict); Proxmox refused: it exists already, or the guest is locked (the run\'s envelope); or the plan found it exists with other settings (detail)',
  })),
} as const;

const statusList = `^(${JOB_STATUSES.join('|')})(,(${JOB_STATUSES.join('|')}))*$`;
export const JobListQuery = Type.Object({
  status: Type.Optional(Type.String({ pattern: statusList, description: 'one status or several, comma-separated' })),
  operation: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{0,100}$', description: 'operationId' })),
  node: Type.Optional(Type.String({ pattern: NODE_PATTERN, maxLength: 100, description: 'jobs on this node (request node or a VM target)' })),
  vm_id: Type.Optional(Type.Integer({ minimum: 0, description: 'jobs that change this VM' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
});

export const JobIdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$', description: 'job id' }) });

export const EventsQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'replay the events after this one (Last-Event-ID wins when both are given)' })),
});

function links(id: string) {
  return { self: jobHref(id), events: `${jobHref(id)}/events`, cancel: `${jobHref(id)}/cancel` };
}

export type JobSummary = Static<typeof JobSummarySchema>;
export type JobDetail = Static<typeof JobSchema>;

export function jobSummary(j: JobRecord): JobSummary {
  return {
    id: j.id,
    status: j.status,
    rc: j.rc,
    operation: j.operation,
    method: j.method,
    path: j.path,
    route: j.route,
    node: j.node,
    targets: j.targets.map((t) => ({ node: t.node, vm_id: t.vmid })),
    async: j.async,
    created_at: iso(j.created_at),
    started_at: iso(j.started_at),
    finished_at: iso(j.finished_at),
    queued_ms: j.started_at === null ? null : j.started_at - j.created_at,
    duration_ms: j.started_at === null || j.finished_at === null ? null : j.finished_at - j.started_at,
    reason: j.reason,
    http_status: j.http_status,
    idempotency_key: j.idempotency_key,
    request_id: j.request_id,
    event_count: j.event_count,
    links: links(j.id),
  };
}

export function jobDetail(j: JobRecord): JobDetail {
  const out: JobDetail = { ...jobSummary(j), request: j.request };
  if (isFinal(j.status) && j.answer) {
    // The synchronous route's answer, as its own schema has it.
    const answer = j.answer as Pick<JobDetail, 'result' | 'log_multiline' | 'error'>;
    if ('result' in answer) out.result = answer.result;
    if ('log_multiline' in answer) out.log_multiline = answer.log_multiline;
    if ('error' in answer) out.error = answer.error;
  }
  return out;
}

export function accepted(j: JobRecord, replayed: boolean): Record<string, unknown> {
  return { job_id: j.id, status: j.status, href: jobHref(j.id), events: `${jobHref(j.id)}/events`, replayed };
}
