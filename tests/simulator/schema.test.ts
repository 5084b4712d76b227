import { describe, expect, it } from 'vitest';
import { formatSize, parsePropertyString, parseSize, printPropertyString, PropertyStringError } from '../../src/simulator/schema/property-string.js';
import { paramSchema, PveSpec, type PropertySchema } from '../../src/simulator/schema/spec.js';
import { validateParams } from '../../src/simulator/schema/validate.js';

/** The schema layer on its own: indexed options, property strings, sizes, validation texts. */

const spec = PveSpec.load();
const config = spec.method('PUT', '/nodes/{node}/qemu/{vmid}/config')!;
const netFormat = paramSchema(config, 'net0')!.format as Record<string, PropertySchema>;
const diskFormat = paramSchema(config, 'scsi0')!.format as Record<string, PropertySchema>;

describe('indexed options', () => {
  it('expands net[n] to net0..net31 and nothing else', () => {
    expect(paramSchema(config, 'net0')).toBe(paramSchema(config, 'net31'));
    expect(paramSchema(config, 'net32')).toBeUndefined();
    expect(paramSchema(config, 'net01')).toBeUndefined();
    expect(paramSchema(config, 'ide3')).toBeDefined();
    expect(paramSchema(config, 'ide4')).toBeUndefined();
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
