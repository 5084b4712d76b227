import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { childEnvironment } from '../../src/engine/engine.js';
import type { RunSpec } from '../../src/engine/types.js';
import { bundleRoutes, CREATE_VM_KEYS } from '../../src/routes/bundles.js';
import type { Body, RouteContext, RouteDef } from '../../src/routes/types.js';
import { vmRoutes } from '../../src/routes/vms.js';
import { testConfig } from '../helpers.js';

/**
 * Static checks of the playbooks under catalog/ and playbooks/: every playbook passes
 * `ansible-playbook --syntax-check` (all of them in one process), every bundle and scenario
 * directory (a directory with a main.yml) has a valid vars.schema.json (JSON Schema 2020-12), and
 * the Proxmox bundles agree with the API routes that run them (the variables the routes send are
 * declared and valid, the create-vms tags exist) and with the contract's default VM sets.
 */

const CATALOG = path.join(REPO_ROOT, 'catalog');
const PLAYBOOKS = path.join(REPO_ROOT, 'playbooks');
const DEFAULT_VMS = path.join(CATALOG, 'bundles', 'core', 'proxmox', 'configure', 'default', 'vms');

type Schema = Record<string, unknown> & { properties?: Record<string, Record<string, unknown>>; examples?: unknown[] };

function yamlFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.ya?ml$/.test(d.name))
    .map((d) => path.join(d.parentPath, d.name))
    .sort();
}

const readYaml = (file: string): unknown => YAML.parse(fs.readFileSync(file, 'utf8'));

/** A playbook is a list of plays (hosts) or playbook imports; task and vars files are not. */
function isPlaybook(file: string): boolean {
  const doc = readYaml(file);
  return Array.isArray(doc) && doc.length > 0 && doc.every((p) => p !== null && typeof p === 'object' &&
    ('hosts' in p || 'import_playbook' in p || 'ansible.builtin.import_playbook' in p));
}

const playbooks = [...yamlFiles(CATALOG), ...yamlFiles(PLAYBOOKS)].filter(isPlaybook);
const rel = (file: string) => path.relative(REPO_ROOT, file);

/** Bundle and scenario directories: those holding a main.yml, as the API names them. */
const entryDirs = (['bundles', 'scenarios'] as const).flatMap((kind) =>
  yamlFiles(path.join(CATALOG, kind)).filter((f) => path.basename(f) === 'main.yml').map((f) => path.dirname(f)));

function syntaxCheck(files: string[]) {
  return spawnSync('/usr/bin/ansible-playbook', ['--syntax-check', '-i', path.join(REPO_ROOT, 'inventory', 'hosts.yml'), ...files], {
    cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000,
    env: { ...childEnvironment(process.env, REPO_ROOT), ANSIBLE_NOCOLOR: '1' },
  });
}

describe('ansible-playbook --syntax-check', () => {
  it('finds the playbooks (bundles, scenarios, their stages, the service playbooks)', () => {
    const names = playbooks.map(rel);
    expect(names).toContain('playbooks/generic.yml');
    expect(names).toContain('catalog/bundles/core/proxmox/configure/default/vms/create-vms-admin/init.yml');
    expect(names).toContain('catalog/scenarios/mini_lab/stages/03_firewall.yml');
    // task files and vars files are not playbooks
    expect(names.some((n) => n.includes('/_shared/'))).toBe(false);
    expect(names).not.toContain('catalog/scenarios/mini_lab/vars/lab.yml');
  });

  it('passes for every playbook (one ansible-playbook process for all of them)', () => {
    const r = syntaxCheck(playbooks);
    if (r.status !== 0) {
      // Name the culprits: the batch stops at the first error.
      const bad = playbooks.filter((f) => syntaxCheck([f]).status !== 0).map(rel);
      expect.fail(`syntax check failed (rc ${r.status}) for ${bad.join(', ')}:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
    }
    const checked = [...r.stdout.matchAll(/^playbook: (.+)$/gm)].map((m) => path.resolve(REPO_ROOT, m[1]!.trim()));
    expect(checked.sort()).toEqual([...playbooks].sort());
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------

describe('ansible-lint', () => {
  // The whole Ansible side (roles/, playbooks/, catalog/) under the root .ansible-lint (production
  // profile, offline). Its only exceptions are per-line `# noqa: var-naming` on the upper-case
  // variables of the guest roles (the API's and the original bundles' names).
  it('passes at the repository root with the production profile (roles, playbooks, catalog)', async () => {
    // As on the command line: no ANSIBLE_* setting of the engine's (ansible-lint runs
    // `ansible-playbook -i localhost, --syntax-check`, which needs the host_list inventory plugin).
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANSIBLE_')));
    Object.assign(env, { PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}`, ANSIBLE_ROLES_PATH: path.join(REPO_ROOT, 'roles'), ANSIBLE_NOCOLOR: '1' });
    const r = await promisify(execFile)('/usr/bin/ansible-lint', ['--nocolor', '-p'], {
      cwd: REPO_ROOT, env, timeout: 180_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8',
    }).then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: { code?: number | string; signal?: string; stdout?: string; stderr?: string }) =>
        ({ code: e.code ?? e.signal ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
    if (r.code !== 0) expect.fail(`ansible-lint exited with ${r.code}:\n${r.stdout}\n${r.stderr.slice(-4000)}`);
    const files = Number(/Passed with production profile: 0 failure\(s\), 0 warning\(s\) on (\d+) files/.exec(r.stderr)?.[1]);
    // Every YAML file of the three trees is linted (the count also has role directories and the like).
    const yaml = [CATALOG, PLAYBOOKS, path.join(REPO_ROOT, 'roles')].flatMap(yamlFiles);
    expect(files, r.stderr.slice(-2000)).toBeGreaterThanOrEqual(yaml.length);
  }, 200_000);
});

// ---------------------------------------------------------------------------------------------

function loadSchema(dir: string): Schema {
  const file = path.join(dir, 'vars.schema.json');
  expect(fs.existsSync(file), `${rel(file)} exists`).toBe(true);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Schema;
}

const compile = (schema: Schema) => new Ajv2020({ strict: true, allErrors: true }).compile(schema);

describe('vars.schema.json next to every bundle and scenario', () => {
  it('there are bundles and scenarios', () => {
    expect(entryDirs.filter((d) => d.includes(`${path.sep}scenarios${path.sep}`)).length).toBeGreaterThanOrEqual(2);
    expect(entryDirs.filter((d) => d.startsWith(DEFAULT_VMS)).length).toBe(17);
  });

  for (const dir of entryDirs) {
    it(`${path.relative(CATALOG, dir)}: a JSON Schema 2020-12 of an object, with a description per variable, valid defaults and examples`, () => {
      const schema = loadSchema(dir);
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.type).toBe('object');
      expect(typeof schema.title).toBe('string');
      expect(typeof schema.description).toBe('string');
      const validate = compile(schema); // throws on an invalid schema (strict mode: unknown keywords too)
      const props = schema.properties ?? {};
      expect(Object.keys(props).length).toBeGreaterThan(0);
      // Each default is valid for its variable: the root schema without its required/anyOf rules.
      const { required: _r, anyOf: _a, oneOf: _o, allOf: _l, ...loose } = schema;
      const validateOne = compile(loose as Schema);
      for (const [name, prop] of Object.entries(props)) {
        expect(typeof prop.description === 'string' || typeof prop.$ref === 'string', `${name} has a description`).toBe(true);
        if ('default' in prop) expect(validateOne({ [name]: prop.default }), `default of ${name}: ${JSON.stringify(validateOne.errors)}`).toBe(true);
      }
      for (const example of schema.examples ?? []) expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    });
  }
});

// ---------------------------------------------------------------------------------------------

const ctx: RouteContext = {
  config: testConfig({ PROJECT_ROOT_DIR: REPO_ROOT }),
  resolveVmName: () => Promise.reject(new Error('not used')),
  proxmoxApiHosts: () => [],
  configuredVarNames: () => null,
};

/** Every route that runs a bundle under core/proxmox, with a request body for it. */
function proxmoxBundleRequests(): Array<{ route: RouteDef; body: Body }> {
  const out: Array<{ route: RouteDef; body: Body }> = [];
  for (const route of [...bundleRoutes, ...vmRoutes]) {
    const m = /\/(create-vms|delete-vms|start-vms|stop-vms|pause-vms|resume-vms|snapshot\/create-vms|snapshot\/revert-vms)-(admin|student|vuln)$/.exec(route.url);
    if (m) {
      const role = m[2] as keyof typeof CREATE_VM_KEYS;
      const body: Body = { proxmox_node: 'px-testing' };
      if (m[1] === 'create-vms') {
        body.vms = Object.fromEntries(CREATE_VM_KEYS[role].map((k, i) => [k, { vm_id: 5000 + i, vm_ip: `10.0.0.${10 + i}`, vm_description: `vm ${k}` }]));
      }
      if (m[1] === 'snapshot/revert-vms') body.vm_snapshot_name = 'before-test';
      out.push({ route, body });
    } else if (route.url.includes('/vm_ids/')) {
      out.push({
        route,
        body: route.url.endsWith('/delete')
          ? { proxmox_node: 'px-testing', vms: [{ id: '4000', name: 'vuln-box-00' }] }
          : { proxmox_node: 'px-testing', vm_ids: ['4000', '4001'] },
      });
    }
  }
  return out;
}

describe('the API routes and the Proxmox bundles agree', () => {
  const requests = proxmoxBundleRequests();

  it('every route of a default-VM bundle and every mass route is covered', () => {
    // 3 roles × (create, delete, 4 power verbs, snapshot, revert) + 5 mass power + mass delete
    expect(requests.length).toBe(3 * 8 + 6);
  });

  for (const { route, body } of requests) {
    it(`${route.method} ${route.url}: the playbooks exist and the schema declares and accepts every variable sent`, async () => {
      const specs = ([] as RunSpec[]).concat(await route.plan(body, ctx, {}));
      for (const spec of specs) {
        expect(spec.playbook.startsWith(DEFAULT_VMS + path.sep), spec.playbook).toBe(true);
        const schema = loadSchema(path.dirname(spec.playbook));
        const declared = Object.keys(schema.properties ?? {});
        const sent = spec.extravars ?? {};
        expect(Object.keys(sent).filter((k) => !declared.includes(k)), `undeclared variables of ${rel(spec.playbook)}`).toEqual([]);
        const validate = compile(schema);
        expect(validate(sent), `${rel(spec.playbook)}: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
    });
  }

  for (const role of ['admin', 'student', 'vuln'] as const) {
    it(`create-vms-${role}/init.yml: two plays per VM key the API sends (--tags), node then guest`, () => {
      const plays = readYaml(path.join(DEFAULT_VMS, `create-vms-${role}`, 'init.yml')) as Array<{ hosts: string; tags: string[] }>;
      expect(plays.map((p) => p.tags)).toEqual(CREATE_VM_KEYS[role].flatMap((k) => [[k], [k]]));
      expect(plays.map((p) => p.hosts)).toEqual(CREATE_VM_KEYS[role].flatMap((k) => ['proxmox', `r42.${k}`]));
    });
  }
});

describe('the default VM sets', () => {
  const doc = readYaml(path.join(DEFAULT_VMS, '_shared', 'default_vms.yml')) as {
    r42_default_vms: Record<string, Array<{ key: string; id: number; template: number; ip: string }>>;
    r42_default_role_settings: Record<string, { bridge: string; tag: string; group: string }>;
  };

  it('are the contract’s (demo_lab numbering) with the API’s VM keys', () => {
    const sets = doc.r42_default_vms;
    const rows = (role: string) => sets[role]!.map((v) => [v.key, v.id, v.template, v.ip]);
    expect(rows('admin')).toEqual([
      ['admin-wazuh', 1000, 9232, '192.168.142.100'],
      ['admin-deployer-api-gateway', 1020, 9221, '192.168.142.120'],
      ['admin-deployer-api-backend', 1021, 9221, '192.168.142.121'],
      ['admin-deployer-ui', 1023, 9221, '192.168.142.123'],
    ]);
    expect(rows('student')).toEqual([['student-box-01', 3001, 9211, '192.168.143.160']]);
    expect(rows('vuln')).toEqual([0, 1, 2, 3, 4].map((i) => [`vuln-box-0${i}`, 4000 + i, 9221, `192.168.144.${170 + i}`]));
    for (const role of ['admin', 'student', 'vuln'] as const) expect(sets[role]!.map((v) => v.key)).toEqual(CREATE_VM_KEYS[role]);
  });

  it('put each role on its own bridge, tag and guest group', () => {
    const s = doc.r42_default_role_settings;
    expect([s.admin, s.student, s.vuln].map((r) => [r!.bridge, r!.tag, r!.group])).toEqual([
      ['vmbr142', 'admin', 'r42_admin'], ['vmbr143', 'student', 'r42_student_box_group'], ['vmbr144', 'vuln', 'r42_vuln_box_group'],
    ]);
  });
});
