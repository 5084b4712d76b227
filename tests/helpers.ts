import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig, type Config } from '../src/config/env.js';
import { REPO_ROOT } from '../src/config/paths.js';
import { Engine } from '../src/engine/engine.js';
import type { RunEnvironment } from '../src/engine/run.js';
import type { WarmServer } from '../src/engine/warm/client.js';
import { processesNaming } from '../src/engine/process-tree.js';

export const FIXTURES = path.join(REPO_ROOT, 'tests', 'fixtures');
export const FIXTURE_INVENTORY = path.join(FIXTURES, 'inventory', 'hosts.yml');
export const fixturePlaybook = (name: string) => path.join(FIXTURES, 'playbooks', `${name}.yml`);
export const silentLog = pino({ level: 'silent' });

const tempDirs: string[] = [];

/** A fresh directory under the system temp dir, removed after the test file (tests/setup.ts). */
export function tempDir(prefix = 'r42-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A config as the service would load it, rooted in tests/fixtures unless overridden, with a job
 * database of its own (a fresh DATA_DIR) so that test files never share one.
 */
export function testConfig(env: Record<string, string> = {}): Readonly<Config> {
  const dataDir = env.DATA_DIR ?? tempDir('r42-data-');
  // RUNNER_ENGINE from the test run's environment: `RUNNER_ENGINE=warm npx vitest run ...` runs a suite on the warm engine.
  const engine = process.env.RUNNER_ENGINE ? { RUNNER_ENGINE: process.env.RUNNER_ENGINE } : {};
  return loadConfig({ PATH: process.env.PATH, HOME: process.env.HOME, PROJECT_ROOT_DIR: FIXTURES, ...engine, ...env, DATA_DIR: dataDir });
}

export function testEngine(opts: { env?: Record<string, string>; vaultPasswordFile?: string | null; baseEnv?: NodeJS.ProcessEnv } = {}) {
  const config = testConfig(opts.env);
  return new Engine({ config, vaultPasswordFile: opts.vaultPasswordFile ?? null, log: silentLog, baseEnv: opts.baseEnv });
}

/** What a Run of the engine tests gets: Debian's ansible-runner, a private temp dir, short grace, silent log; `warm` for the warm engine. */
export function testRunEnvironment(env: NodeJS.ProcessEnv, warm: WarmServer | null, engine: 'warm' | 'ansible-runner' = warm ? 'warm' : 'ansible-runner'): RunEnvironment {
  return {
    bin: '/usr/bin/ansible-runner',
    tmpDir: tempDir(),
    cancelGraceMs: 2000,
    defaultTimeoutMs: 120_000,
    vaultPasswordFile: null,
    vaultFile: null,
    env,
    log: silentLog,
    engine,
    warm: warm ?? undefined,
  };
}

/** Every file under dir, recursively (for "nothing left behind" and "no secret on disk" checks). */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

/** Pids of processes whose command line contains `needle`. */
export const processesMatching = (needle: string): number[] => processesNaming(needle, ['cmdline']);

/** A process's command line, its arguments joined by spaces; '' once it is gone. */
export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

export async function waitFor(cond: () => boolean, timeoutMs = 20_000, stepMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * An inventory directory (hosts.yml) whose `proxmox` group points at a running simulator, with its
 * token; `extra` adds YAML lines under `range42_infrastructure.children` (e.g. guest groups);
 * `hostVars` adds variables of the Proxmox host (e.g. VM_IDS, proxmox_api_timeout).
 */
export function simulatorInventory(
  sim: { apiHost: string; token: { user: string; tokenId: string; secret: string } },
  node = 'px-testing',
  extra: string[] = [],
  hostVars: Record<string, unknown> = {},
): string {
  const dir = tempDir('r42-inv-');
  fs.writeFileSync(path.join(dir, 'hosts.yml'), [
    'all:', '  children:', '    range42_infrastructure:', '      children:', '        proxmox:', '          hosts:', `            ${node}:`,
    '              ansible_connection: local', '              ansible_python_interpreter: /usr/bin/python3',
    `              proxmox_api_host: "${sim.apiHost}"`, `              proxmox_node: ${node}`,
    `              proxmox_api_user: ${sim.token.user}`, `              proxmox_api_token_id: ${sim.token.tokenId}`,
    `              proxmox_api_token_secret: ${sim.token.secret}`,
    ...Object.entries(hostVars).map(([k, v]) => `              ${k}: ${JSON.stringify(v)}`),
    ...extra, '',
  ].join('\n'));
  return dir;
}

/** A TCP port free on the loopback interface right now (for a server started as its own process). */
/** An answer of a listening service, as the tests read it. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The JSON body, the text when it is not JSON, null when empty. */
  body: any;
}

export type ApiCall = (method: string, url: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>;

/** Real HTTP calls to the service listening at `base` (a JSON body is sent as such). */
export function apiCaller(base: string): ApiCall {
  return async (method, url, body, headers = {}) => {
    const r = await fetch(`${base}${url}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: the text */
    }
    return { status: r.status, headers: r.headers, text, body: parsed };
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The OpenAPI document with every local reference (`{"$ref": "#/components/…"}`) replaced by a
 * copy of what it points to: the document as if everything were inline, for tests that read the
 * schemas of the operations.
 */
export function derefOpenApi<T>(doc: T): T {
  const at = (pointer: string): unknown => {
    let cur: unknown = doc;
    for (const raw of pointer.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (cur === null || typeof cur !== 'object' || !(key in cur)) throw new Error(`openapi: unresolved $ref ${pointer}`);
      cur = (cur as Record<string, unknown>)[key];
    }
    return cur;
  };
  const walk = (value: unknown, seen: readonly string[]): unknown => {
    if (Array.isArray(value)) return value.map((v) => walk(v, seen));
    if (value === null || typeof value !== 'object') return value;
    const { $ref, ...rest } = value as Record<string, unknown>;
    if (typeof $ref === 'string' && $ref.startsWith('#/')) {
      if (seen.includes($ref)) throw new Error(`openapi: circular $ref ${$ref}`);
      const target = walk(at($ref), [...seen, $ref]) as Record<string, unknown>;
      return Object.keys(rest).length === 0 ? target : { ...target, ...(walk(rest, seen) as object) };
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, seen)]));
  };
  return walk(doc, []) as T;
}

/**
 * Every operation of a served OpenAPI document that takes a JSON body, with its body schema
 * (references resolved) and a concrete URL (the runners' name parameters filled in).
 */
export function bodyOperations<S extends { properties?: object }>(document: unknown): Array<{ method: string; url: string; operationId: string; schema: S }> {
  const doc = derefOpenApi(document as { paths: Record<string, Record<string, any>> });
  const ops: Array<{ method: string; url: string; operationId: string; schema: S }> = [];
  for (const [url, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const schema = op.requestBody?.content?.['application/json']?.schema as S | undefined;
      if (schema?.properties) ops.push({ method: method.toUpperCase(), url: url.replace('{bundles_name}', 'ping').replace('{scenario_name}', 'mini_lab'), operationId: op.operationId, schema });
    }
  }
  return ops;
}
