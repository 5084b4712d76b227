/**
 * The domain's errors: every refusal the engine, the jobs and the Proxmox access make on purpose
 * is a DomainError with a stable `code`. Its message is the text the API has always shown for it;
 * what a code means on the wire (status, headers, the shape of `detail`) is decided in one place,
 * the HTTP error handler (src/http/errors.ts). Nothing here knows about HTTP.
 */
export type DomainErrorCode =
  /** A bundle, scenario, action or inventory name that is not a plain slash-separated name. */
  | 'NAME_REFUSED'
  /** A name that resolves outside its catalog directory (a symlink, ...). */
  | 'PATH_TRAVERSAL'
  /** The playbook (or the playbook directory, or one of the service's own playbooks) does not exist. */
  | 'PLAYBOOK_NOT_FOUND'
  | 'INVENTORY_NOT_FOUND'
  /** The configured inventory directory itself is missing: a broken installation, not a bad request. */
  | 'INVENTORY_DIR_NOT_FOUND'
  /** The run queue is full: come back later. */
  | 'QUEUE_FULL'
  /** The service is shutting down and accepts no new run. */
  | 'SHUTTING_DOWN'
  /** A VM the job would change is held by another job past the wait. */
  | 'VM_LOCKED'
  /** An Idempotency-Key already used with another request. */
  | 'IDEMPOTENCY_KEY_REUSED'
  /** A page cursor this service did not make. */
  | 'INVALID_CURSOR'
  /** A plan with no run in it (a bug of the route table). */
  | 'NOTHING_TO_RUN'
  /** The job store keeps refusing writes. */
  | 'JOB_STORE_UNAVAILABLE'
  /** The run queue (Redis, RUN_QUEUE=redis) cannot be reached. */
  | 'RUN_QUEUE_UNAVAILABLE'
  /** Canceling a job that is already over. */
  | 'JOB_FINISHED'
  /** Canceling a job another instance of the service runs. */
  | 'JOB_RUN_ELSEWHERE'
  /** The VM (or container) id is not on the node. */
  | 'VM_NOT_FOUND'
  /** The Proxmox API did not answer, or not usably. */
  | 'PROXMOX_UNAVAILABLE'
  /** The Proxmox credentials cannot be read from the inventory / vault file. */
  | 'PROXMOX_CREDENTIALS';

export class DomainError extends Error {
  constructor(readonly code: DomainErrorCode, message: string) {
    super(message);
    this.name = 'DomainError';
  }
}

/** The run queue is full: the caller should come back later. */
export class QueueFullError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('QUEUE_FULL', ':: err - RUN QUEUE FULL, retry later');
    this.name = 'QueueFullError';
  }
}

/** The engine (or the job manager) is shutting down and accepts no new run. */
export class EngineClosedError extends DomainError {
  readonly retryAfterSeconds = 5;
  constructor() {
    super('SHUTTING_DOWN', ':: err - SERVICE SHUTTING DOWN');
    this.name = 'EngineClosedError';
  }
}

/** The lock a request could not get in time: who holds it. */
export class LockConflictError extends DomainError {
  constructor(readonly target: { node: string; vmid: number }, readonly holder: string) {
    super('VM_LOCKED', `VM ${target.node}/${target.vmid} is locked by job ${holder}`);
    this.name = 'LockConflictError';
  }
}

/** Same Idempotency-Key, another request. */
export class IdempotencyMismatchError extends DomainError {
  constructor(readonly key: string) {
    super('IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key already used with a different request');
    this.name = 'IdempotencyMismatchError';
  }
}

/** A page cursor this service did not make. */
export class InvalidCursorError extends DomainError {
  constructor(readonly cursor: string) {
    super('INVALID_CURSOR', 'invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

/** The job store refused a new job (its retries used up). */
export class JobStoreUnavailableError extends DomainError {
  readonly retryAfterSeconds = 10;
  constructor(cause: string) {
    super('JOB_STORE_UNAVAILABLE', `:: err - JOB STORE UNAVAILABLE: ${cause}`);
    this.name = 'JobStoreUnavailableError';
  }
}

/** The run queue (Redis) cannot be reached: nothing was recorded, the caller may retry. */
export class RunQueueUnavailableError extends DomainError {
  readonly retryAfterSeconds = 5;
  constructor(cause: string) {
    super('RUN_QUEUE_UNAVAILABLE', `:: err - RUN QUEUE UNAVAILABLE: ${cause}`);
    this.name = 'RunQueueUnavailableError';
  }
}

/**
 * Python's repr() of a str, which the original API uses inside some messages
 * (e.g. `INVALID ACTION NAME FORMAT '<name>'`), so clients matching on them keep working.
 */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + quote;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else out += ch;
  }
  return quote + out + quote;
}
