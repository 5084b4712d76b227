import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSpec, readSharedSchema, renderSpec, SHARED_SCHEMA, SPEC_FILE, type SchemaTreeNode } from '../../scripts/gen-pve-spec.js';
import { formatSize, parseSize, printPropertyString, PropertyStringError } from '../../src/simulator/schema/property-string.js';
import { INDEX_RANGES, paramSchema, PveSpec, type PropertySchema } from '../../src/simulator/schema/spec.js';
import { perlPatternMatches, translatePerlRegex } from '../../src/simulator/schema/perl-regex.js';
import { checkFormat, parsePropertyString, validateParams } from '../../src/simulator/schema/validate.js';

/** The schema layer on its own: generator, lookup, indexed options, property strings, sizes, validation texts. */

const spec = PveSpec.load();
const config = spec.method('PUT', '/nodes/{node}/qemu/{vmid}/config')!;
const lxcConfig = spec.method('PUT', '/nodes/{node}/lxc/{vmid}/config')!;
const netFormat = paramSchema(config, 'net0')!.format as Record<string, PropertySchema>;
const diskFormat = paramSchema(config, 'scsi0')!.format as Record<string, PropertySchema>;

/** Every method of the official tree in ../shared (tests may read it; the product may not). */
const tree = readSharedSchema();
const official: [string, string, Record<string, unknown>][] = [];
(function walk(nodes: SchemaTreeNode[]) {
  for (const n of nodes) {
    for (const [verb, m] of Object.entries(n.info ?? {})) official.push([verb, n.path, m]);
    walk(n.children ?? []);
  }
})(tree);

describe('generated schema (scripts/gen-pve-spec.ts)', () => {
  it('is in sync with ../shared: regenerating it gives the committed file byte for byte', () => {
    expect(SHARED_SCHEMA.endsWith('/shared/proxmox/pve-api-schema.json')).toBe(true);
    expect(fs.readFileSync(SPEC_FILE, 'utf8')).toBe(renderSpec(buildSpec(tree)));
  });

  it('holds all 605 methods of PVE 8.4 (398 of the 400 tree paths have methods)', () => {
    expect(official).toHaveLength(605);
    expect(spec.keys()).toHaveLength(605);
    for (const [verb, path] of official) expect(spec.has(verb, path), `${verb} ${path}`).toBe(true);
    expect(spec.templates()).toHaveLength(398);
    expect(new Set(spec.templates()).size).toBe(398);
    expect(spec.templates()).not.toContain('/nodes/{node}/storage/{storage}/file-restore'); // a directory without methods
    expect(spec.templates()).toContain('/nodes/{node}/qemu/{vmid}/clone');
  });

  it('keeps every parameter name and the machine-readable keys, drops the prose, stays small', () => {
    for (const [verb, path, m] of official) {
      const params = (m.parameters as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
      expect(Object.keys(spec.method(verb, path)!.parameters.properties ?? {}), `${verb} ${path}`).toEqual(Object.keys(params));
    }
    const text = fs.readFileSync(SPEC_FILE, 'utf8');
    expect(text.length).toBeLessThan(700 * 1024);
    for (const key of ['typetext', 'format_description', 'verbose_description', 'renderer', 'title']) expect(text).not.toContain(`"${key}"`);
    // `description` survives only as a parameter name (e.g. the VM description), never as prose
    expect(config.parameters.properties?.description).toEqual({ maxLength: 8192, optional: 1, type: 'string' });
    expect(netFormat.model).toMatchObject({ default_key: 1, type: 'string' });
    expect(netFormat.model).not.toHaveProperty('description');
    expect(netFormat.virtio).toEqual({ alias: 'macaddr', keyAlias: 'model' });
    expect(paramSchema(config, 'vmid')).toEqual({ format: 'pve-vmid', maximum: 999999999, minimum: 100, type: 'integer' });
  });

  it('records token access, protection, proxying and the return type', () => {
    const ticket = spec.method('POST', '/access/ticket')!;
    expect([ticket.name, ticket.allowtoken, ticket.protected]).toEqual(['create_ticket', 0, 1]);
    const noToken = spec.keys().filter((k) => !spec.method(k.split(' ')[0]!, k.slice(k.indexOf(' ') + 1))!.allowtoken).sort();
    expect(noToken).toEqual(['DELETE /access/tfa/{userid}/{id}', 'POST /access/tfa/{userid}', 'POST /access/ticket', 'PUT /access/password', 'PUT /access/tfa/{userid}/{id}']);
    const clone = spec.method('post', '/nodes/{node}/qemu/{vmid}/clone')!;
    expect(clone).toMatchObject({ name: 'clone_vm', allowtoken: 1, protected: 1, proxyto: 'node', returns: { type: 'string' } });
    expect(spec.method('GET', '/version')!.returns.type).toBe('object');
    expect(spec.method('GET', '/version')!.proxyto).toBeUndefined();
    expect(spec.method('PATCH', '/version')).toBeUndefined();
    expect(spec.has('GET', '/nodes/{node}/qemu/{vmid}/nope')).toBe(false);
  });

  it('loads once', () => {
    expect(PveSpec.load()).toBe(spec);
  });
});

describe('indexed options', () => {
  it('expands net[n] to net0..net31 and nothing else', () => {
    expect(paramSchema(config, 'net0')).toBe(config.parameters.properties!['net[n]']);
    expect(paramSchema(config, 'net0')).toBe(paramSchema(config, 'net31'));
    expect(paramSchema(config, 'net32')).toBeUndefined();
    expect(paramSchema(config, 'net01')).toBeUndefined();
    expect(paramSchema(config, 'net[n]')).toBeUndefined();
    expect(paramSchema(config, 'net')).toBeUndefined();
  });

  it('uses the qemu-server and pve-container ranges', () => {
    const last = (m: typeof config, base: string, max: number) => {
      expect(paramSchema(m, `${base}${max}`), `${base}${max}`).toBeDefined();
      expect(paramSchema(m, `${base}${max + 1}`), `${base}${max + 1}`).toBeUndefined();
    };
    const qemu: [string, number][] = [['net', 31], ['scsi', 30], ['virtio', 15], ['sata', 5], ['ide', 3], ['unused', 255], ['usb', 13],
      ['hostpci', 15], ['serial', 3], ['parallel', 2], ['ipconfig', 31], ['numa', 7], ['virtiofs', 9]];
    for (const [base, max] of qemu) last(config, base, max);
    for (const [base, max] of [['mp', 255], ['net', 31], ['unused', 255], ['dev', 255]] as const) last(lxcConfig, base, max);
    expect(paramSchema(lxcConfig, 'scsi0')).toBeUndefined();
    // plain options that merely end in a digit are declared as they are
    expect(paramSchema(config, 'efidisk0')?.format).toBeTypeOf('object');
    expect(paramSchema(config, 'efidisk1')).toBeUndefined();
    // `numa` is both a boolean and the collapsed numa[n]
    expect(paramSchema(config, 'numa')?.type).toBe('boolean');
    expect(paramSchema(config, 'numa0')?.type).toBe('string');
    // every collapsed option of the schema has a known range
    for (const key of spec.keys()) {
      const [verb, path] = [key.split(' ')[0]!, key.slice(key.indexOf(' ') + 1)];
      for (const name of Object.keys(spec.method(verb, path)!.parameters.properties ?? {})) {
        if (name.endsWith('[n]')) expect(INDEX_RANGES[name.slice(0, -3)], `${key} ${name}`).toBeGreaterThan(0);
      }
    }
  });
});

describe('validateParams: messages of pve-common JSONSchema.pm (fidelity.md §2.4)', () => {
  const clone = spec.method('POST', '/nodes/{node}/qemu/{vmid}/clone')!;
  const ok = { node: 'pve', vmid: 100, newid: 101 };
  const errorsOf = (input: Record<string, unknown>, m = clone) => validateParams(m, input).errors;

  it('accepts a good call and normalises booleans and integers to numbers, strings stay strings', () => {
    expect(validateParams(clone, { node: 'pve', vmid: '100', newid: 101, full: true, name: 'web-1', description: 42 })).toEqual({
      params: { node: 'pve', vmid: 100, newid: 101, full: 1, name: 'web-1', description: '42' }, errors: null,
    });
    expect(validateParams(clone, { ...ok, vmid: '100', bwlimit: '+0050', full: false }).params).toEqual({ node: 'pve', vmid: 100, newid: 101, bwlimit: 50, full: 0 });
    expect(validateParams(config, { node: 'pve', vmid: 100, cpulimit: '1.5', cores: 2 }).params).toEqual({ node: 'pve', vmid: 100, cpulimit: 1.5, cores: 2 });
    // JSON null is "not given": a missing optional parameter, dropped from the result
    expect(validateParams(clone, { ...ok, name: null, pool: undefined })).toEqual({ params: ok, errors: null });
  });

  it('reports a missing required parameter and an undeclared one', () => {
    expect(errorsOf({ node: 'pve', vmid: 100, colour: 'red' })).toEqual({
      newid: 'property is missing and it is not optional',
      colour: 'property is not defined in schema and the schema does not allow additional properties',
    });
    expect(errorsOf({ ...ok, newid: null })).toEqual({ newid: 'property is missing and it is not optional' });
  });

  it('keeps top-level booleans strict: only "0"/"1", 0/1 and JSON true/false', () => {
    for (const good of ['0', '1', 0, 1, true, false]) expect(errorsOf({ ...ok, full: good }), String(good)).toBeNull();
    expect(validateParams(clone, { ...ok, full: '1' }).params.full).toBe(1);
    expect(validateParams(clone, { ...ok, full: 0 }).params.full).toBe(0);
    expect(errorsOf({ ...ok, full: 'True' })).toEqual({ full: "type check ('boolean') failed - got 'True'" });
    expect(errorsOf({ ...ok, full: 'yes' })).toEqual({ full: "type check ('boolean') failed - got 'yes'" });
    expect(errorsOf({ ...ok, full: 2 })).toEqual({ full: "type check ('boolean') failed - got '2'" });
    expect(errorsOf({ ...ok, full: '' })).toEqual({ full: "type check ('boolean') failed - got ''" });
    expect(errorsOf({ ...ok, full: [1] })).toEqual({ full: "type check ('boolean') failed - got ARRAY" });
  });

  it('checks integers and numbers with the Perl regexes, JSON booleans by class name', () => {
    expect(errorsOf({ ...ok, newid: 'abc' })).toEqual({ newid: "type check ('integer') failed - got 'abc'" });
    expect(errorsOf({ ...ok, newid: '101.0' })).toEqual({ newid: "type check ('integer') failed - got '101.0'" });
    expect(errorsOf({ ...ok, newid: 101.5 })).toEqual({ newid: "type check ('integer') failed - got '101.5'" });
    expect(errorsOf({ ...ok, newid: true })).toEqual({ newid: "type check ('integer') failed - got JSON::PP::Boolean" });
    expect(errorsOf({ ...ok, newid: { a: 1 } })).toEqual({ newid: "type check ('integer') failed - got HASH" });
    expect(errorsOf({ ...ok, bwlimit: '1.5e3' })).toEqual({ bwlimit: "type check ('integer') failed - got '1.5e3'" });
    const put = (extra: Record<string, unknown>) => validateParams(config, { node: 'pve', vmid: 100, ...extra });
    expect(put({ cpulimit: '1.5e1' }).errors).toBeNull();
    expect(put({ cpulimit: '.5' }).params.cpulimit).toBe(0.5);
    expect(put({ cpulimit: '2.' }).params.cpulimit).toBe(2);
    expect(put({ cpulimit: '1.2.3' }).errors).toEqual({ cpulimit: "type check ('number') failed - got '1.2.3'" });
    expect(put({ cpulimit: 'fast' }).errors).toEqual({ cpulimit: "type check ('number') failed - got 'fast'" });
    expect(put({ cpulimit: true }).errors).toEqual({ cpulimit: "type check ('number') failed - got JSON::PP::Boolean" });
    expect(errorsOf({ ...ok, name: false })).toEqual({ name: "type check ('string') failed - got JSON::PP::Boolean" });
  });

  it('checks minimum/maximum after the format, and string lengths', () => {
    // vmid 50 fails its pve-vmid format before `minimum 100` is looked at (format comes first in check_prop)
    expect(errorsOf({ ...ok, vmid: 50 })).toEqual({ vmid: 'invalid format - value does not look like a valid VM ID\n' });
    expect(errorsOf({ ...ok, vmid: '+100' })).toEqual({ vmid: 'invalid format - value does not look like a valid VM ID\n' });
    expect(errorsOf({ ...ok, bwlimit: -1 })).toEqual({ bwlimit: 'value must have a minimum value of 0' });
    const create = spec.method('POST', '/nodes/{node}/qemu')!;
    expect(errorsOf({ node: 'pve', vmid: 100, cores: 0 }, create)).toEqual({ cores: 'value must have a minimum value of 1' });
    expect(errorsOf({ node: 'pve', vmid: 100, cpulimit: 128.5 }, create)).toEqual({ cpulimit: 'value must have a maximum value of 128' });
    expect(errorsOf({ node: 'pve', vmid: 100, shares: '50001' }, create)).toEqual({ shares: 'value must have a maximum value of 50000' });
    expect(errorsOf({ node: 'pve', vmid: 100, vmid_not: 1 }, create)).toEqual({ vmid_not: 'property is not defined in schema and the schema does not allow additional properties' });
    expect(errorsOf({ node: 'pve', vmid: 100, description: 'x'.repeat(8193) }, config)).toEqual({ description: 'value may only be 8192 characters long' });
    const users = spec.method('POST', '/access/users')!;
    expect(errorsOf({ userid: 'jo@pve', password: 'abcd' }, users)).toEqual({ password: 'value must be at least 8 characters long' });
  });

  it('checks enums with PVE\'s message', () => {
    const resources = spec.method('GET', '/cluster/resources')!;
    expect(errorsOf({ type: 'disk' }, resources)).toEqual({ type: "value 'disk' does not have a value in the enumeration 'vm, storage, node, sdn'" });
    expect(errorsOf({ type: 'vm' }, resources)).toBeNull();
    expect(errorsOf({ ...ok, format: 'QCOW2' })).toEqual({ format: "value 'QCOW2' does not have a value in the enumeration 'raw, qcow2, vmdk'" });
  });

  it('anchors patterns as Perl does (m/^$pattern$/), with (?^i:...) groups and {,n}', () => {
    const rules = spec.method('POST', '/cluster/firewall/groups/{group}')!;
    expect(errorsOf({ group: 'web', action: 'ACCEPT', type: 'in' }, rules)).toBeNull();
    expect(errorsOf({ group: 'web', action: 'ACCEPT!', type: 'in' }, rules)).toEqual({ action: 'value does not match the regex pattern' });
    const create = spec.method('POST', '/nodes/{node}/qemu')!;
    expect(errorsOf({ node: 'pve', vmid: 100, bootdisk: 'scsi0' }, create)).toBeNull();
    // bootdisk has both a format and a pattern: the format is checked first
    expect(errorsOf({ node: 'pve', vmid: 100, bootdisk: 'scsi' }, create)).toEqual({ bootdisk: "invalid format - invalid boot disk 'scsi'\n" });
    expect(errorsOf({ node: 'pve', vmid: 100, bootdisk: 'efidisk0' }, create)).toEqual({ bootdisk: 'value does not match the regex pattern' });
    // a top-level alternation is only anchored on its outer branches: `^(?:…)|none$`
    const sync = spec.method('PUT', '/cluster/jobs/realm-sync/{id}')!;
    expect(sync.parameters.properties!['remove-vanished']!.pattern).toBe('(?:(?:(?:acl|properties|entry);)*(?:acl|properties|entry))|none');
    expect(perlPatternMatches('(?:(?:(?:acl|properties|entry);)*(?:acl|properties|entry))|none', 'acl;entry')).toBe(true);
    expect(perlPatternMatches('(?:(?:(?:acl|properties|entry);)*(?:acl|properties|entry))|none', 'aclXYZ')).toBe(true);
    expect(perlPatternMatches('(?:(?:(?:acl|properties|entry);)*(?:acl|properties|entry))|none', 'XYZnone')).toBe(true);
    expect(perlPatternMatches('(?:(?:(?:acl|properties|entry);)*(?:acl|properties|entry))|none', 'XYZ')).toBe(false);
    // (?^i:…) is case-insensitive inside the group only
    const tags = '(?^i:[a-z0-9_][a-z0-9_\\-\\+\\.]*)(?:;(?^i:[a-z0-9_][a-z0-9_\\-\\+\\.]*))*';
    expect(perlPatternMatches(tags, 'Prod;WEB')).toBe(true);
    expect(perlPatternMatches(tags, 'prod;;web')).toBe(false);
    expect(perlPatternMatches('(?^i:ab)c', 'ABc')).toBe(true);
    expect(perlPatternMatches('(?^i:ab)c', 'ABC')).toBe(false);
    expect(translatePerlRegex('[A-Za-z0-9\\-_\\s]{,16}')).toBe('[A-Za-z0-9\\-_\\s]{0,16}');
    expect(perlPatternMatches('[A-Za-z0-9\\-_\\s]{,16}', 'x'.repeat(16))).toBe(true);
    expect(perlPatternMatches('[A-Za-z0-9\\-_\\s]{,16}', 'x'.repeat(17))).toBe(false);
    // Perl's `$` also matches before a final newline
    expect(perlPatternMatches('[a-z]+', 'abc\n')).toBe(true);
    expect(perlPatternMatches('[a-z]+', 'abc\n\n')).toBe(false);
  });

  it('translates Perl inline modifiers: (?^flags:…), (?flags-flags:…) and (?flags)', () => {
    expect(translatePerlRegex('(?i:ab)c')).toBe('(?:[aA][bB])c');
    expect(perlPatternMatches('(?i:ab)c', 'ABc')).toBe(true);
    expect(perlPatternMatches('(?i:ab)c', 'ABC')).toBe(false);
    // (?flags) runs to the end of its group; (?-i:…) switches it off again
    expect(perlPatternMatches('(?i)ab(?-i:c)d', 'ABcD')).toBe(true);
    expect(perlPatternMatches('(?i)ab(?-i:c)d', 'ABCD')).toBe(false);
    // (?^:…) resets to the defaults, even inside a case-insensitive group
    expect(perlPatternMatches('(?i:a(?^:b))', 'Ab')).toBe(true);
    expect(perlPatternMatches('(?i:a(?^:b))', 'AB')).toBe(false);
    expect(perlPatternMatches('(?s:a.b)', 'a\nb')).toBe(true);
    expect(perlPatternMatches('a.b', 'a\nb')).toBe(false);
  });

  it('compiles every pattern of the schema (pve-api.json), property-string keys included', () => {
    const patterns = new Set<string>();
    (function walk(o: unknown) {
      if (Array.isArray(o)) o.forEach(walk);
      else if (o !== null && typeof o === 'object') {
        for (const [k, v] of Object.entries(o)) {
          if (k === 'pattern' && typeof v === 'string') patterns.add(v);
          else walk(v);
        }
      }
    })(JSON.parse(fs.readFileSync(SPEC_FILE, 'utf8')));
    expect(patterns.size).toBeGreaterThan(50);
    expect([...patterns].some((p) => p.includes('(?^i:'))).toBe(true);
    const broken = [...patterns].filter((p) => {
      try {
        new RegExp(`^${translatePerlRegex(p)}$`);
        return false;
      } catch {
        return true;
      }
    });
    expect(broken).toEqual([]);
  });

  it('checks the (?^i:…) color-map of tag-style (PUT /cluster/options)', () => {
    const options = spec.method('PUT', '/cluster/options')!;
    expect(errorsOf({ 'tag-style': 'shape=dense,color-map=prod:ff0000;Web-1:00FF00:000000' }, options)).toBeNull();
    expect(errorsOf({ 'tag-style': 'color-map=prod:ff00zz' }, options)).toEqual({
      'tag-style': 'invalid format - format error\ntag-style.color-map: value does not match the regex pattern\n',
    });
  });

  it('reports `requires` on the required key, and joins two messages for one key with a literal \\n', () => {
    expect(errorsOf({ node: 'pve', vmid: 100, force: 1 }, config)).toEqual({ delete: "missing property - 'force' requires this property" });
    expect(errorsOf({ node: 'pve', vmid: 100, force: 1, delete: 'net1' }, config)).toBeNull();
    const download = spec.method('POST', '/nodes/{node}/storage/{storage}/download-url')!;
    const base = { node: 'pve', storage: 'local', content: 'iso', filename: 'a.iso', url: 'https://x/a.iso' };
    expect(errorsOf({ ...base, checksum: 'abc' }, download)).toEqual({ 'checksum-algorithm': "missing property - 'checksum' requires this property" });
    // a required parameter that is also required by another: both texts, joined as add_error does
    const join = { name: 'x', parameters: { additionalProperties: 0, properties: { a: { type: 'string' }, b: { type: 'string', optional: 1, requires: 'a' } } }, returns: { type: 'null' } };
    expect(validateParams(join, { b: 'x' }).errors).toEqual({ a: "property is missing and it is not optional\\nmissing property - 'b' requires this property" });
  });

  it('reports named formats as `invalid format - <text>\\n`, every parameter at once', () => {
    const r = validateParams(config, { node: 'bad_node!', vmid: 100, name: 'has space', tags: 'ok;Ü', net32: 'virtio', delete: 'net0,1bad', hookscript: 'nope', startup: 'first' });
    expect(r.errors).toEqual({
      node: 'invalid format - value does not look like a valid node name\n',
      name: 'invalid format - value does not look like a valid DNS name\n',
      tags: 'invalid format - invalid characters in tag\n',
      net32: 'property is not defined in schema and the schema does not allow additional properties',
      delete: "invalid format - invalid configuration ID '1bad'\n",
      hookscript: "invalid format - unable to parse volume ID 'nope'\n",
      startup: 'invalid format - unable to parse startup options\n',
    });
  });

  it('reports property strings as `invalid format - format error\\n<param>.<key>: <msg>\\n`', () => {
    expect(errorsOf({ node: 'pve', vmid: 100, net0: 'virtio,bridge=vmbr0,mtu=0' }, config)).toEqual({
      net0: 'invalid format - format error\nnet0.mtu: value must have a minimum value of 1\n',
    });
    expect(errorsOf({ node: 'pve', vmid: 100, net0: 'virtio=BC:24:11:4F:2A:11,bridge=vmbr 0,tag=5000' }, config)).toEqual({
      net0: "invalid format - format error\nnet0.bridge: invalid format - invalid bridge ID 'vmbr 0'\n\nnet0.tag: value must have a maximum value of 4094\n",
    });
    expect(errorsOf({ node: 'pve', vmid: 100, net1: 'virtio,colour=blue' }, config)).toEqual({ net1: 'invalid format - invalid key in comma-separated list property: colour\n' });
    expect(errorsOf({ node: 'pve', vmid: 100, net1: 'bridge=vmbr0' }, config)).toEqual({ net1: 'invalid format - format error\nnet1.model: property is missing and it is not optional\n' });
    expect(errorsOf({ node: 'pve', vmid: 100, net1: 'virtio,firewall=maybe' }, config)).toEqual({ net1: "invalid format - format error\nnet1.firewall: type check ('boolean') failed - got 'maybe'\n" });
    // hash-registered formats the dump only names: ipconfig[n] (pve-qm-ipconfig) and cdrom (pve-qm-ide)
    expect(errorsOf({ node: 'pve', vmid: 100, ipconfig0: 'ip=10.0.0.5/24,gw=10.0.0' }, config)).toEqual({
      ipconfig0: 'invalid format - format error\nipconfig0.gw: invalid format - value does not look like a valid IPv4 address\n\n',
    });
    expect(errorsOf({ node: 'pve', vmid: 100, ipconfig0: 'ip=dhcp,ip6=auto' }, config)).toBeNull();
    expect(errorsOf({ node: 'pve', vmid: 100, cdrom: 'local:iso/debian.iso,media=dvd' }, config)).toEqual({
      cdrom: "invalid format - format error\ncdrom.media: value 'dvd' does not have a value in the enumeration 'cdrom, disk'\n",
    });
    // lenient booleans inside, strict outside
    expect(errorsOf({ node: 'pve', vmid: 100, net0: 'virtio,bridge=vmbr0,firewall=ON', onboot: 'on' }, config)).toEqual({ onboot: "type check ('boolean') failed - got 'on'" });
    // the parameter itself is stored as given, not re-printed
    expect(validateParams(config, { node: 'pve', vmid: 100, net0: 'virtio,bridge=vmbr0,firewall=ON' }).params.net0).toBe('virtio,bridge=vmbr0,firewall=ON');
  });

  it('normalises legacy formats first: arrays for *-list strings joined, scalars for arrays wrapped', () => {
    expect(validateParams(config, { node: 'pve', vmid: 100, delete: ['net1', 'ide2'] }).params.delete).toBe('net1,ide2');
    expect(validateParams(config, { node: 'pve', vmid: 100, delete: ['net1', '1bad'] }).errors).toEqual({ delete: "invalid format - invalid configuration ID '1bad'\n" });
    const exec = spec.method('POST', '/nodes/{node}/qemu/{vmid}/agent/exec')!;
    expect(validateParams(exec, { node: 'pve', vmid: 100, command: 'uptime' }).params.command).toEqual(['uptime']);
    expect(validateParams(exec, { node: 'pve', vmid: 100, command: ['ls', '-l'] }).params.command).toEqual(['ls', '-l']);
    // Perl's `if (my $value = …)`: a false scalar is not wrapped, and then is no array
    expect(validateParams(exec, { node: 'pve', vmid: 100, command: '0' }).errors).toEqual({ command: "type check ('array') failed" });
    // an array for a string without -list format stays an array and fails
    expect(validateParams(config, { node: 'pve', vmid: 100, name: ['a', 'b'] }).errors).toEqual({ name: "type check ('string') failed - got ARRAY" });
    // array items are checked one by one, keyed name[i]
    const sendmail = spec.method('POST', '/cluster/notifications/endpoints/sendmail')!;
    expect(validateParams(sendmail, { name: 'mail1', mailto: ['a@example.com', 'not an address'] }).errors).toEqual({
      'mailto[1]': 'invalid format - value does not look like a valid email address or user name\n',
    });
  });

  it('lets undeclared parameters through where additionalProperties is 1', () => {
    const agent = spec.method('GET', '/nodes/{node}/qemu/{vmid}/agent')!;
    expect(agent.parameters.additionalProperties).toBe(1);
    expect(validateParams(agent, { node: 'pve', vmid: 100, anything: 'goes' })).toEqual({ params: { node: 'pve', vmid: 100, anything: 'goes' }, errors: null });
  });

  it('refuses `full=True` on clone exactly as proxmoxer users see it (issue #208)', () => {
    const r = validateParams(clone, { node: 'pve', vmid: 100, newid: 101, full: 'True', name: 'copy' });
    expect(r.errors).toEqual({ full: "type check ('boolean') failed - got 'True'" });
  });

  it('rejects net32 but takes net31, and checks every indexed option by its collapsed schema', () => {
    expect(errorsOf({ node: 'pve', vmid: 100, net31: 'virtio,bridge=vmbr0' }, config)).toBeNull();
    expect(errorsOf({ node: 'pve', vmid: 100, net32: 'virtio,bridge=vmbr0' }, config)).toEqual({
      net32: 'property is not defined in schema and the schema does not allow additional properties',
    });
    expect(errorsOf({ node: 'pve', vmid: 100, scsi30: 'local-lvm:32', scsi31: 'local-lvm:32' }, config)).toEqual({
      scsi31: 'property is not defined in schema and the schema does not allow additional properties',
    });
    expect(errorsOf({ node: 'pve', vmid: 100, scsi0: 'local-lvm:32,cache=fast' }, config)).toEqual({
      scsi0: "invalid format - format error\nscsi0.cache: value 'fast' does not have a value in the enumeration 'none, writethrough, writeback, unsafe, directsync'\n",
    });
    expect(errorsOf({ node: 'pve', vmid: 100, mp0: '/x' }, lxcConfig)).toEqual({ mp0: 'invalid format - format error\nmp0.mp: property is missing and it is not optional\n' });
  });
});

describe('named formats', () => {
  const cases: [string, string, string | null][] = [
    ['pve-node', 'pve-1', null],
    ['pve-node', '-pve', 'value does not look like a valid node name\n'],
    ['pve-vmid', '100', null],
    ['pve-vmid', '999999999', null],
    ['pve-vmid', '99', 'value does not look like a valid VM ID\n'],
    ['pve-vmid', '0100', 'value does not look like a valid VM ID\n'],
    ['pve-storage-id', 'local-lvm', null],
    ['pve-storage-id', 'a', "storage ID 'a' contains illegal characters\n"],
    ['pve-configid', 'net0', null],
    ['pve-configid', 'n', "invalid configuration ID 'n'\n"],
    ['pve-configid-list', 'net0, ide2;scsi1', null],
    ['pve-configid-list', '', null],
    ['pve-configid-list', 'net0,-x', "invalid configuration ID '-x'\n"],
    ['pve-tag-list', 'prod;Web,db test', null],
    ['pve-tag-list', 'prod;-x', 'invalid characters in tag\n'],
    ['dns-name', 'web-1.example.com', null],
    ['dns-name', 'web_1', 'value does not look like a valid DNS name\n'],
    ['dns-name-list', 'a.example b.example', null],
    ['dns-name-list', 'a.example,-b', 'value does not look like a valid DNS name\n'],
    ['mac-addr', 'BC:24:11:4F:2A:10', null],
    ['mac-addr', '01:24:11:4F:2A:10', 'value does not look like a valid unicast MAC address\n'],
    ['mac-addr', 'BC:24:11:4F:2A', 'value does not look like a valid unicast MAC address\n'],
    ['pve-bridge-id', 'vmbr0', null],
    ['pve-bridge-id', 'vmbr 0', "invalid bridge ID 'vmbr 0'\n"],
    ['CIDR', '10.0.0.0/8', null],
    ['CIDR', '2001:db8::/32', null],
    ['CIDR', '10.0.0.0/7', 'value does not look like a valid CIDR network\n'],
    ['CIDR', '10.0.0.1', 'value does not look like a valid CIDR network\n'],
    ['CIDRv4', '192.168.1.5/24', null],
    ['CIDRv6', '10.0.0.0/24', 'value does not look like a valid IPv6 CIDR network\n'],
    ['IPorCIDR', '192.168.1.0/24', null],
    ['IPorCIDR', 'fe80::1', null],
    ['IPorCIDR', '192.168.1.1/24', 'Invalid prefix 11000000101010000000000100000001/24\n'],
    ['IPorCIDR', 'host.example', 'value does not look like a valid IP address or CIDR network\n'],
    ['IPorCIDRorAlias', 'office_net', null],
    ['ipv4', '10.0.0.256', 'value does not look like a valid IPv4 address\n'],
    ['ipv4', '10.0.0.255', null],
    ['ipv6', '::1', null],
    ['ipv6', '::ffff:10.0.0.1', null],
    ['ipv6', '1::2::3', 'value does not look like a valid IPv6 address\n'],
    ['ip', 'fe80::1', null],
    ['ip', 'localhost', 'value does not look like a valid IP address\n'],
    ['address', 'localhost', null],
    ['address', 'a b', 'value does not look like a valid address: a b\n'],
    ['address-list', '10.0.0.1 ns.example', null],
    ['ipv4mask', '255.255.255.0', null],
    ['ipv4mask', '255.0.255.0', 'value does not look like a valid IP netmask\n'],
    ['email-opt', '', null],
    ['email-opt', 'root@example.com', null],
    ['email-opt', 'root', 'value does not look like a valid email address\n'],
    ['pve-userid', 'root@pam', null],
    ['pve-userid', 'r@', "user name 'r@' is too short\n"],
    ['pve-userid', 'root', "value 'root' does not look like a valid user name\n"],
    ['pve-userid', `${'a'.repeat(61)}@pve`, `user name '${'a'.repeat(61)}@pve' is too long (65 > 64)\n`],
    ['pve-tokenid', 'root@pam!ci', null],
    ['pve-tokenid', 'root@pam', "value 'root@pam' does not look like a valid token ID\n"],
    ['pve-realm', 'pve', null],
    ['pve-realm', '1ad', 'value does not look like a valid realm\n'],
    ['pve-volume-id', 'local:iso/debian.iso', null],
    ['pve-volume-id', 'debian.iso', "unable to parse volume ID 'debian.iso'\n"],
    ['pve-volume-id-or-qm-path', 'none', null],
    ['pve-volume-id-or-qm-path', 'cdrom', null],
    ['pve-volume-id-or-qm-path', '/dev/sdb', null],
    ['pve-volume-id-or-qm-path', 'local-lvm:32', null],
    ['pve-volume-id-or-qm-path', 'sdb', "unable to parse volume ID 'sdb'\n"],
    ['pve-iface', 'vmbr0', null],
    ['pve-iface', 'eth0.100', null],
    ['pve-iface', 'e', "invalid network interface name 'e'\n"],
    ['pve-iface-list', 'eno1 eno2', null],
    ['pve-poolid', 'lab', null],
    ['pve-poolid', 'lab/team-a', null],
    ['pve-poolid', 'lab pool', "pool name 'lab pool' contains invalid characters\n"],
    ['urlencoded', 'a%20b', null],
    ['urlencoded', 'a b', 'invalid urlencoded string: a b\n'],
    ['pve-startup-order', 'order=1,up=30,down=60', null],
    ['pve-startup-order', '2', null],
    ['pve-startup-order', '0', 'unable to parse startup options\n'],
    ['pve-startup-order', 'order=first', 'unable to parse startup options\n'],
    ['string-list', 'anything, at all', null],
    ['disk-size', '32G', null],
    ['disk-size', '1.5T', null],
    ['disk-size', '32GB', 'value does not look like a valid disk size: 32GB\n'],
    ['pve-vlan-id-or-range-list', '10 20-30', null],
    ['pve-vlan-id-or-range-list', '1', "invalid VLAN tag '1'\n"],
    ['pve-vlan-id-or-range-list', '30-20', "VLAN range must go from lower to higher tag '30-20'\n"],
    ['pve-fw-addr-spec', '10.0.0.0/24', null],
    ['pve-fw-addr-spec', '10.0.0.1,10.0.0.2', null],
    ['pve-fw-addr-spec', '10.0.0.1-10.0.0.9', null],
    ['pve-fw-addr-spec', '+myset', null],
    ['pve-fw-addr-spec', 'myalias', null],
    ['pve-fw-addr-spec', '10.0.0.1/24', 'invalid IP address: Invalid prefix 00001010000000000000000000000001/24\n'],
    ['pve-fw-addr-spec', '10.0.0.1,fe80::1', "detected mixed ipv4/ipv6 addresses in address list '10.0.0.1,fe80::1'\n"],
    ['pve-fw-addr-spec', '10.0.0.1,', 'extraneous commas in list\n'],
    ['pve-fw-addr-spec', '10.0.0.1-10.0.0.9,10.0.1.1', "you can't use a range in a list\n"],
    ['pve-fw-dport-spec', '22,80:90,https', null],
    ['pve-fw-dport-spec', 'echo-request', null],
    ['pve-fw-dport-spec', '70000', "invalid port '70000'\n"],
    ['pve-fw-dport-spec', '90:80', "backwards range '90:80' not allowed, did you mean '80:90'?\n"],
    ['pve-fw-dport-spec', 'nosuchservice', "invalid port 'nosuchservice'\n"],
    ['pve-fw-sport-spec', 'echo-request', "invalid port 'echo-request'\n"],
    ['pve-fw-dport-spec', '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16', 'too many entries in port list (> 15 numbers)\n'],
    ['pve-fw-protocol-spec', 'tcp', null],
    ['pve-fw-protocol-spec', '6', null],
    ['pve-fw-protocol-spec', 'tcpp', "unknown protocol 'tcpp'\n"],
    ['pve-fw-icmp-type-spec', 'echo-request', null],
    ['pve-fw-icmp-type-spec', 'ping', "invalid icmp-type value 'ping'\n"],
    ['pve-qm-bootdisk', 'scsi0', null],
    ['pve-qm-bootdisk', 'scsi31', "invalid boot disk 'scsi31'\n"],
    ['pve-hotplug-features', 'network,disk,usb', null],
    ['pve-hotplug-features', '0', null],
    ['pve-hotplug-features', 'disk,ram', "invalid hotplug feature 'ram'\n"],
    ['storage-pair-list', 'local:local-lvm,nfs1', null],
    ['storage-pair-list', '1', null],
    ['pve-calendar-event', 'anything goes here', null], // lenient
    ['no-such-format', 'x', null], // lenient
  ];
  it.each(cases)('%s %j', (format, value, expected) => {
    expect(checkFormat(format, value)).toBe(expected);
  });
});

describe('parsePropertyString (parse_property_string)', () => {
  it('reads a model=MAC key alias, lenient booleans and the default key', () => {
    expect(parsePropertyString(netFormat, 'tag=100,bridge=vmbr0,virtio=BC:24:11:4F:2A:10,firewall=yes,mtu=1400,link_down=OFF')).toEqual({
      tag: '100', bridge: 'vmbr0', model: 'virtio', macaddr: 'BC:24:11:4F:2A:10', firewall: '1', mtu: '1400', link_down: '0',
    });
    expect(parsePropertyString(netFormat, 'e1000,bridge=vmbr1')).toEqual({ model: 'e1000', bridge: 'vmbr1' });
    expect(parsePropertyString(netFormat, 'model=virtio,macaddr=BC:24:11:4F:2A:10')).toEqual({ model: 'virtio', macaddr: 'BC:24:11:4F:2A:10' });
    for (const [given, stored] of [['1', '1'], ['on', '1'], ['Yes', '1'], ['TRUE', '1'], ['0', '0'], ['off', '0'], ['NO', '0'], ['false', '0']]) {
      expect(parsePropertyString(diskFormat, `local-lvm:32,ssd=${given}`).ssd, given).toBe(stored);
    }
    // a plain alias stores under its target: `volume=` is `file=`
    expect(parsePropertyString(diskFormat, 'volume=local:iso/x.iso,media=cdrom')).toEqual({ file: 'local:iso/x.iso', media: 'cdrom' });
    // blank parts are skipped, a value may contain `=` and `:`
    expect(parsePropertyString(diskFormat, ' ,local-lvm:vm-100-disk-0,,serial=abc%3D')).toEqual({ file: 'local-lvm:vm-100-disk-0', serial: 'abc%3D' });
    expect(parsePropertyString({ k: { type: 'string' } }, 'k=a=b:c')).toEqual({ k: 'a=b:c' });
  });

  it('throws PropertyStringError with PVE\'s text, the key and the inner message', () => {
    const fail = (format: Record<string, PropertySchema>, text: string, path?: string) => {
      try {
        parsePropertyString(format, text, path);
      } catch (err) {
        expect(err).toBeInstanceOf(PropertyStringError);
        const e = err as PropertyStringError;
        return { message: e.message, key: e.key, inner: e.inner, errors: e.errors };
      }
      throw new Error(`no error for ${text}`);
    };
    expect(fail(netFormat, 'virtio,colour=blue')).toEqual({ message: 'invalid key in comma-separated list property: colour\n', key: 'colour', inner: 'invalid key in comma-separated list property: colour', errors: undefined });
    expect(fail(netFormat, 'virtio,tag=1,tag=2').message).toBe('duplicate key in comma-separated list property: tag\n');
    expect(fail(diskFormat, 'a:1,b:2')).toMatchObject({ message: 'duplicate key in comma-separated list property: file\n', key: 'file' });
    expect(fail(diskFormat, 'file=a:1,b:2').message).toBe('duplicate key in comma-separated list property: file\n');
    expect(fail(netFormat, 'virtio,e1000=BC:24:11:4F:2A:10')).toMatchObject({ message: "key alias 'model' is already defined\n", key: 'model' });
    expect(fail(netFormat, 'virtio,tag=').message).toBe('missing key in comma-separated list property\n');
    expect(fail(netFormat, 'virtio,=5').message).toBe('missing key in comma-separated list property\n');
    const ipconfig = { ip: { type: 'string', optional: 1 }, gw: { type: 'string', optional: 1 } } as Record<string, PropertySchema>;
    expect(fail(ipconfig, 'dhcp').message).toBe('value without key, but schema does not define a default key\n');
    // values are checked against their schemas: every failing key, prefixed with the path
    expect(fail(netFormat, 'virtio=01:24:11:4F:2A:10,tag=0,firewall=maybe', 'net0')).toEqual({
      message: "format error\nnet0.firewall: type check ('boolean') failed - got 'maybe'\nnet0.macaddr: invalid format - value does not look like a valid unicast MAC address\n\nnet0.tag: value must have a minimum value of 1\n",
      key: 'firewall',
      inner: "type check ('boolean') failed - got 'maybe'",
      errors: {
        'net0.firewall': "type check ('boolean') failed - got 'maybe'",
        'net0.macaddr': 'invalid format - value does not look like a valid unicast MAC address\n',
        'net0.tag': 'value must have a minimum value of 1',
      },
    });
    expect(fail(netFormat, 'bridge=vmbr0')).toMatchObject({ message: 'format error\nmodel: property is missing and it is not optional\n', key: 'model' });
  });

  it('has no quoting, like Perl: a comma always separates', () => {
    expect(() => parsePropertyString(diskFormat, 'local-lvm:32,serial="a,b"')).toThrow('duplicate key in comma-separated list property: file');
  });
});

describe('printPropertyString (print_property_string)', () => {
  it('prints network devices canonically: model=MAC first, then the rest alphabetically', () => {
    expect(printPropertyString(netFormat, { tag: '100', trunks: '10;20', rate: '10', queues: 2, mtu: '1400', firewall: '1', bridge: 'vmbr0', macaddr: 'BC:24:11:4F:2A:10', model: 'virtio' }))
      .toBe('virtio=BC:24:11:4F:2A:10,bridge=vmbr0,firewall=1,mtu=1400,queues=2,rate=10,tag=100,trunks=10;20');
    // without a MAC the model is the plain default value
    expect(printPropertyString(netFormat, { bridge: 'vmbr0', model: 'e1000' })).toBe('e1000,bridge=vmbr0');
    expect(printPropertyString(netFormat, { bridge: 'vmbr0', model: 'e1000', tag: undefined })).toBe('e1000,bridge=vmbr0');
  });

  it('prints drives with the volume first and sizes in bytes as format_size does', () => {
    expect(printPropertyString(diskFormat, { size: '32G', ssd: '1', iothread: '1', discard: 'on', cache: 'writeback', file: 'local-lvm:vm-100-disk-0' }))
      .toBe('local-lvm:vm-100-disk-0,cache=writeback,discard=on,iothread=1,size=32G,ssd=1');
    expect(printPropertyString(diskFormat, { file: 'local:iso/debian.iso', media: 'cdrom', size: 659554304 })).toBe('local:iso/debian.iso,media=cdrom,size=629M');
    expect(printPropertyString(diskFormat, { file: 'local-lvm:vm-100-disk-0', size: '34359738368' })).toBe('local-lvm:vm-100-disk-0,size=32G');
    expect(printPropertyString(diskFormat, { file: 'none', media: 'cdrom' })).toBe('none,media=cdrom');
    expect(printPropertyString(diskFormat, { file: 'local-lvm:vm-100-disk-0', size: '32G', backup: '0' }, ['backup'])).toBe('local-lvm:vm-100-disk-0,size=32G');
  });

  it('prints required keys right after the default key (LXC net: name first)', () => {
    const fmt = paramSchema(lxcConfig, 'net0')!.format as Record<string, PropertySchema>;
    expect(printPropertyString(fmt, { type: 'veth', ip: 'dhcp', bridge: 'vmbr0', name: 'eth0', hwaddr: 'BC:24:11:00:00:01' })).toBe('name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth');
  });

  it('refuses what PVE refuses to print', () => {
    expect(() => printPropertyString(netFormat, { model: 'virtio', trunks: '10,20' })).toThrow('illegal value with commas for trunks');
    expect(() => printPropertyString(netFormat, { model: 'virtio', colour: 'blue' })).toThrow("invalid key 'colour'");
  });

  it('round-trips net0: parse then print gives the canonical string, and that is a fixed point', () => {
    const given = 'bridge=vmbr0,firewall=on,tag=100,virtio=BC:24:11:4F:2A:10,mtu=1400';
    const canonical = printPropertyString(netFormat, parsePropertyString(netFormat, given));
    expect(canonical).toBe('virtio=BC:24:11:4F:2A:10,bridge=vmbr0,firewall=1,mtu=1400,tag=100');
    expect(printPropertyString(netFormat, parsePropertyString(netFormat, canonical))).toBe(canonical);
    const disk = 'ssd=yes,size=32G,local-lvm:vm-100-disk-0,discard=on,iothread=1,cache=writeback';
    expect(printPropertyString(diskFormat, parsePropertyString(diskFormat, disk))).toBe('local-lvm:vm-100-disk-0,cache=writeback,discard=on,iothread=1,size=32G,ssd=1');
  });
});

describe('sizes (format_size, parse_size)', () => {
  it('prints exact multiples with the largest unit, everything else in bytes', () => {
    expect(formatSize(32 * 1024 ** 3)).toBe('32G');
    expect(formatSize(2 * 1024 ** 4)).toBe('2T');
    expect(formatSize(1536 * 1024 ** 3)).toBe('1536G');
    expect(formatSize(661651456)).toBe('631M');
    expect(formatSize(4 * 1024 * 1024)).toBe('4M');
    expect(formatSize(2048)).toBe('2K');
    expect(formatSize(1536)).toBe('1536');
    expect(formatSize(1000)).toBe('1000');
    expect(formatSize(2048.9)).toBe('2K');
  });

  it('parses sizes with K/M/G/T (powers of 1024) and refuses anything else', () => {
    expect(parseSize('32G')).toBe(32 * 1024 ** 3);
    expect(parseSize('4M')).toBe(4 * 1024 ** 2);
    expect(parseSize('1.5K')).toBe(1536);
    expect(parseSize('1T')).toBe(1024 ** 4);
    expect(parseSize('1000')).toBe(1000);
    for (const bad of ['x', '32GB', '32g', ' 32G', '-1', '']) expect(parseSize(bad), bad).toBeNaN();
    expect(formatSize(parseSize('631M'))).toBe('631M');
  });
});
