import { describe, expect, it } from 'vitest';
import { extractResult, logLines, pySplitLines } from '../../src/engine/extract.js';
import { toUnsafeYaml } from '../../src/engine/extravars.js';
import type { RunnerEvent } from '../../src/engine/types.js';

describe('result extraction', () => {
  const events: RunnerEvent[] = [
    { event: 'runner_on_ok', event_data: { res: { ansible_facts: { vm_list: ['fact'] } } } },
    { event: 'runner_on_ok', event_data: { res: { vm_list: [{ vm_id: 1 }] } } },
    { event: 'runner_on_failed', event_data: { res: { vm_list: 'failed' } } },
    { event: 'runner_on_ok', event_data: { res: null } },
    { event: 'runner_on_ok' },
    { event: 'runner_on_ok', event_data: { res: { vm_list: 'second', other: 1 } } },
    { event: 'runner_on_ok', event_data: { res: { vm_list: null } } },
  ];
  it('keeps res[key] of runner_on_ok events only, in order, any JSON type', () => {
    expect(extractResult(events, 'vm_list')).toEqual([[{ vm_id: 1 }], 'second', null]);
    expect(extractResult(events, 'absent')).toEqual([]);
  });
});

describe('log lines', () => {
  it('joins stdout with newlines, strips, removes ANSI codes and splits like Python', () => {
    const events: RunnerEvent[] = [
      { event: 'a', stdout: '\r\n\x1b[0;32mok: [h]\x1b[0m' },
      { event: 'b', stdout: '' },
      { event: 'c' },
      { event: 'd', stdout: 'x\r\ny\rz\x0bw  \n\n' },
    ];
    expect(logLines(events)).toEqual(['ok: [h]', 'x', 'y', 'z', 'w']);
  });
  it('has no lines for no output', () => {
    expect(logLines([])).toEqual([]);
    expect(logLines([{ event: 'x', stdout: ' \n\x1c ' }])).toEqual([]);
  });
  it('splitlines keeps inner empty lines and drops one trailing break', () => {
    expect(pySplitLines('a\n\nb\n')).toEqual(['a', '', 'b']);
    expect(pySplitLines('a\u2028b\x85c')).toEqual(['a', 'b', 'c']);
    expect(pySplitLines('\n')).toEqual(['']);
  });
});

describe('unsafe extra vars', () => {
  it('tags every string and escapes everything outside printable ASCII', () => {
    expect(toUnsafeYaml({ a: 'x', n: 1, b: true, z: null, l: ['y', { k: 'v' }] })).toBe(
      '{"a": !unsafe "x", "n": 1, "b": true, "z": null, "l": [!unsafe "y", {!unsafe "k": !unsafe "v"}]}\n',
    );
    expect(toUnsafeYaml({ s: 'a"b\\c\n\u0000é😀' })).toBe('{"s": !unsafe "a\\"b\\\\c\\u000a\\u0000\\u00e9\\U0001f600"}\n');
  });
});
