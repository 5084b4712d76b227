import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnvironment } from '../../src/engine/engine.js';
import { extractResult } from '../../src/engine/extract.js';
import { Run } from '../../src/engine/run.js';
import type { RunResult } from '../../src/engine/types.js';
import { WarmServer, runnerPython } from '../../src/engine/warm/client.js';
import { FIXTURE_INVENTORY, FIXTURES, fixturePlaybook, silentLog, tempDir, testRunEnvironment } from '../helpers.js';

// The warm engine's compiled-template cache (src/engine/warm/jinja_cache.py).
const RUNNER = '/usr/bin/ansible-runner';
const FILTER_DIR = path.join(FIXTURES, 'warm', 'filter');
const env: NodeJS.ProcessEnv = childEnvironment(process.env, FIXTURES);
const warm = new WarmServer({ python: runnerPython(RUNNER), env, tmpDir: tempDir(), log: silentLog });
afterAll(() => warm.close());

function run(playbook: string, opts: { env?: NodeJS.ProcessEnv; extravars?: Record<string, unknown>; engine?: 'warm' | 'ansible-runner' } = {}): Promise<RunResult> {
  const ctx = testRunEnvironment({ ...env, ...opts.env }, warm, opts.engine ?? 'warm');
  return new Run({ playbook, inventory: FIXTURE_INVENTORY, limit: 'testhost', extravars: opts.extravars }, ctx).execute();
}

/** The cache directory: next to the server's socket (in the engine's private directory). */
const cacheDir = () => path.join(path.dirname((warm as unknown as { sockPath: string }).sockPath), 'jinja');
const entries = () => fs.readdirSync(cacheDir()).filter((f) => !f.startsWith('.')).map((f) => path.join(cacheDir(), f));
const entryHolding = (text: string) => entries().filter((f) => fs.readFileSync(f).includes(Buffer.from(text)));
const lines = (r: RunResult) => r.events.map((e) => e.stdout ?? '').join('\n').split('\n');
/** Log lines without what differs between two runs (durations, dates). */
const stable = (r: RunResult) => lines(r).filter((l) => !/\d{4}-\d\d-\d\d|\d+\.\d+s/.test(l));

type Rendered = Record<string, string>;
const rendered = (r: RunResult) => (extractResult(r.events, 'rendered') as Rendered[])[0]!;
const failureMessage = (r: RunResult): string => {
  const failed = r.events.find((e) => e.event === 'runner_on_failed') as { event_data?: { res?: { msg?: string } } } | undefined;
  return failed?.event_data?.res?.msg ?? '';
};

describe('warm engine: compiled-template cache', () => {
  it('is a private directory of the server; a hit renders what a miss rendered', async () => {
    const first = await run(fixturePlaybook('jinja-cache'), { extravars: { word: 'abc' } });
    expect(first.rc, lines(first).join('\n')).toBe(0);
    const st = fs.statSync(cacheDir());
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(process.getuid!());
    for (const f of entries()) expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(entryHolding("numbers | sort | join(',')")).toHaveLength(1);
    // A template whose compile called a filter (Jinja folds `1000000 | random` to a constant) is not kept.
    expect(entryHolding('1000000 | random')).toHaveLength(0);
    // The request value is data: no template holds it.
    expect(entryHolding('abc')).toHaveLength(0);

    const second = await run(fixturePlaybook('jinja-cache'), { extravars: { word: 'abc' } });
    expect(second.rc).toBe(0);
    const [a, b] = [rendered(first), rendered(second)];
    expect(a).toMatchObject({ sorted: '1,2,3', loop: '6-2-4', cond: 'yes', header: '\n3 is the largest', word: 'ABC' });
    const { folded: fa, ...restA } = a;
    const { folded: fb, ...restB } = b;
    expect(restB).toEqual(restA);
    expect(fa).not.toBe(fb); // two draws of 1..1000000: still random, not a cached constant
    expect(stable(second).filter((l) => !l.includes('"folded"'))).toEqual(stable(first).filter((l) => !l.includes('"folded"')));

    // The plain engine (no cache) renders the same.
    const plain = await run(fixturePlaybook('jinja-cache'), { extravars: { word: 'abc' }, engine: 'ansible-runner' });
    const { folded: _fp, ...restP } = rendered(plain);
    expect(restP).toEqual(restA);
  });

  it('a playbook edited on disk between two runs is compiled again (the key is the template source)', async () => {
    const dir = tempDir();
    const playbook = path.join(dir, 'edited.yml');
    const write = (text: string) => fs.writeFileSync(playbook, [
      '- hosts: testhost', '  gather_facts: false', '  tasks:',
      '    - ansible.builtin.set_fact:', `        rendered: {said: "${text} {{ word }}"}`,
      '    - ansible.builtin.debug:', '        var: rendered', '',
    ].join('\n'));
    write('first');
    expect(rendered(await run(playbook, { extravars: { word: 'x' } })).said).toBe('first x');
    write('second');
    expect(rendered(await run(playbook, { extravars: { word: 'x' } })).said).toBe('second x');
  });

  it('a cached template whose filter is not there any more fails as it fails uncached, with the usual message', async () => {
    const withFilter = await run(fixturePlaybook('jinja-cache-filter'), { env: { ANSIBLE_FILTER_PLUGINS: FILTER_DIR }, extravars: { word: 'hey' } });
    expect(withFilter.rc, lines(withFilter).join('\n')).toBe(0);
    expect(extractResult(withFilter.events, 'shouted')).toEqual(['HEY!']);
    expect(entryHolding('word | r42_shout')).toHaveLength(1);

    const without = await run(fixturePlaybook('jinja-cache-filter'), { extravars: { word: 'hey' } });
    expect(without.rc).not.toBe(0);
    const msg = failureMessage(without);
    expect(msg).toMatch(/r42_shout/);
    expect(msg).toMatch(/template error while templating string|No filter named/);
    const plain = await run(fixturePlaybook('jinja-cache-filter'), { extravars: { word: 'hey' }, engine: 'ansible-runner' });
    expect(failureMessage(plain)).toBe(msg);
  });

  it('corrupt or truncated cache files are ignored (and replaced)', async () => {
    for (const f of entries()) fs.rmSync(f);
    await run(fixturePlaybook('jinja-cache'), { extravars: { word: 'abc' } });
    const files = entries();
    expect(files.length).toBeGreaterThan(3);
    const sizes = new Map(files.map((f) => [f, fs.statSync(f).size]));
    files.forEach((f, i) => {
      if (i % 2) fs.writeFileSync(f, 'not marshal data');
      else fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2));
    });
    const r = await run(fixturePlaybook('jinja-cache'), { extravars: { word: 'abc' } });
    expect(r.rc, lines(r).join('\n')).toBe(0);
    expect(rendered(r)).toMatchObject({ sorted: '1,2,3', loop: '6-2-4', cond: 'yes', word: 'ABC' });
    // Each was read, found unusable, compiled again and written again.
    for (const [f, size] of sizes) expect(fs.statSync(f).size).toBe(size);
  });

  it('is removed when the server ends', async () => {
    await run(fixturePlaybook('jinja-cache'), { extravars: { word: 'abc' } });
    const dir = cacheDir();
    expect(fs.existsSync(dir)).toBe(true);
    await warm.close();
    expect(fs.existsSync(dir)).toBe(false);
  });
});
