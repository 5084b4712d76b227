import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine, RunResult } from '../../src/engine/engine.js';
import { extractResult, logLines } from '../../src/engine/extract.js';
import { FIXTURE_INVENTORY, FIXTURES, testEngine } from '../helpers.js';

/**
 * The warm engine runs controller-only tasks (includes; Ansible's debug, set_fact, assert, fail;
 * plugins marked RUNS_WITHOUT_WORKER) in the playbook process when the play has one worker slot
 * (src/engine/warm/inline_tasks.py). Each fixture task reports the process that ran it: the
 * parent of a pipe lookup's shell, compared with the playbook process (the pid of the run's events).
 */

const playbook = (name: string) => path.join(FIXTURES, 'inline', `${name}.yml`);
const engines: Record<'plain' | 'warm' | 'warmOff', Engine> = {
  plain: testEngine({ env: { RUNNER_ENGINE: 'ansible-runner' } }),
  warm: testEngine({ env: { RUNNER_ENGINE: 'warm' } }),
  warmOff: testEngine({ env: { RUNNER_ENGINE: 'warm' }, baseEnv: { ...process.env, R42_WARM_INLINE: 'off' } }),
};
afterAll(async () => {
  await Promise.all(Object.values(engines).map((e) => e.close()));
});

interface Report { set_fact_ran_in: string; debug_ran_in: string; looped: number[]; python: string; timeout_msg: string }

async function where(engine: Engine) {
  const r = await engine.run({ playbook: playbook('inline'), inventory: FIXTURE_INVENTORY });
  expect(r.rc, logLines(r.events).join('\n')).toBe(0);
  const playbookPid = String(r.events.find((e) => e.event === 'runner_on_ok')!.pid);
  const [report] = extractResult(r.events, 'report') as Report[];
  const ownDebug = r.events.find((e) => e.event === 'runner_on_ok' && e.event_data?.task === 'The role\'s debug');
  const twoHosts = extractResult(r.events, 'two_hosts') as string[];
  return { r, playbookPid, report: report!, ownDebug: String((ownDebug?.event_data?.res as Record<string, unknown>)?.own_debug_ran_in), twoHosts };
}

describe('warm engine: controller-only tasks without a worker fork', () => {
  it('one worker slot: set_fact and debug run in the playbook process, with the same results as forked workers give', async () => {
    const warm = await where(engines.warm);
    expect(warm.report.set_fact_ran_in).toBe(warm.playbookPid);
    expect(warm.report.debug_ran_in).toBe(warm.playbookPid);
    // What a worker process would have kept to itself did not leak into the play: the host's
    // inventory variables (a worker clears them when done), a loop's items, a task timeout.
    expect(warm.report.looped).toEqual([1, 2, 3]);
    expect(warm.report.python).toBe('/usr/bin/python3');
    expect(warm.report.timeout_msg).toBe('The ansible.builtin.assert action failed to execute in the expected time frame (1) and was terminated');

    const plain = await where(engines.plain);
    expect(plain.report.set_fact_ran_in).not.toBe(plain.playbookPid);
    const same = (x: Report) => ({ ...x, set_fact_ran_in: 0, debug_ran_in: 0 });
    expect(same(warm.report)).toEqual(same(plain.report));
    // The same log lines; in the two-host play the hosts' results come in either order (two forks).
    const lines = (x: RunResult) => {
      const all = logLines(x.events).map((l) => l.replace(/"(set_fact_ran_in|debug_ran_in|own_debug_ran_in|two_hosts)": "\d+"/, '"$1": "<pid>"'));
      const split = all.findIndex((l) => l.startsWith('PLAY [Two hosts'));
      return { onePlay: all.slice(0, split), twoHostPlay: all.slice(split).sort() };
    };
    expect(lines(warm.r)).toEqual(lines(plain.r));
  });

  it('a role\'s own plugin named debug, and a play with two worker slots, run in forked workers as usual', async () => {
    const warm = await where(engines.warm);
    expect(warm.ownDebug).toMatch(/^\d+$/);
    expect(warm.ownDebug).not.toBe(warm.playbookPid);
    expect(warm.twoHosts).toHaveLength(2);
    for (const pid of warm.twoHosts) expect(pid).not.toBe(warm.playbookPid);
    expect(warm.twoHosts[0]).not.toBe(warm.twoHosts[1]);
  });

  it('R42_WARM_INLINE=off in the service\'s environment: every task in a worker', async () => {
    const off = await where(engines.warmOff);
    expect(off.report.set_fact_ran_in).not.toBe(off.playbookPid);
    expect(off.report.debug_ran_in).not.toBe(off.playbookPid);
  });

  it('a task that ends the process it runs in: the play stops as with a dead worker, on both engines', async () => {
    const runs = await Promise.all([engines.warm, engines.plain].map((e) => e.run({ playbook: playbook('dead-worker'), inventory: FIXTURE_INVENTORY })));
    for (const r of runs) {
      expect(r.rc).not.toBe(0);
      expect(logLines(r.events).join('\n')).toContain('A worker was found in a dead state');
    }
    expect(runs[0]!.rc).toBe(runs[1]!.rc);
  });
});
