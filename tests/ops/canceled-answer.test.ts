import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobsStack, type JobsStack } from '../jobs/stack.js';

/**
 * The answer of a synchronous run that was canceled (issue 15, item 7): its `error` is the cancel,
 * not the last thing Ansible was retrying. A real vm_start through the Proxmox role, against the
 * simulator with 60 s tasks, so the role is polling the task ("FAILED - RETRYING") when it is canceled.
 */

let s: JobsStack;
beforeAll(async () => {
  s = await startJobsStack();
  s.sim.setTaskDuration(60_000);
});
afterAll(async () => s.close());

describe('a canceled synchronous run', () => {
  it('answers 500, rc 254, with the cancel as its error', async () => {
    const answer = s.call('POST', '/v0/admin/proxmox/vms/vm_id/start', { proxmox_node: 'px-testing', vm_id: '4001' });
    let id = '';
    const end = Date.now() + 30_000;
    while (!id) {
      const running = (await s.call('GET', '/v0/jobs?status=running')).body.jobs;
      if (running[0]) id = running[0].id;
      else if (Date.now() > end) throw new Error('the job did not start');
      else await new Promise((r) => setTimeout(r, 100));
    }
    // Until the role waits for the Proxmox task (the role's proxmox_api action polls it in-process).
    await new Promise((r) => setTimeout(r, 4000));
    expect((await s.call('POST', `/v0/jobs/${id}/cancel`)).body.status).toBe('canceled');
    const r = await answer;
    expect(r.status).toBe(500);
    expect(r.body.rc).toBe(254);
    // the log ends with the cancel, and the error is that line, not an earlier failing one
    expect(r.body.log_multiline.join('\n')).toContain('ERROR! the run was canceled');
    expect(r.body.error).toBe('ERROR! the run was canceled');
  }, 60_000);
});
