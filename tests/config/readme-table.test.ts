import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { readmeTable } from '../../src/config/readme-table.js';
import { configurationTable, variables } from '../../src/config/schema.js';

describe('the README configuration table', () => {
  it('is the one the environment schema gives (npm run config-table rewrites it)', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readmeTable(readme)).toBe(configurationTable());
  });

  it('names every variable of the schema once, with a meaning and a default', () => {
    const rows = configurationTable().split('\n').slice(2).filter(Boolean);
    expect(rows).toHaveLength(variables().length);
    for (const [name, s] of variables()) {
      expect(s.description, name).toBeTruthy();
      expect(rows.filter((r) => r.startsWith(`| \`${name}\` |`)), name).toHaveLength(1);
    }
  });

  it('every variable env.ts reads is in the schema', () => {
    const source = fs.readFileSync(path.join(REPO_ROOT, 'src/config/env.ts'), 'utf8');
    const read = new Set([...source.matchAll(/\be\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!));
    const known = new Set<string>(variables().map(([n]) => n));
    expect([...read].filter((n) => !known.has(n))).toEqual([]);
    expect([...known].filter((n) => !read.has(n))).toEqual([]);
  });
});
