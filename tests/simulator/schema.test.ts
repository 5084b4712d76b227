import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSpec, readSharedSchema, renderSpec, SHARED_SCHEMA, SPEC_FILE, type SchemaTreeNode } from '../../scripts/gen-pve-spec.js';
import { formatSize, parsePropertyString, parseSize, printPropertyString, PropertyStringError } from '../../src/simulator/schema/property-string.js';
import { INDEX_RANGES, paramSchema, PveSpec, type PropertySchema } from '../../src/simulator/schema/spec.js';
import { validateParams } from '../../src/simulator/schema/validate.js';

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

describe('property strings', () => {
  it('reads a model=MAC key alias and prints it back canonically, keys sorted', () => {
    const v = parsePropertyString(netFormat, 'tag=100,bridge=vmbr0,virtio=BC:24:11:4F:2A:10,firewall=yes,mtu=1400');
    expect(v).toEqual({ tag: '100', bridge: 'vmbr0', model: 'virtio', macaddr: 'BC:24:11:4F:2A:10', firewall: '1', mtu: '1400' });
    expect(printPropertyString(netFormat, v)).toBe('virtio=BC:24:11:4F:2A:10,bridge=vmbr0,firewall=1,mtu=1400,tag=100');
  });

  it('takes the default key without key= and refuses a second one', () => {
    expect(parsePropertyString(diskFormat, 'local-lvm:vm-100-disk-0,ssd=on,size=32G')).toEqual({ file: 'local-lvm:vm-100-disk-0', ssd: '1', size: '32G' });
    expect(printPropertyString(diskFormat, { size: '32G', file: 'local-lvm:vm-100-disk-0', cache: 'writeback', iothread: '1', discard: 'on', ssd: '1' }))
      .toBe('local-lvm:vm-100-disk-0,cache=writeback,discard=on,iothread=1,size=32G,ssd=1');
    expect(() => parsePropertyString(diskFormat, 'a:1,b:2')).toThrow(PropertyStringError);
    expect(() => parsePropertyString(diskFormat, 'a:1,bogus=2')).toThrow('invalid key in comma-separated list property: bogus');
  });

  it('prints required keys after the default key (LXC net: name first)', () => {
    const lxc = spec.method('PUT', '/nodes/{node}/lxc/{vmid}/config')!;
    const fmt = paramSchema(lxc, 'net0')!.format as Record<string, PropertySchema>;
    expect(printPropertyString(fmt, { type: 'veth', ip: 'dhcp', bridge: 'vmbr0', name: 'eth0' })).toBe('name=eth0,bridge=vmbr0,ip=dhcp,type=veth');
  });
});

describe('sizes', () => {
  it('prints exact multiples with a unit and the rest in bytes', () => {
    expect([formatSize(32 * 1024 ** 3), formatSize(661651456), formatSize(1000), formatSize(2 * 1024 ** 4)]).toEqual(['32G', '631M', '1000', '2T']);
    expect(formatSize(1536)).toBe('1536');
    expect(formatSize(2048)).toBe('2K');
    expect(parseSize('4G')).toBe(4 * 1024 ** 3);
    expect(parseSize('x')).toBeNaN();
  });
});

describe('validateParams', () => {
  const clone = spec.method('POST', '/nodes/{node}/qemu/{vmid}/clone')!;
  it('normalises booleans and integers and keeps strings', () => {
    expect(validateParams(clone, { node: 'pve', vmid: '100', newid: 101, full: true, name: 'x' })).toEqual({
      params: { node: 'pve', vmid: 100, newid: 101, full: 1, name: 'x' }, errors: null,
    });
  });

  it('reports PVE texts for top-level booleans, JSON booleans to integers, and missing parameters', () => {
    const r = validateParams(clone, { node: 'pve', vmid: 100, full: 'True', newid: true });
    expect(r.errors).toEqual({ full: "type check ('boolean') failed - got 'True'", newid: "type check ('integer') failed - got JSON::PP::Boolean" });
    expect(validateParams(clone, { node: 'pve', vmid: 100 }).errors).toEqual({ newid: 'property is missing and it is not optional' });
  });

  it('joins arrays given for a -list format and checks string lengths', () => {
    const put = validateParams(config, { node: 'pve', vmid: 100, delete: ['net1', 'ide2'] });
    expect(put.params.delete).toBe('net1,ide2');
    const name = validateParams(config, { node: 'pve', vmid: 100, name: 'has space' });
    expect(name.errors).toEqual({ name: 'invalid format - value does not look like a valid DNS name' });
  });
});
