import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { freePort, simulatorInventory, tempDir } from '../helpers.js';

/**
 * The production image, without a Docker engine (there is none on these machines): the Dockerfile
 * is read, its build stage is replayed in a scratch directory (its COPY lines from the repository,
 * its npm commands run for real, once), its runtime stage's COPY lines assemble the image's /app in
 * another, and the compiled service is started there as the image's CMD and ENV say, twice: with
 * the embedded simulator and against a separate one with PROXMOX_SIMULATOR=off. Each start runs a
 * playbook route. Nothing in here lists what the image holds: a file the Dockerfile forgets to
 * copy, a data file the build does not emit, a dev dependency imported at run time all fail here.
 *
 * One substitution: the build stage's `npm ci` is replaced by a copy of this checkout's
 * node_modules, installed from the same package-lock.json (a fresh `npm ci` compiles better-sqlite3
 * from source: 82 s measured on the 2-core machine, against about 2 s for the copy). The
 * `npm prune --omit=dev` that follows is the real one, so the runtime stage gets exactly the
 * production dependencies.
 */

interface Instruction { op: string; args: string }
interface Stage { name: string; instructions: Instruction[] }

/** Stages of a Dockerfile: continuation lines joined, comments and parser directives dropped. */
function dockerStages(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push((pending + line).trim());
    pending = '';
  }
  const stages: Stage[] = [];
  for (const l of logical.filter(Boolean)) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(l) ?? [];
    if (op.toUpperCase() === 'FROM') stages.push({ name: /\sAS\s+(\S+)\s*$/i.exec(l)?.[1] ?? String(stages.length), instructions: [] });
    else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

/** `COPY [--flag=value...] src... dest`, in shell or JSON form. */
function parseCopy(args: string): { from: string | null; sources: string[]; dest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m; (m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)); rest = rest.slice(m[0].length)) flags[m[1]!] = m[2] ?? '';
  const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  if (words.length < 2) throw new Error(`COPY ${args}: a source and a destination are needed`);
  return { from: flags.from ?? null, sources: words.slice(0, -1), dest: words.at(-1)! };
}

/** Docker's COPY semantics for one source: a directory's contents go into dest, a file into dest/ or as dest. */
function copyInto(source: string, dest: string, destIsDir: boolean): void {
  if (!fs.existsSync(source)) throw new Error(`COPY: ${source} does not exist`);
  if (fs.statSync(source).isDirectory()) {
    fs.mkdirSync(dest, { recursive: true });
    execFileSync('cp', ['-a', `${source}/.`, dest]);
  } else {
    const target = destIsDir ? path.join(dest, path.basename(source)) : dest;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    execFileSync('cp', ['-a', source, target]);
  }
}

/** Replays the COPY instructions of a stage into `root` (standing for the stage's WORKDIR). */
function applyCopy(ins: Instruction, workdir: string, root: string, sourceRootFor: (from: string | null) => { dir: string; workdir: string }): void {
  const { from, sources, dest } = parseCopy(ins.args);
  const destAbs = path.posix.resolve(workdir, dest);
  const destRel = path.posix.relative(workdir, destAbs);
  if (destRel.startsWith('..')) throw new Error(`COPY ${ins.args}: outside the WORKDIR ${workdir}, not replayable here`);
  const destIsDir = dest.endsWith('/') || sources.length > 1;
  const origin = sourceRootFor(from);
  for (const s of sources) {
    const rel = path.posix.relative(origin.workdir, path.posix.resolve(origin.workdir, s));
    if (rel.startsWith('..')) throw new Error(`COPY ${ins.args}: ${s} is outside ${origin.workdir}`);
    copyInto(path.join(origin.dir, rel), path.join(root, destRel), destIsDir);
  }
}

/** `ENV K=V K2="V 2"` (the key=value form). */
function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  return out;
}

type Lock = { packages: Record<string, { version?: string; optional?: boolean }> };
/** Packages of package-lock.json that node_modules holds in another version, or not at all (optional ones aside). */
function staleInstalls(): string[] {
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, f), 'utf8')) as Lock;
  const [lock, installed] = [read('package-lock.json'), read('node_modules/.package-lock.json')];
  return Object.entries(lock.packages)
    .filter(([name, p]) => name !== '' && !p.optional && installed.packages[name]?.version !== p.version)
    .map(([name, p]) => `${name}@${p.version}`);
}

const stages = dockerStages(fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const runtime = stages.at(-1)!;
const buildStages = new Map(stages.slice(0, -1).map((s) => [s.name, s]));

let buildDir: string;
let buildWorkdir = '/';
let appDir: string;
let appWorkdir = '/';
const imageEnv: Record<string, string> = {};
let cmd: string[] = [];
let healthcheck: string | null = null;
const timings: string[] = [];

function timed<T>(what: string, fn: () => T): T {
  const t0 = Date.now();
  try {
    return fn();
  } finally {
    timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

beforeAll(() => {
  const started = Date.now();
  const work = tempDir('r42-image-');
  buildDir = path.join(work, 'build');
  appDir = path.join(work, 'app');
  fs.mkdirSync(buildDir);
  fs.mkdirSync(appDir);

  // The build stage, replayed.
  expect(buildStages.size, 'one build stage').toBe(1);
  const [build] = [...buildStages.values()];
  for (const ins of build!.instructions) {
    if (ins.op === 'WORKDIR') buildWorkdir = path.posix.resolve(buildWorkdir, ins.args);
    else if (ins.op === 'COPY') applyCopy(ins, buildWorkdir, buildDir, () => ({ dir: REPO_ROOT, workdir: buildWorkdir }));
    else if (ins.op === 'RUN') {
      for (const command of ins.args.split('&&').map((c) => c.trim())) {
        if (/^npm ci(\s|$)/.test(command)) {
          // The stand-in for `npm ci` (see above): the same lock file, installed as it says.
          expect(fs.readFileSync(path.join(buildDir, 'package-lock.json'), 'utf8')).toBe(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
          expect(staleInstalls(), 'node_modules is not what package-lock.json says: run npm ci').toEqual([]);
          timed('copy of node_modules', () => execFileSync('cp', ['-a', path.join(REPO_ROOT, 'node_modules'), buildDir]));
        } else if (/^npm\s/.test(command)) {
          timed(command, () => execFileSync('/bin/sh', ['-c', command], {
            cwd: buildDir, stdio: ['ignore', 'pipe', 'pipe'],
            // Settings that change nothing in what is installed, only spare the registry: no
            // audit, no funding or update notice.
            env: { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
          }));
        } else {
          throw new Error(`the build stage runs "${command}": this test only knows how to replay npm commands`);
        }
      }
    } else if (!['ARG', 'ENV', 'LABEL'].includes(ins.op)) {
      throw new Error(`the build stage has ${ins.op}: not replayable here`);
    }
  }

  // The runtime stage: its files and how it starts. RUN lines (apt packages, the user, /app/data)
  // are the machine's part: Debian's Ansible is installed on this one as it is in the image.
  timed('runtime COPY lines', () => {
    for (const ins of runtime.instructions) {
      if (ins.op === 'WORKDIR') appWorkdir = path.posix.resolve(appWorkdir, ins.args);
      else if (ins.op === 'ENV') Object.assign(imageEnv, parseEnv(ins.args));
      else if (ins.op === 'CMD') cmd = JSON.parse(ins.args) as string[];
      else if (ins.op === 'HEALTHCHECK') healthcheck = /\bCMD\s+(.*)$/.exec(ins.args)?.[1] ?? null;
      else if (ins.op === 'COPY') {
        applyCopy(ins, appWorkdir, appDir, (from) => {
          if (from === null) return { dir: REPO_ROOT, workdir: appWorkdir };
          if (!buildStages.has(from)) throw new Error(`COPY --from=${from}: not a stage of this Dockerfile`);
          return { dir: buildDir, workdir: buildWorkdir };
        });
      }
    }
  });
  // The image's own paths (/app/...) are this directory here.
  for (const [k, v] of Object.entries(imageEnv)) {
    if (v === appWorkdir || v.startsWith(`${appWorkdir}/`)) imageEnv[k] = appDir + v.slice(appWorkdir.length);
  }
  timings.push(`image assembled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 300_000);

afterAll(() => {
  if (timings.length) process.stdout.write(`[build.test] ${timings.join(', ')}\n`);
});

/** The service started in the assembled /app as the image's CMD says, on a port of its own. */
async function startImage(env: Record<string, string>) {
  expect(cmd[0], 'the image runs node').toBe('node');
  const port = await freePort();
  const child = spawn(process.execPath, cmd.slice(1), {
    cwd: appDir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...imageEnv, HOST: '127.0.0.1', PORT: String(port), DATA_DIR: tempDir('r42-image-data-'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${base}/healthz`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the compiled service did not start (exit ${child.exitCode}):\n${out.slice(0, 3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    out: () => out,
    async listVms() {
      const r = await fetch(`${base}/v0/admin/proxmox/vms/list`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ proxmox_node: 'px-testing' }),
      });
      return { status: r.status, body: (await r.json()) as { rc?: number; result?: unknown[][] } };
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('the production image, assembled from the Dockerfile', () => {
  it('holds the compiled service with the data files it reads, and production dependencies only', () => {
    expect(fs.existsSync(path.join(appDir, cmd[1]!))).toBe(true);
    // The worker of RUN_QUEUE=redis (docker-compose's scaled profile runs `node dist/worker.js`), and its queue library.
    expect(fs.existsSync(path.join(appDir, 'dist', 'worker.js'))).toBe(true);
    expect(fs.existsSync(path.join(appDir, 'node_modules', 'bullmq', 'package.json'))).toBe(true);
    // Every data file of src/ (the simulator's schema and seed) next to its compiled module.
    const srcDir = path.join(REPO_ROOT, 'src');
    const data = fs.readdirSync(srcDir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && !d.name.endsWith('.ts')).map((d) => path.relative(srcDir, path.join(d.parentPath, d.name)));
    expect(data.length).toBeGreaterThan(0);
    for (const f of data) expect(fs.existsSync(path.join(appDir, 'dist', f)), f).toBe(true);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    for (const dev of Object.keys(pkg.devDependencies)) expect(fs.existsSync(path.join(appDir, 'node_modules', dev)), dev).toBe(false);
  });

  it('starts with the embedded simulator and runs a playbook against it', async () => {
    // The shipped inventory as it is, but for the simulator's port: 8006 is fixed there, and on a
    // shared machine another service may hold it (the embedded simulator would then use that one).
    const inventory = tempDir('r42-image-inv-');
    execFileSync('cp', ['-a', `${path.join(appDir, 'inventory')}/.`, inventory]);
    const hostsFile = path.join(inventory, 'hosts.yml');
    const doc = YAML.parseDocument(fs.readFileSync(hostsFile, 'utf8'));
    const simPort = await freePort();
    let pointed = 0;
    YAML.visit(doc, {
      Pair(_, pair) {
        if (YAML.isScalar(pair.key) && pair.key.value === 'proxmox_api_host' && YAML.isScalar(pair.value)) {
          pair.value.value = String(pair.value.value).replace(/:\d+$/, `:${simPort}`);
          pointed++;
        }
      },
    });
    expect(pointed).toBeGreaterThan(0);
    fs.writeFileSync(hostsFile, doc.toString());

    const svc = await startImage({ API_BACKEND_INVENTORY_DIR: inventory });
    try {
      expect(svc.out()).toContain('embedded Proxmox VE simulator started');
      const list = await svc.listVms();
      expect(list.status, JSON.stringify(list.body)).toBe(200);
      expect(list.body.rc).toBe(0);
      expect(list.body.result?.[0]?.length).toBeGreaterThan(0);
      // ReDoc's bundle, from the build's copy: the redoc package is a dev dependency, not in the image.
      expect(fs.existsSync(path.join(appDir, 'node_modules', 'redoc'))).toBe(false);
      const bundle = await fetch(`http://127.0.0.1:${svc.port}/docs/redoc/redoc.standalone.js`);
      expect(bundle.status).toBe(200);
      expect(Buffer.from(await bundle.arrayBuffer()).equals(fs.readFileSync(path.join(REPO_ROOT, 'node_modules/redoc/bundles/redoc.standalone.js')))).toBe(true);
      expect((await fetch(`http://127.0.0.1:${svc.port}/docs/redoc`)).status).toBe(200);
      if (healthcheck) {
        // The image's HEALTHCHECK command, as Docker would run it (shell form, the image's env).
        execFileSync('/bin/sh', ['-c', healthcheck], { cwd: appDir, env: { PATH: process.env.PATH, PORT: String(svc.port) }, stdio: 'pipe', timeout: 10_000 });
      }
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  }, 120_000);

  it('with PROXMOX_SIMULATOR=off needs none of the simulator, and runs a playbook against a separate one', async () => {
    // The simulator's compiled modules are taken away: the service must not load them when off.
    fs.renameSync(path.join(appDir, 'dist/simulator'), path.join(path.dirname(appDir), 'simulator-aside'));
    let sim: Simulator | null = null;
    try {
      sim = await startSimulator({ port: 0, taskDurationMs: 0, unauthorizedDelayMs: 0 });
      const svc = await startImage({ PROXMOX_SIMULATOR: 'off', API_BACKEND_INVENTORY_DIR: simulatorInventory(sim) });
      try {
        expect(svc.out()).not.toContain('simulator started');
        const seen = sim.requestLog.length;
        const list = await svc.listVms();
        expect(list.status, JSON.stringify(list.body)).toBe(200);
        expect(list.body.rc).toBe(0);
        expect(list.body.result?.[0]?.length).toBeGreaterThan(0);
        expect(sim.requestLog.length).toBeGreaterThan(seen);
      } finally {
        expect(await svc.stop()).toBe(0);
      }
    } finally {
      await sim?.close();
      fs.renameSync(path.join(path.dirname(appDir), 'simulator-aside'), path.join(appDir, 'dist/simulator'));
    }
  }, 120_000);
});
