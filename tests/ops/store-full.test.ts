import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir, waitFor } from '../helpers.js';
import { readSse } from '../jobs/stack.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/**
 * A disk that fills while a job runs (issue 15, item 5). The job database lives on a real tmpfs of
 * 2 MiB mounted for the test (the suite runs as root); once the job has started, a file fills the
 * rest, so SQLite's next writes fail with SQLITE_FULL. The job must still end: the sync caller gets
 * its answer, the job reads as finished with a reason saying it is not recorded, its stream sends
 * `end`, an Idempotency-Key replay answers, cancel says it is finished. Once space is freed the
 * service writes the job (reason: recorded late), and a restart finds it successful, not lost.
 */

const isRoot = process.getuid?.() === 0;
const mountPoint = tempDir('r42-tmpfs-');
let mounted = false;
const services: ServiceProcess[] = [];

afterAll(async () => {
  for (const s of services) await s.stop();
  if (mounted) execFileSync('umount', ['-l', mountPoint]);
});

/** A project tree whose ping playbook sleeps 3 s: time to fill the disk while it runs. */
function slowRoot(): string {
  const root = tempDir('r42-slow-root-');
  fs.mkdirSync(path.join(root, 'playbooks'));
  fs.writeFileSync(path.join(root, 'playbooks', 'ping.yml'), fs.readFileSync(path.join(FIXTURES, 'playbooks', 'sleep.yml'), 'utf8').replace('default(60)', 'default(3)'));
  fs.symlinkSync(path.join(FIXTURES, 'catalog'), path.join(root, 'catalog'));
  fs.symlinkSync(path.join(FIXTURES, 'inventory'), path.join(root, 'inventory'));
  return root;
}

/** Writes zeros until the filesystem refuses (ENOSPC). */
function fillDisk(file: string): number {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(16 * 1024);
  let written = 0;
  try {
    for (;;) written += fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

const storedJob = (dbFile: string, id: string) => {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT status, reason, event_count FROM jobs WHERE id = ?').get(id) as { status: string; reason: string | null; event_count: number };
  } finally {
    db.close();
  }
};

describe.skipIf(!isRoot)('a disk that fills during a run (tmpfs, size=2m)', () => {
  it('the job still ends, answers, streams its end, replays, refuses cancel; it is written once space is back', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mountPoint]);
    mounted = true;
    const dataDir = path.join(mountPoint, 'data');
    const env = { PROJECT_ROOT_DIR: slowRoot(), DATA_DIR: dataDir, JOBS_HEARTBEAT_INTERVAL: '0.5', LOG_LEVEL: 'warn', RUNNER_CANCEL_GRACE: '1' };
    const s = await startServiceProcess(env);
    services.push(s);
    const body = JSON.stringify({ proxmox_node: 'px-testing', hosts: 'testhost' });
    const post = () => fetch(`${s.base}/v0/admin/debug/ping`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'disk-full-1' }, body });
    const sync = post();

    // Once the job is running (its task has started), fill the disk.
    let id = '';
    const end = Date.now() + 20_000;
    while (!id) {
      const page = await (await fetch(`${s.base}/v0/jobs?status=running`)).json();
      if (page.jobs[0]?.event_count >= 4) id = page.jobs[0].id;
      else if (Date.now() > end) throw new Error('the job did not start');
      else await new Promise((r) => setTimeout(r, 50));
    }
    const filler = path.join(mountPoint, 'filler');
    expect(fillDisk(filler)).toBeGreaterThan(0);

    const answer = await sync;
    expect(answer.status).toBe(200);
    expect((await answer.json()).rc).toBe(0);

    // The store could not take the end: the database still says running...
    const dbFile = path.join(dataDir, 'jobs.db');
    expect(storedJob(dbFile, id).status).toBe('running');
    // ...but the service knows the job is over and says why it is not recorded.
    const job = await (await fetch(`${s.base}/v0/jobs/${id}`)).json();
    expect(job.status).toBe('successful');
    expect(job.reason).toMatch(/^not recorded: the job store failed \(SQLITE_FULL: database or disk is full\)/);
    expect((await (await fetch(`${s.base}/v0/jobs`)).json()).jobs[0].status).toBe('successful');

    const stream = await readSse(`${s.base}/v0/jobs/${id}/events`);
    expect(stream.ended).toBe('server');
    const events = stream.messages.filter((m) => m.event !== 'heartbeat').map((m) => m.data);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'successful', rc: 0 });

    const t0 = Date.now();
    const replay = await post();
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('x-job-id')).toBe(id);
    expect(Date.now() - t0).toBeLessThan(2000);

    const cancel = await fetch(`${s.base}/v0/jobs/${id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(409);
    expect((await cancel.json()).detail).toBe(':: err - JOB ALREADY FINISHED (successful)');

    // Space comes back: within one retry period the job and all its events are in the database.
    fs.rmSync(filler);
    await waitFor(() => storedJob(dbFile, id).status === 'successful', 15_000, 200);
    const stored = storedJob(dbFile, id);
    expect(stored.reason).toMatch(/^recorded late: the job store failed when the job ended \(SQLITE_FULL/);
    expect(stored.event_count).toBe(events.length);

    // A restart finds it successful (not lost), with its whole stream.
    expect(await s.stop()).toBe(0);
    const again = await startServiceProcess(env);
    services.push(again);
    const after = await (await fetch(`${again.base}/v0/jobs/${id}`)).json();
    expect(after.status).toBe('successful');
    const replayed = await readSse(`${again.base}/v0/jobs/${id}/events`);
    expect(replayed.messages.filter((m) => m.event !== 'heartbeat').map((m) => m.data)).toEqual(events);
  }, 90_000);
});
