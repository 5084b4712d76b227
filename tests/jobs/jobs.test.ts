import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesOfRun } from '../../src/jobs/owner.js';
import { waitFor } from '../helpers.js';
import { readSse, startJobsStack, type JobsStack } from './stack.js';

/**
 * Jobs through real runs: the repository's playbooks and Proxmox role, ansible-runner, against
 * the simulator. Async start and polling, the SSE and WebSocket streams (with a forced disconnect
 * and resume), cancel, per-VM locks, Idempotency-Key, redaction.
 */

const VMS = '/v0/admin/proxmox/vms';
const ASYNC = { prefer: 'respond-async' };
let s: JobsStack;

beforeAll(async () => {
  s = await startJobsStack();
});
afterAll(async () => s?.close());

/** A job that runs for a while: a VM power action whose Proxmox task takes `ms`. */
async function slowJob(url: string, body: unknown, ms: number, headers: Record<string, string> = ASYNC) {
  s.sim.setTaskDuration(ms);
  const r = await s.call('POST', url, body, headers);
  expect(r.status, r.text).toBe(202);
  return r.body.job_id as string;
}

const runIds = async (id: string) => ((await s.app.jobs.get(id))?.runs ?? []).map((r) => r.run_id);

describe('asynchronous runs', () => {
  it('Prefer: respond-async answers 202 at once with Location; polling reaches the answer the synchronous route gives', async () => {
    const body = { proxmox_node: 'px-testing' };
    const started = Date.now();
    const a = await s.call('POST', `${VMS}/list`, body, { prefer: 'respond-async, wait=5' });
    const answeredIn = Date.now() - started;
    expect(a.status).toBe(202);
    expect(a.headers.get('location')).toBe(`/v0/jobs/${a.body.job_id}`);
    expect(a.headers.get('preference-applied')).toBe('respond-async');
    expect(a.body).toMatchObject({ href: `/v0/jobs/${a.body.job_id}`, events: `/v0/jobs/${a.body.job_id}/events`, replayed: false });
    expect(['queued', 'running']).toContain(a.body.status);
    expect(answeredIn).toBeLessThan(1000); // a run takes more than a second: 202 came before it ended

    const job = await s.settle(a.body.job_id);
    expect(job).toMatchObject({ status: 'successful', rc: 0, http_status: 200, operation: 'vm_list', method: 'POST', path: `${VMS}/list`, async: true, node: 'px-testing' });
    expect(job.duration_ms).toBeGreaterThan(0);
    expect(Date.parse(job.finished_at)).toBeGreaterThanOrEqual(Date.parse(job.started_at));
    expect(job.request.body).toMatchObject(body);

    // The synchronous route: same answer, byte for byte what it always was, and a job in history too.
    const sync = await s.call('POST', `${VMS}/list`, body);
    expect(sync.status).toBe(200);
    expect(Object.keys(sync.body)).toEqual(['rc', 'result']);
    expect(job.result.map((v: any) => v.vm_id)).toEqual(sync.body.result.map((v: any) => v.vm_id));
    const syncJob = (await s.call('GET', `/v0/jobs/${sync.headers.get('x-job-id')}`)).body;
    expect(syncJob).toMatchObject({ status: 'successful', async: false, rc: 0 });
    expect(syncJob.result).toEqual(sync.body.result);
  });

  it('a failed run is a failed job with the same 500 answer and the log', async () => {
    const a = await s.call('POST', `${VMS}/vm_id/start`, { proxmox_node: 'px-testing', vm_id: '1000' }, ASYNC); // already running
    const job = await s.settle(a.body.job_id);
    expect(job).toMatchObject({ status: 'failed', http_status: 500, targets: [{ node: 'px-testing', vm_id: 1000 }] });
    expect(job.rc).not.toBe(0);
    expect(job.error).toContain('already running');
  });

  it('unknown jobs are 404, bad ids and filters 422', async () => {
    expect((await s.call('GET', '/v0/jobs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await s.call('GET', '/v0/jobs/not$an$id')).status).toBe(422);
    expect((await s.call('GET', '/v0/jobs?status=sleeping')).status).toBe(422);
    expect((await s.call('GET', '/v0/jobs?cursor=bm9wZQ')).status).toBe(422);
    expect((await s.call('POST', '/v0/jobs/00000000-0000-0000-0000-000000000000/cancel')).status).toBe(404);
  });
});

describe('event stream', () => {
  it('SSE from the start; a forced disconnect then Last-Event-ID resumes with no event lost or repeated; WebSocket sees the same', async () => {
    const id = await slowJob(`${VMS}/vm_id/stop`, { proxmox_node: 'px-testing', vm_id: '4000' }, 2500);
    const url = `${s.base}/v0/jobs/${id}/events`;

    // A WebSocket follower on the same URL, from the start.
    const wsMessages: any[] = [];
    const ws = new WebSocket(url.replace(/^http/, 'ws'));
    const wsClosed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('message', (m) => wsMessages.push(JSON.parse(String(m))));

    // First SSE connection: dropped by the client after the fifth event.
    const first = await readSse(url, { stopAfter: (_m, all) => all.filter((x) => x.event === 'message').length >= 5 });
    expect(first.status).toBe(200);
    expect(first.ended, first.raw).toBe('client');
    const firstEvents = first.messages.filter((m) => m.event === 'message');
    expect((await s.app.jobs.get(id))!.status).toBe('running'); // still running: the rest must come live
    const last = firstEvents[firstEvents.length - 1]!.id!;

    const second = await readSse(url, { lastEventId: last });
    expect(second.ended).toBe('server');
    const secondEvents = second.messages.filter((m) => m.event === 'message');
    const all = [...firstEvents, ...secondEvents];
    const seqs = all.map((m) => Number(m.id));
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1)); // 1..N, nothing lost, nothing twice
    expect(all.map((m) => m.data.seq)).toEqual(seqs);
    const types = all.map((m) => m.data.type);
    expect(types[0]).toBe('status');
    expect(types[types.length - 1]).toBe('end');
    expect(all[all.length - 1]!.data).toMatchObject({ type: 'end', status: 'successful', rc: 0 });
    for (const t of ['playbook_start', 'play_start', 'task_start', 'task_ok', 'stats']) expect(types).toContain(t);
    const ok = all.find((m) => m.data.type === 'task_ok' && m.data.host)!.data;
    expect(ok).toMatchObject({ host: 'px-testing', changed: expect.any(Boolean), duration: expect.any(Number), task: expect.any(String) });
    expect(Date.parse(ok.t)).not.toBeNaN();
    // Waiting on a 2.5 s Proxmox task at 0.5 s heartbeats: the stream carried heartbeats (no id).
    expect([...first.messages, ...second.messages].some((m) => m.event === 'heartbeat' && m.id === null)).toBe(true);

    expect(await wsClosed).toBe(1000);
    expect(wsMessages.filter((m) => m.type !== 'heartbeat')).toEqual(all.map((m) => m.data));

    // Finished: a new stream replays everything and ends; after the last event, 204 (EventSource stops).
    const replay = await readSse(url);
    expect(replay.messages.filter((m) => m.event === 'message').map((m) => m.data)).toEqual(all.map((m) => m.data));
    const tail = await readSse(`${url}?after=3`);
    expect(tail.messages.map((m) => Number(m.id))).toEqual(seqs.slice(3));
    expect((await readSse(url, { lastEventId: String(seqs.length) })).status).toBe(204);
    // Same over WebSocket: ?after=N replays the rest and closes with 1000.
    const wsTail: any[] = [];
    const ws2 = new WebSocket(`${url.replace(/^http/, 'ws')}?after=${seqs.length - 2}`);
    ws2.on('message', (m) => wsTail.push(JSON.parse(String(m))));
    expect(await new Promise((resolve) => ws2.on('close', resolve))).toBe(1000);
    expect(wsTail.map((m) => m.seq)).toEqual(seqs.slice(-2));
    const ws3 = new WebSocket(`${s.base.replace(/^http/, 'ws')}/v0/jobs/00000000-0000-0000-0000-000000000000/events`);
    expect(await new Promise((resolve) => ws3.on('close', resolve))).toBe(4404);
    expect((await s.call('GET', `/v0/jobs/${id}`)).body.event_count).toBe(seqs.length);
  });
});

describe('cancel', () => {
  it('cancels a running job: its whole process tree is gone, status canceled, the VM lock released', async () => {
    const id = await slowJob(`${VMS}/vm_id/start`, { proxmox_node: 'px-testing', vm_id: '4001' }, 60_000);
    await waitFor(() => s.app.jobs.locks.holderOf({ node: 'px-testing', vmid: 4001 }) === id);
    let runs: string[] = [];
    await waitFor(() => {
      void runIds(id).then((r) => (runs = r));
      return runs.length > 0 && processesOfRun(runs[0]!).length >= 2; // ansible-runner and ansible-playbook
    }, 30_000);
    // Let it reach the wait on its Proxmox task.
    await waitFor(() => s.sim.tasks.list('px-testing').some((t) => t.id === '4001' && t.status === 'running'), 30_000);

    const started = Date.now();
    const c = await s.call('POST', `/v0/jobs/${id}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'canceled', rc: 254, reason: 'canceled by request', http_status: 500 });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(processesOfRun(runs[0]!)).toEqual([]);
    expect(s.app.jobs.locks.holderOf({ node: 'px-testing', vmid: 4001 })).toBeNull();
    const events = (await readSse(`${s.base}/v0/jobs/${id}/events`)).messages.filter((m) => m.event === 'message');
    expect(events[events.length - 1]!.data).toMatchObject({ type: 'end', status: 'canceled', rc: 254 });
    expect((await s.call('POST', `/v0/jobs/${id}/cancel`)).status).toBe(409); // already over
    s.sim.setTaskDuration(0);
  });
});

describe('per-VM locks', () => {
  it('two operations on one VM never run together: the second waits, or gets 409 with the holder; reads are not held up', async () => {
    const vm = { proxmox_node: 'px-testing', vm_id: '1020' };
    const holder = await slowJob(`${VMS}/vm_id/pause`, vm, 6000);
    await waitFor(() => s.app.jobs.locks.holderOf({ node: 'px-testing', vmid: 1020 }) === holder);

    // A read of the same VM takes no lock: it runs and ends while the holder still runs.
    const read = await s.call('POST', `${VMS}/vm_id/config/vm_get_config`, vm);
    expect(read.status).toBe(200);
    expect((await s.app.jobs.get(holder))!.status).toBe('running');

    // Prefer wait=1 caps the wait for the lock at one second: 409 naming the holder, nothing started.
    const startedRuns = s.app.engine.stats.started;
    const refused = await s.call('POST', `${VMS}/vm_id/stop`, vm, { prefer: 'wait=1' });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ detail: expect.stringContaining(`px-testing/1020 is being changed by job ${holder}`), job_id: holder });
    // A mass operation touching the same VM too.
    const mass = await s.call('POST', `${VMS}/vm_ids/stop`, { proxmox_node: 'px-testing', vm_ids: ['1021', '1020'] }, { prefer: 'respond-async, wait=0' });
    expect([mass.status, mass.body.job_id]).toEqual([409, holder]);
    expect(s.app.engine.stats.started).toBe(startedRuns);
    expect(s.app.jobs.locks.holderOf({ node: 'px-testing', vmid: 1021 })).toBeNull(); // gave back what it took
    s.sim.setTaskDuration(0); // the holder's task keeps its 6 s

    // Without a cap, the second waits for the first and then runs (resume after pause).
    const waited = await s.call('POST', `${VMS}/vm_id/resume`, vm);
    expect(waited.status, waited.text).toBe(200);
    const first = (await s.call('GET', `/v0/jobs/${holder}`)).body;
    const second = (await s.call('GET', `/v0/jobs/${waited.headers.get('x-job-id')}`)).body;
    expect(first.status).toBe('successful');
    expect(Date.parse(second.started_at)).toBeGreaterThanOrEqual(Date.parse(first.finished_at));
    expect(s.sim.cluster.guest(1020)!.qmpstatus).toBe('running');
  });
});

describe('Idempotency-Key', () => {
  it('a repeat with the same key and body returns the first job; the same key with another body is a 422', async () => {
    const body = { proxmox_node: 'px-testing', vm_id: '1021', vm_description: 'set once' };
    const url = `${VMS}/vm_id/config/vm_set_description`;
    const key = { 'idempotency-key': `test-${Date.now()}` };
    const runs = s.app.engine.stats.started;
    const a = await s.call('POST', url, body, { ...ASYNC, ...key });
    expect(a.status).toBe(202);
    const again = await s.call('POST', url, body, { ...ASYNC, ...key });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ job_id: a.body.job_id, replayed: true });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // Synchronously: waits for that same job and answers what it answered.
    const sync = await s.call('POST', url, body, key);
    expect(sync.status).toBe(200);
    expect(sync.headers.get('x-job-id')).toBe(a.body.job_id);
    expect(sync.body).toMatchObject({ rc: 0, result: [expect.objectContaining({ vm_id: 1021 })] });
    expect(s.app.engine.stats.started).toBe(runs + 1);

    const other = await s.call('POST', url, { ...body, vm_description: 'something else' }, { ...ASYNC, ...key });
    expect(other.status).toBe(422);
    expect(other.body.detail).toEqual([expect.objectContaining({ field: 'header.idempotency-key', type: 'idempotency_key_reused' })]);
    expect(s.app.engine.stats.started).toBe(runs + 1);
    expect((await s.call('POST', url, body, { 'idempotency-key': 'bad key with spaces' })).status).toBe(422);
  });
});

describe('redaction', () => {
  it('a password in a request body, and the Proxmox token, never reach the database file or the stream', async () => {
    const secret = `S3cret-${Date.now()}-pw`;
    const lxc = await s.call('POST', '/v0/admin/proxmox/lxc/vm_id/create', {
      proxmox_node: 'px-testing', vm_id: '5100', lxc_name: 'ct-secret', lxc_template: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', lxc_password: secret,
    });
    expect(lxc.status).toBe(200);
    // A secret in Ansible's own output: the Proxmox token of the inventory, as a VM description the
    // role publishes. The caller's answer is unchanged; what is stored and streamed is redacted.
    const token = s.sim.token.secret;
    const desc = await s.call('POST', `${VMS}/vm_id/config/vm_set_description`, { proxmox_node: 'px-testing', vm_id: '1023', vm_description: `key ${token} here` });
    expect(desc.status).toBe(200);
    expect(desc.text).toContain(token);
    const descJob = (await s.call('GET', `/v0/jobs/${desc.headers.get('x-job-id')}`)).body;
    expect(JSON.stringify(descJob.result)).toContain('key [redacted] here');
    const addUserSecret = `AddUser.${Date.now()}-pw`;
    const addUser = await s.call('POST', '/v0/admin/run/bundles/core/linux/ubuntu/configure/add-user', {
      // the Proxmox host of the inventory: the guest role refuses to run on the controller itself, the job fails
      proxmox_node: 'px-testing', hosts: 'px-testing', user: 'bob', password: addUserSecret, change_pwd_at_logon: true, shell_path: '/bin/bash',
    }, ASYNC);
    const addUserJob = await s.settle(addUser.body.job_id);
    expect(addUserJob.request.body.password).toBe('[redacted]');

    const lxcJob = (await s.call('GET', `/v0/jobs/${lxc.headers.get('x-job-id')}`)).body;
    expect(lxcJob.request.body.lxc_password).toBe('[redacted]');
    expect(lxcJob.result[0].lxc_password).toBe('[redacted]');
    let stream = '';
    for (const id of [lxcJob.id, addUserJob.id, descJob.id]) stream += (await readSse(`${s.base}/v0/jobs/${id}/events`)).raw;
    const listing = (await s.call('GET', '/v0/jobs?limit=1000')).text;
    const views = JSON.stringify(lxcJob) + JSON.stringify(addUserJob) + JSON.stringify(descJob) + listing + stream;
    // Every file of the data directory: the database, its write-ahead log (recent writes) and index.
    const files = fs.readdirSync(s.dataDir).map((f) => fs.readFileSync(path.join(s.dataDir, f)).toString('latin1'));
    expect(files.join('').length).toBeGreaterThan(1000);
    for (const known of [secret, addUserSecret, s.sim.token.secret]) {
      expect(views).not.toContain(known);
      for (const f of files) expect(f.includes(known)).toBe(false);
    }
    expect(files.join('')).toContain(lxcJob.id); // the jobs are there, only the secrets are not
  });
});

describe('history', () => {
  it('lists jobs newest first, filtered by status, operation, node and VM id, in pages that cover everything once', async () => {
    const all = (await s.call('GET', '/v0/jobs?limit=1000')).body;
    expect(all.total).toBe(all.jobs.length);
    expect(all.total).toBeGreaterThanOrEqual(12);
    expect(all.next_cursor).toBeNull();
    const created = all.jobs.map((j: any) => Date.parse(j.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(all.jobs[0]).not.toHaveProperty('request');

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await s.call('GET', `/v0/jobs?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).body;
      expect(page.jobs.length).toBeLessThanOrEqual(3);
      expect(page.total).toBe(all.total);
      seen.push(...page.jobs.map((j: any) => j.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.jobs.map((j: any) => j.id));

    const canceled = (await s.call('GET', '/v0/jobs?status=canceled')).body.jobs;
    expect(canceled.map((j: any) => j.operation)).toEqual(['vm_start']);
    const finished = (await s.call('GET', '/v0/jobs?status=canceled,failed')).body.jobs;
    expect(new Set(finished.map((j: any) => j.status))).toEqual(new Set(['canceled', 'failed']));
    const onVm = (await s.call('GET', '/v0/jobs?vm_id=1020&node=px-testing')).body.jobs;
    expect(onVm.map((j: any) => j.operation).sort()).toEqual(['vm_pause', 'vm_resume']); // reads have no VM target; 409s made no job
    expect((await s.call('GET', '/v0/jobs?operation=vm_list')).body.jobs.every((j: any) => j.operation === 'vm_list')).toBe(true);
    expect((await s.call('GET', '/v0/jobs?node=px-testing')).body.total).toBe(all.jobs.filter((j: any) => j.node === 'px-testing').length);
    expect((await s.call('GET', '/v0/jobs?node=px-lab-02')).body.total).toBe(0);
  });
});
