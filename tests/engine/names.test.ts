import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DomainError, pyRepr } from '../../src/errors.js';
import { toHttpRefusal } from '../../src/http/errors.js';
import { resolveCatalogPlaybook, resolveInventory } from '../../src/engine/names.js';
import { FIXTURES, tempDir } from '../helpers.js';

const catalog = path.join(FIXTURES, 'catalog');

function refusal(fn: () => unknown): { status: number; detail: string } {
  try {
    fn();
  } catch (err) {
    // The engine refuses with a domain error; its status and detail are the HTTP error handler's mapping.
    expect(err).toBeInstanceOf(DomainError);
    const r = toHttpRefusal(err as DomainError);
    return { status: r.status, detail: String(r.detail) };
  }
  throw new Error('expected a refusal');
}

describe('playbook and inventory names', () => {
  it('resolves nested bundle and scenario names to main.yml inside the catalog', () => {
    expect(resolveCatalogPlaybook(catalog, 'bundles', 'demo/nested/hello')).toBe(path.join(fs.realpathSync(catalog), 'bundles/demo/nested/hello/main.yml'));
    expect(resolveCatalogPlaybook(catalog, 'scenarios', 'mini')).toMatch(/scenarios\/mini\/main\.yml$/);
  });

  it.each([
    '../etc', 'demo/../../etc', '/etc/passwd', '%2e%2e%2fetc', 'demo//hello', 'demo/', '.hidden', 'a b', 'a;rm -rf', "x'y", '', 'demo/nested/hello\n',
  ])('refuses the malformed name %j with 400 and the original message', (name) => {
    const r = refusal(() => resolveCatalogPlaybook(catalog, 'bundles', name));
    expect(r.status).toBe(400);
    expect(r.detail).toBe(`:: err - INVALID ACTION NAME FORMAT ${pyRepr(name)}`);
  });

  it('a missing playbook is a 400 with a JSON-friendly detail, not a crash', () => {
    const r = refusal(() => resolveCatalogPlaybook(catalog, 'bundles', 'no/such/bundle'));
    expect(r).toEqual({ status: 400, detail: `:: err - PLAYBOOK NOT FOUND : ${path.join(fs.realpathSync(catalog), 'bundles/no/such/bundle/main.yml')}` });
  });

  it('a symlink that leads out of the catalog is refused as traversal', () => {
    const base = tempDir();
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, 'main.yml'), '- hosts: all\n');
    fs.mkdirSync(path.join(base, 'bundles'));
    fs.symlinkSync(outside, path.join(base, 'bundles', 'evil'));
    const r = refusal(() => resolveCatalogPlaybook(base, 'bundles', 'evil'));
    expect(r.status).toBe(400);
    expect(r.detail).toBe(`:: err - POTENTIAL PATH TRAVERSAL DETECTED : ${fs.realpathSync(path.join(outside, 'main.yml'))}`);
  });

  it('a symlink that stays inside the catalog is followed', () => {
    const base = tempDir();
    fs.mkdirSync(path.join(base, 'bundles', 'real'), { recursive: true });
    fs.writeFileSync(path.join(base, 'bundles', 'real', 'main.yml'), '- hosts: all\n');
    fs.symlinkSync(path.join(base, 'bundles', 'real'), path.join(base, 'bundles', 'alias'));
    expect(resolveCatalogPlaybook(base, 'bundles', 'alias')).toBe(fs.realpathSync(path.join(base, 'bundles', 'real', 'main.yml')));
  });

  it('inventories follow the same rules', () => {
    const inv = path.join(FIXTURES, 'inventory');
    expect(resolveInventory(inv, 'hosts')).toBe(path.join(fs.realpathSync(inv), 'hosts.yml'));
    expect(refusal(() => resolveInventory(inv, '../hosts'))).toEqual({ status: 400, detail: ":: err - INVALID INVENTORY NAME FORMAT '../hosts'" });
    expect(refusal(() => resolveInventory(inv, 'other')).detail).toMatch(/^:: err - INVENTORY NOT FOUND : .*other\.yml$/);
    expect(refusal(() => resolveInventory('/nonexistent-dir', 'hosts'))).toEqual({ status: 500, detail: ':: err - INVENTORY DIR  NOT FOUND : /nonexistent-dir' });
    const base = tempDir();
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, 'x.yml'), 'all: {}\n');
    fs.symlinkSync(path.join(outside, 'x.yml'), path.join(base, 'evil.yml'));
    expect(refusal(() => resolveInventory(base, 'evil')).detail).toMatch(/POTENTIAL PATH TRAVERSAL DETECTED/);
  });

  it('pyRepr quotes like Python', () => {
    expect(pyRepr('abc')).toBe("'abc'");
    expect(pyRepr("it's")).toBe(`"it's"`);
    expect(pyRepr(`a'b"c`)).toBe(`'a\\'b"c'`);
    expect(pyRepr('a\nb\\')).toBe("'a\\nb\\\\'");
  });
});
