import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../../src/app.js';
import { Engine, type Run, type RunResult, type RunSpec } from '../../src/engine/engine.js';
import { extractResult, logLines } from '../../src/engine/extract.js';
import { resolveCatalogPlaybook } from '../../src/engine/names.js';
import { bundleRoutes } from '../../src/routes/bundles.js';
import type { Body, RouteContext } from '../../src/routes/types.js';
import { callOperation } from '../e2e/stack.js';
import { silentLog, testConfig } from '../helpers.js';
import { markStarted, recordServed } from '../e2e/served.js';

/**
 * The Ubuntu guest bundles (catalog/bundles/core/linux/ubuntu/...) and the ping bundle, run for real
 * through the Engine (ansible-runner) against a disposable Debian bookworm chroot reached with
 * Ansible's community.general.chroot connection. Each bundle is run through its curl_utils script
 * against the service listening on a port (HTTP, validation, route plan, job handling); the run
 * the request started is then read from the engine for the checks that need its events.
 *
 * The chroot comes from tests/catalog/target/debian-chroot.sh: built once with debootstrap and
 * cached as a tarball (first run: one to two minutes more; needs root, the Debian package debootstrap
 * and access to deb.debian.org), unpacked fresh on a tmpfs for this file and removed afterwards.
 * The image carries the .deb files of every package installed here and apt lists that the
 * inventory declares fresh (warmup_apt_cache_valid_time), so runs with the cached tarball need no
 * network. Nothing is booted in a chroot: services (dockerd, timesyncd) are installed, never
 * started (policy-rc.d, and the roles start them only when systemd runs).
 *
 * Two targets, two chains of runs going on at the same time (the engine runs two at once):
 * - target A, in test order: ping, the controller guard, add-user, then dot-files for those users;
 * - target B, started by the first hook: docker, docker-compose, then basic-packages with the
 *   cleaning (it empties apt's .deb cache, so it comes last); its tests wait for their step.
 */

const TARGET_SCRIPT = path.join(REPO_ROOT, 'tests', 'catalog', 'target', 'debian-chroot.sh');
const GUEST = 'r42.test-guest';
const GUEST_B = 'r42.test-guest-b';
const CONTROLLER = 'r42.controller-itself';
const NODE = 'px-testing';
const UBUNTU_URL = '/v0/admin/run/bundles/core/linux/ubuntu/';
const SLOW = 240_000;

let work: string;
/** The chroot of target A (users, dot files), and of target B (packages). */
let root: string;
let rootB: string;
let engine: RecordingEngine;
let app: FastifyInstance;
let base: string;
let ctx: RouteContext;
let inventory: string;
const timings: string[] = [];

/** Whatever could not run, said once and loudly: the file fails instead of skipping. */
function requirements(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (chroot, debootstrap, tmpfs)');
  if (!fs.existsSync('/usr/sbin/chroot')) missing.push('/usr/sbin/chroot (coreutils)');
  if (!fs.existsSync('/usr/sbin/debootstrap') && !cachedTarballExists()) missing.push('/usr/sbin/debootstrap (Debian package debootstrap)');
  return missing;
}

function cachedTarballExists(): boolean {
  const dir = process.env.R42_TEST_TARGET_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'range42');
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith('debian-bookworm-'));
}

function targetScript(...args: string[]): string {
  return execFileSync(TARGET_SCRIPT, args, {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000, env: { ...process.env, R42_TEST_TARGET_OWNER: String(process.pid) },
  }).trim();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Targets of earlier runs that were killed before their cleanup (their owner is gone): removed. */
function sweepAbandoned(): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith('r42-guest-')) continue;
    const dir = path.join(os.tmpdir(), name);
    let owner = 0;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not (yet) ours to judge
    }
    if (!owner || isAlive(owner)) continue;
    for (const t of fs.readdirSync(dir).filter((n) => n.startsWith('target-'))) targetScript('remove', path.join(dir, t));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A command inside a chroot (as root); stdout. */
function inGuest(dir: string, ...argv: string[]): string {
  return execFileSync('/usr/sbin/chroot', [dir, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const guestFile = (p: string, dir = root) => path.join(dir, p);
const passwdEntry = (user: string) => fs.readFileSync(guestFile('etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))?.split(':');
const shadowEntry = (user: string) => fs.readFileSync(guestFile('etc/shadow'), 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))?.split(':');

/** Packages of the list that dpkg does not report as installed. */
function notInstalled(dir: string, packages: string[]): string[] {
  // dpkg-query exits 1 when a package is unknown: read its output whatever the status.
  const out = spawnSync('/usr/sbin/chroot', [dir, 'dpkg-query', '-W', '-f', '${Package} ${db:Status-Status}\\n', ...packages], { encoding: 'utf8' }).stdout;
  const installed = new Set(out.split('\n').filter((l) => l.endsWith(' installed')).map((l) => l.split(' ')[0]));
  return packages.filter((p) => !installed.has(p));
}

/** Processes whose root directory is inside the chroot (nothing may keep running there). */
function processesInTarget(dir: string): number[] {
  const real = fs.realpathSync(dir);
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const r = fs.readlinkSync(`/proc/${entry}/root`);
      if (r === real || r.startsWith(real + '/')) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function cryptMatches(password: string, hash: string): boolean {
  const out = execFileSync('/usr/bin/python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]) == sys.argv[2])', password, hash], { encoding: 'utf8' });
  return out.trim() === 'True';
}

const route = (name: string) => {
  const def = bundleRoutes.find((r) => r.url === UBUNTU_URL + name);
  if (!def) throw new Error(`no route for ${name}`);
  return def;
};

/** What the API runs for this request (the route's own plan). */
async function planFor(name: string, body: Body): Promise<RunSpec> {
  const spec = await route(name).plan(body, ctx, {});
  expect(Array.isArray(spec)).toBe(false);
  return spec as RunSpec;
}

/** The service's engine, keeping every run it starts, so a test can read the events of a request's run. */
class RecordingEngine extends Engine {
  readonly runs: Run[] = [];
  override start(spec: RunSpec): Run {
    const r = super.start(spec);
    this.runs.push(r);
    return r;
  }
}
const claimed = new Set<Run>();

async function run(label: string, spec: RunSpec): Promise<RunResult> {
  const t0 = Date.now();
  const r = await engine.run(spec);
  timings.push(`${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

/**
 * Calls the bundle's route through its curl script and returns the run the request started; the
 * HTTP answer must match that run (200 and rc 0, or 500 and the run's rc).
 */
async function runBundle(name: string, body: Body): Promise<RunResult> {
  const t0 = Date.now();
  const res = await callOperation(base, route(name).operationId, body);
  const started = engine.runs.find((r) => !claimed.has(r) && r.createdAt >= t0 && r.spec.label === `bundle:${name}` && r.spec.limit === body.hosts);
  expect(started, `${name}: no run started; HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`).toBeDefined();
  claimed.add(started!);
  const r = await started!.done;
  timings.push(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  expect(res.status, JSON.stringify(res.body).slice(-800)).toBe(r.rc === 0 ? 200 : 500);
  expect(res.body.rc).toBe(r.rc);
  return r;
}

const log = (r: RunResult) => logLines(r.events).join('\n');
const expectOk = (r: RunResult) => expect(r.rc, log(r).split('\n').slice(-40).join('\n')).toBe(0);
const one = (r: RunResult, key: string): Record<string, unknown> => {
  const values = extractResult(r.events, key);
  expect(values, `${key} published once`).toHaveLength(1);
  return values[0] as Record<string, unknown>;
};
/** PLAY RECAP's changed count of a host. */
const changedCount = (r: RunResult, host = GUEST): number => {
  const stats = r.events.find((e) => e.event === 'playbook_on_stats')?.event_data as { changed?: Record<string, number> } | undefined;
  return stats?.changed?.[host] ?? 0;
};

const chrootHost = (dir: string) => ({
  ansible_connection: 'community.general.chroot',
  ansible_host: dir,
  ansible_chroot_exe: '/usr/sbin/chroot',
  ansible_python_interpreter: '/usr/bin/python3',
  // The image's apt lists are used as they are: no refresh, so no network once cached.
  warmup_apt_cache_valid_time: 100_000_000,
});

function writeInventory(dir: string): void {
  const inv = {
    all: {
      children: {
        guests: { hosts: { [GUEST]: chrootHost(root), [GUEST_B]: chrootHost(rootB) } },
        controller: {
          hosts: {
            // The machine running the tests. The roles must refuse it; should one not, no module
            // could even start here (no such interpreter), so nothing on this machine changes.
            [CONTROLLER]: { ansible_connection: 'local', ansible_python_interpreter: '/nonexistent/python3' },
          },
        },
      },
    },
  };
  fs.writeFileSync(path.join(dir, 'hosts.yml'), YAML.stringify(inv));
}

/** Target B's chain: started as soon as the targets exist, each step after the previous one. */
interface ChainB { docker: Promise<RunResult>; compose: Promise<RunResult>; basic: Promise<RunResult>; debsBeforeBasic: number }
let chainB: ChainB;

function startChainB(): ChainB {
  const bodyB = { proxmox_node: NODE, hosts: GUEST_B };
  const chain = {} as ChainB;
  chain.docker = runBundle('install/docker', { ...bodyB, install_package_docker: true, install_ntpclient_and_update_time: false, packages_cleaning: false });
  chain.compose = chain.docker.then(() => runBundle('install/docker-compose', {
    ...bodyB, install_package_docker: true, install_package_docker_compose: true, install_ntpclient_and_update_time: false, packages_cleaning: false,
  }));
  chain.basic = chain.compose.then(() => {
    chain.debsBeforeBasic = fs.readdirSync(guestFile('var/cache/apt/archives', rootB)).filter((f) => f.endsWith('.deb')).length;
    return runBundle('install/basic-packages', {
      ...bodyB, install_package_basics: true, install_package_firewalls: true, install_package_docker: false,
      install_package_docker_compose: false, install_package_utils_json: true, install_package_utils_network: true,
      install_ntpclient_and_update_time: true, packages_cleaning: true,
    });
  });
  return chain;
}

beforeAll(async () => {
  markStarted();
  const missing = requirements();
  if (missing.length > 0) throw new Error(`the guest bundle tests need ${missing.join(', ')}; nothing was run`);
  sweepAbandoned();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'r42-guest-'));
  fs.writeFileSync(path.join(work, 'owner.pid'), String(process.pid));
  root = path.join(work, 'target-a');
  rootB = path.join(work, 'target-b');
  const t0 = Date.now();
  targetScript('unpack', root);
  targetScript('unpack', rootB);
  timings.push(`targets ready: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const invDir = path.join(work, 'inventory');
  fs.mkdirSync(invDir);
  writeInventory(invDir);
  inventory = path.join(invDir, 'hosts.yml');
  const config = testConfig({ PROJECT_ROOT_DIR: REPO_ROOT, API_BACKEND_INVENTORY_DIR: invDir, RUNNER_MAX_CONCURRENT: '2' });
  engine = new RecordingEngine({ config, vaultPasswordFile: null, log: silentLog });
  ctx = { config, resolveVmName: () => Promise.reject(new Error('not used by the bundles')), proxmoxApiHosts: () => [], configuredVarNames: () => null };
  app = await createApp(config, { logger: false, engine });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  chainB = startChainB();
}, 600_000);

afterAll(async () => {
  if (chainB) await Promise.allSettled([chainB.docker, chainB.compose, chainB.basic]);
  if (base) await recordServed(base);
  await app?.close();
  await engine?.close();
  for (const dir of [root, rootB]) {
    if (!dir || !fs.existsSync(dir)) continue;
    expect(processesInTarget(dir), `processes left running in ${dir}`).toEqual([]);
    targetScript('remove', dir);
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
  if (process.env.GUEST_BUNDLES_TIMING) console.log(timings.join('\n'));
}, 300_000);

// ---------------------------------------------------------------------------------------------

describe('vars.schema.json of each bundle', () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const bundles = ['ping', 'core/linux/ubuntu/configure/add-user', 'core/linux/ubuntu/install/basic-packages', 'core/linux/ubuntu/install/docker',
    'core/linux/ubuntu/install/docker-compose', 'core/linux/ubuntu/install/dot-files'];
  const schemaOf = (b: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'catalog', 'bundles', b, 'vars.schema.json'), 'utf8')) as {
    $schema: string; properties: Record<string, { default?: unknown; description?: string }>; required?: string[];
  };

  it('each is a valid JSON Schema 2020-12 with a description for every variable, and its defaults valid', () => {
    for (const b of bundles) {
      const schema = schemaOf(b);
      expect(schema.$schema, b).toBe('https://json-schema.org/draft/2020-12/schema');
      const validate = ajv.compile(schema);
      for (const [name, prop] of Object.entries(schema.properties)) {
        expect(prop.description, `${b}: ${name}`).toBeTruthy();
        if (prop.default !== undefined) expect(validate({ ...requiredSample(schema), [name]: prop.default }), `${b}: default of ${name}`).toBe(true);
      }
    }
  });

  it('every extra var the API routes send is declared, and the sent values are valid', async () => {
    const bodies: Record<string, Body> = {
      'configure/add-user': { proxmox_node: NODE, hosts: GUEST, user: 'bob', password: 'Ch4nge-me', change_pwd_at_logon: true, shell_path: '/bin/bash' },
      'install/basic-packages': {
        proxmox_node: NODE, hosts: GUEST, install_package_basics: true, install_package_firewalls: false, install_package_docker: false,
        install_package_docker_compose: false, install_package_utils_json: true, install_package_utils_network: true,
        install_ntpclient_and_update_time: false, packages_cleaning: true,
      },
      'install/docker': { proxmox_node: NODE, hosts: GUEST, install_package_docker: true, install_ntpclient_and_update_time: true, packages_cleaning: false },
      'install/docker-compose': {
        proxmox_node: NODE, hosts: GUEST, install_package_docker: true, install_package_docker_compose: true, install_ntpclient_and_update_time: false, packages_cleaning: false,
      },
      'install/dot-files': { proxmox_node: NODE, hosts: GUEST, user: 'alice', install_vim_dot_files: true, install_zsh_dot_files: false, apply_for_root: false },
    };
    for (const [name, body] of Object.entries(bodies)) {
      const spec = await planFor(name, body);
      const schema = schemaOf(`core/linux/ubuntu/${name}`);
      expect(spec.playbook).toBe(path.join(REPO_ROOT, 'catalog', 'bundles', 'core', 'linux', 'ubuntu', name, 'main.yml'));
      expect(spec.limit).toBe(GUEST);
      const vars = spec.extravars ?? {};
      expect(Object.keys(vars).filter((k) => !(k in schema.properties)), name).toEqual([]);
      const validate = ajv.compile(schema);
      expect(validate(vars), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  function requiredSample(schema: { required?: string[] }): Body {
    const sample: Body = { TARGET_USER: 'bob', TARGET_PASSWORD: 'x', OPERATOR_USER: 'bob' };
    return Object.fromEntries((schema.required ?? []).map((k) => [k, sample[k]]));
  }
});

describe('ping', () => {
  it('answers pong from the guest', async () => {
    const playbook = resolveCatalogPlaybook(path.join(REPO_ROOT, 'catalog'), 'bundles', 'ping');
    const r = await run('ping', { playbook, inventory, limit: GUEST });
    expectOk(r);
    expect(extractResult(r.events, 'ping')).toEqual(['pong']);
  }, SLOW);
});

describe('the roles refuse the controller itself', () => {
  const cases: Array<[string, Body, string]> = [
    ['configure/add-user', { user: 'r42-must-not-exist', password: 'Ch4nge-me', change_pwd_at_logon: false, shell_path: '/bin/sh' }, 'systems.configure.add_user'],
    ['install/basic-packages', { install_package_basics: true, install_package_firewalls: false, install_package_docker: false, install_package_docker_compose: false,
      install_package_utils_json: false, install_package_utils_network: false, install_ntpclient_and_update_time: false, packages_cleaning: false }, 'software.install.warmup.basic_packages'],
    ['install/dot-files', { user: 'root', install_vim_dot_files: true, install_zsh_dot_files: false, apply_for_root: true }, 'software.install.warmup.dot_files'],
  ];
  for (const [name, body, role] of cases) {
    it(`${role} fails on a host with ansible_connection local before changing anything`, async () => {
      const r = await runBundle(name, { proxmox_node: NODE, hosts: CONTROLLER, ...body });
      expect(r.rc).not.toBe(0);
      expect(log(r)).toMatch(/refusing to change the controller/);
      expect(r.events.filter((e) => e.event === 'runner_on_ok' && e.event_data?.host === CONTROLLER)).toEqual([]);
    }, SLOW);
  }
  it('no user was created on this machine', () => {
    expect(fs.readFileSync('/etc/passwd', 'utf8')).not.toMatch(/^r42-must-not-exist:/m);
  });
});

describe('configure/add-user', () => {
  const password = 'Ch4nge-me.' + Math.random().toString(36).slice(2, 8);
  const body = { proxmox_node: NODE, hosts: GUEST, user: 'bob', password, change_pwd_at_logon: true, shell_path: '/bin/bash' };
  let first: RunResult;
  beforeAll(async () => {
    first = await runBundle('configure/add-user', body);
  }, SLOW);

  it('creates the user with its home, shell and a sha512-crypt hash of the password', () => {
    expectOk(first);
    const pw = passwdEntry('bob');
    expect(pw?.[5]).toBe('/home/bob');
    expect(pw?.[6]).toBe('/bin/bash');
    expect(fs.statSync(guestFile('home/bob')).uid).toBe(Number(pw?.[2]));
    const hash = shadowEntry('bob')![1]!;
    expect(hash).toMatch(/^\$6\$/);
    expect(cryptMatches(password, hash)).toBe(true);
    expect(one(first, 'add_user')).toMatchObject({ user: 'bob', home: '/home/bob', shell: '/bin/bash', must_change_password: true });
  });

  it('forces a password change at the next login (chage -d 0)', () => {
    expect(shadowEntry('bob')![2]).toBe('0');
    expect(inGuest(root, 'chage', '-l', 'bob')).toMatch(/Last password change\s*:\s*password must be changed/);
  });

  it('never prints the password or its hash', () => {
    const everything = JSON.stringify(first.events);
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(shadowEntry('bob')![1]);
  });

  it('a second run with the same request changes nothing', async () => {
    const hash = shadowEntry('bob')![1];
    const again = await runBundle('configure/add-user', body);
    expectOk(again);
    expect(changedCount(again)).toBe(0);
    expect(shadowEntry('bob')![1]).toBe(hash);
  }, SLOW);

  it('without CHANGE_PWD_AT_LOGON the password is not expired; the shell is the one asked for', async () => {
    const r = await runBundle('configure/add-user', { proxmox_node: NODE, hosts: GUEST, user: 'carol', password: 'An0ther.pw', change_pwd_at_logon: false, shell_path: '/bin/sh' });
    expectOk(r);
    expect(passwdEntry('carol')?.[6]).toBe('/bin/sh');
    expect(shadowEntry('carol')![2]).not.toBe('0');
    expect(cryptMatches('An0ther.pw', shadowEntry('carol')![1]!)).toBe(true);
  }, SLOW);

  it('a shell that is not installed is refused with a clear message', async () => {
    const r = await runBundle('configure/add-user', { proxmox_node: NODE, hosts: GUEST, user: 'dave', password: 'x', change_pwd_at_logon: false, shell_path: '/bin/nosuchshell' });
    expect(r.rc).not.toBe(0);
    expect(log(r)).toMatch(/\/bin\/nosuchshell is not installed/);
    expect(passwdEntry('dave')).toBeUndefined();
  }, SLOW);
});

describe('install/dot-files', () => {
  it('vim only, for the operator only (APPLY_FOR_ROOT false)', async () => {
    const r = await runBundle('install/dot-files', { proxmox_node: NODE, hosts: GUEST, user: 'carol', install_vim_dot_files: true, install_zsh_dot_files: false, apply_for_root: false });
    expectOk(r);
    expect(notInstalled(root, ['vim'])).toEqual([]);
    const vimrc = fs.statSync(guestFile('home/carol/.vimrc'));
    expect(vimrc.uid).toBe(Number(passwdEntry('carol')?.[2]));
    expect(fs.existsSync(guestFile('root/.vimrc'))).toBe(false);
    expect(fs.existsSync(guestFile('home/carol/.zshrc'))).toBe(false);
    expect(passwdEntry('carol')?.[6]).toBe('/bin/sh');
    expect(one(r, 'dot_files')).toMatchObject({ accounts: ['carol'], vim: true, zsh: false, oh_my_zsh: false, files: ['/home/carol/.vimrc'] });
  }, SLOW);

  it('vim and zsh for the operator and root: files, owners, zsh as login shell, a .zshrc that loads', async () => {
    const r = await runBundle('install/dot-files', { proxmox_node: NODE, hosts: GUEST, user: 'bob', install_vim_dot_files: true, install_zsh_dot_files: true, apply_for_root: true });
    expectOk(r);
    expect(notInstalled(root, ['vim', 'zsh'])).toEqual([]);
    const uid = Number(passwdEntry('bob')?.[2]);
    for (const f of ['home/bob/.vimrc', 'home/bob/.zshrc']) expect(fs.statSync(guestFile(f)).uid, f).toBe(uid);
    for (const f of ['root/.vimrc', 'root/.zshrc']) expect(fs.statSync(guestFile(f)).uid, f).toBe(0);
    expect(passwdEntry('bob')?.[6]).toBe('/usr/bin/zsh');
    expect(passwdEntry('root')?.[6]).toBe('/usr/bin/zsh');
    expect(fs.existsSync(guestFile('home/bob/.oh-my-zsh'))).toBe(false); // no download unless asked
    expect(inGuest(root, '/usr/bin/env', 'HOME=/home/bob', '/usr/bin/zsh', '-c', 'source /home/bob/.zshrc && echo loaded')).toBe('loaded\n');
    expect(one(r, 'dot_files')).toMatchObject({ accounts: ['bob', 'root'], vim: true, zsh: true, shells: { bob: '/usr/bin/zsh', root: '/usr/bin/zsh' } });
  }, SLOW);

  it('an operator that does not exist is refused with a clear message', async () => {
    const r = await runBundle('install/dot-files', { proxmox_node: NODE, hosts: GUEST, user: 'nobody-here', install_vim_dot_files: true, install_zsh_dot_files: false, apply_for_root: false });
    expect(r.rc).not.toBe(0);
    expect(log(r)).toMatch(/user nobody-here does not exist/);
  }, SLOW);
});

describe('install/docker and install/docker-compose (packages of the distribution; target B)', () => {
  it('docker: docker.io installed, client answers, nothing started in the target', async () => {
    const r = await chainB.docker;
    expectOk(r);
    expect(notInstalled(rootB, ['docker.io'])).toEqual([]);
    for (const bin of ['usr/bin/docker', 'usr/sbin/dockerd']) expect(fs.existsSync(guestFile(bin, rootB)), bin).toBe(true);
    const published = one(r, 'basic_packages');
    expect(published).toMatchObject({ requested: ['docker'], packages: ['docker.io'], systemd_running: false, docker_started: false });
    expect(published.docker_version).toMatch(/^Docker version \d+\./);
    expect(log(r)).toMatch(/systemd is not running on r42\.test-guest-b .*dockerd is installed, not started/);
  }, SLOW);

  it("docker-compose: the archive's Compose package and a working docker-compose command", async () => {
    const r = await chainB.compose;
    expectOk(r);
    const published = one(r, 'basic_packages');
    // Debian 12 has Compose v1 as docker-compose; Ubuntu's docker-compose-v2 is not in its archive.
    expect(published.docker_compose_package).toBe('docker-compose');
    expect(notInstalled(rootB, ['docker.io', 'docker-compose'])).toEqual([]);
    expect(fs.existsSync(guestFile('usr/bin/docker-compose', rootB))).toBe(true);
    expect(published.docker_compose_version).toMatch(/^docker-compose version \d+\./);
    expect(inGuest(rootB, 'docker-compose', '--version')).toMatch(/^docker-compose version/);
  }, SLOW);
});

describe('install/basic-packages (target B)', () => {
  const defaults = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'roles', 'software.install.warmup.basic_packages', 'defaults', 'main.yml'), 'utf8')) as Record<string, string[]>;
  let r: RunResult;
  beforeAll(async () => {
    r = await chainB.basic;
  }, SLOW);

  it('installs every package of the sets asked for', () => {
    expectOk(r);
    const wanted = [...defaults.warmup_packages_basics!, ...defaults.warmup_packages_firewalls!, ...defaults.warmup_packages_utils_json!, ...defaults.warmup_packages_utils_network!];
    expect(notInstalled(rootB, wanted)).toEqual([]);
    for (const bin of ['usr/sbin/ufw', 'usr/bin/jq', 'usr/bin/nmap', 'usr/bin/git']) expect(fs.existsSync(guestFile(bin, rootB)), bin).toBe(true);
    expect(one(r, 'basic_packages')).toMatchObject({ requested: ['basics', 'firewalls', 'utils_json', 'utils_network', 'ntp', 'cleaning'], cleaned: true });
  });

  it('installs an NTP client but starts nothing where systemd does not run', () => {
    expect(notInstalled(rootB, ['systemd-timesyncd'])).toEqual([]);
    expect(one(r, 'basic_packages')).toMatchObject({ ntp_client: 'systemd-timesyncd', systemd_running: false });
    expect(log(r)).toMatch(/systemd is not running on r42\.test-guest-b .*systemd-timesyncd is installed but not started/);
    expect(processesInTarget(rootB)).toEqual([]);
  });

  it('SPECIFIC_PACKAGES_CLEANING empties the package cache', () => {
    expect(chainB.debsBeforeBasic).toBeGreaterThan(0);
    expect(fs.readdirSync(guestFile('var/cache/apt/archives', rootB)).filter((f) => f.endsWith('.deb'))).toEqual([]);
  });
});
