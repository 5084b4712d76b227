import { describe, expect, it } from 'vitest';
import {
  DomainError, EngineClosedError, IdempotencyMismatchError, InvalidCursorError, JobStoreUnavailableError, LockConflictError, QueueFullError,
  type DomainErrorCode,
} from '../../src/errors.js';
import { toHttpRefusal } from '../../src/http/errors.js';

/** The one mapping of the domain's refusals to the wire: status, headers, detail (the original API's texts). */
describe('domain errors on the wire', () => {
  it('refusals that pass carry Retry-After', () => {
    expect(toHttpRefusal(new QueueFullError(7))).toEqual({ status: 503, detail: ':: err - RUN QUEUE FULL, retry later', headers: { 'retry-after': '7' }, extra: {} });
    expect(toHttpRefusal(new EngineClosedError())).toEqual({ status: 503, detail: ':: err - SERVICE SHUTTING DOWN', headers: { 'retry-after': '5' }, extra: {} });
    expect(toHttpRefusal(new JobStoreUnavailableError('disk full'))).toEqual({ status: 503, detail: ':: err - JOB STORE UNAVAILABLE: disk full', headers: { 'retry-after': '10' }, extra: {} });
  });

  it('a locked VM is a 409 naming the holder, in the detail and as job_id', () => {
    expect(toHttpRefusal(new LockConflictError({ node: 'px-testing', vmid: 1020 }, 'job-1'))).toEqual({
      status: 409, detail: ':: err - VM LOCKED : px-testing/1020 is being changed by job job-1', headers: {}, extra: { job_id: 'job-1' },
    });
  });

  it('a reused Idempotency-Key and a foreign cursor are 422s in the validation format', () => {
    expect(toHttpRefusal(new IdempotencyMismatchError('k1'))).toMatchObject({
      status: 422, detail: [{ field: 'header.idempotency-key', msg: 'Idempotency-Key already used with a different request', type: 'idempotency_key_reused', input: 'k1', ctx: null }],
    });
    expect(toHttpRefusal(new InvalidCursorError('garbage!'))).toMatchObject({
      status: 422, detail: [{ field: 'query.cursor', msg: 'Invalid cursor', type: 'value_error', input: 'garbage!', ctx: null }],
    });
  });

  it.each<[DomainErrorCode, number]>([
    ['NAME_REFUSED', 400], ['PATH_TRAVERSAL', 400], ['PLAYBOOK_NOT_FOUND', 400], ['INVENTORY_NOT_FOUND', 400], ['INVENTORY_DIR_NOT_FOUND', 500],
    ['NOTHING_TO_RUN', 500], ['JOB_FINISHED', 409], ['JOB_RUN_ELSEWHERE', 409], ['VM_NOT_FOUND', 404], ['PROXMOX_UNAVAILABLE', 502], ['PROXMOX_CREDENTIALS', 500],
  ])('%s answers %i with the message as detail', (code, status) => {
    expect(toHttpRefusal(new DomainError(code, ':: err - some text'))).toEqual({ status, detail: ':: err - some text', headers: {}, extra: {} });
  });
});
