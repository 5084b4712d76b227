import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { processesMatching, simulatorInventory, tempDir, testConfig, waitFor } from '../helpers.js';

/**
 * Faults while the service runs real playbooks (the repository's Proxmox role, ansible-runner)
 * against the simulator: Proxmox answering 500, resetting connections, never answering, answering
 * slowly, a node going offline; ansible-runner missing, an inventory that cannot be read, a wrong
 * vault password. Every request must end with its result or a clear error that names the cause,
 * within its timeout; the service must go on serving other requests; and afterwards no process of
 * these runs and no private run directory may be left.
 *
 * Cost: 10 real runs, most failing within a second; cases of one kind run in parallel, each with
 * its own simulator (faults are per simulator).
 */

type App = Awaited<ReturnType<typeof createApp>>;
const runnerTmp = tempDir('r42-faults-runs-');
const sims: Simulator[] = [];
const apps: App[] = [];
const inventories: string[] = [];
const VMS = '/v0/admin/proxmox/vms';

afterAll(async () => {
  for (const a of apps) await a.close();
  for (const s of sims) await s.close();
});

async function sim(): Promise<Simulator> {
  const s = await startSimulator({ port: 0 });
  sims.push(s);
  return s;
}

/** An inventory for `s`, with extra host variables of the proxmox host (e.g. proxmox_api_timeout). */
function inventoryFor(s: Simulator, hostVars: Record<string, unknown> = {}): string {
  const dir = simulatorInventory(s, 'px-testing', [], hostVars);
  inventories.push(dir);
  return dir;
}

/** The service with the repository's playbooks and role; `logs` collects its log lines. */
async function service(inventoryDir: string, env: Record<string, string> = {}, vaultPasswordFile: string | null = null) {
  let logs = '';
  const sink = new Writable({ write(chunk, _enc, cb) { logs += chunk.toString(); cb(); } });
  const app = await createApp(testConfig({
    PROJECT_ROOT_DIR: REPO_ROOT,
    API_BACKEND_INVENTORY_DIR: inventoryDir,
    RUNNER_TMP_DIR: runnerTmp,
    RUNNER_TIMEOUT: '20',
    RUNNER_CANCEL_GRACE: '1',
    JOBS_STORE: 'memory',
    ...env,
  }), { logger: pino({ level: 'info' }, sink), vaultPasswordFile });
  apps.push(app);
  async function call(method: string, url: string, payload?: unknown) {
    const started = Date.now();
    const r = await app.inject({ method: method as 'GET', url, ...(payload === undefined ? {} : { payload: payload as object }) });
    const text = r.body;
    return { status: r.statusCode, body: text ? JSON.parse(text) : null, text, ms: Date.now() - started, headers: r.headers };
  }
  /** Still serving: the probes, a validation refusal and the job history answer. */
  async function stillServing() {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('POST', `${VMS}/list`, { proxmox_node: 'bad node' })).status).toBe(422);
    expect((await call('GET', '/v0/jobs')).status).toBe(200);
  }
  return { app, call, stillServing, logs: () => logs };
}

const vmList = { proxmox_node: 'px-testing' };
/** What the caller sees of a failed run: the `error` line and the log tail. */
const said = (body: any) => `${body.error ?? ''}\n${(body.log_multiline ?? []).join('\n')}`;

// The cases are independent (a simulator and a service each): they run at once.
describe.concurrent('Proxmox faults during real runs', () => {
  it('500s, connection resets, an offline node, slow answers: a clear error naming the cause, or the result', async () => {
    const [errSim, rstSim, offSim, slowSim] = [await sim(), await sim(), await sim(), await sim()];
    errSim.setFaults({ errorRate: 1 });
    rstSim.setFaults({ resetRate: 1 });
    offSim.setNodeOnline('px-testing', false);
    slowSim.setLatency(300);
    const [err, rst, off, slow] = await Promise.all([errSim, rstSim, offSim, slowSim].map((s) => service(inventoryFor(s))));

    const [e, r, o, sl] = await Promise.all([err!, rst!, off!, slow!].map((s) => s.call('POST', `${VMS}/list`, vmList)));
    expect([e!.status, e!.body.rc]).toEqual([500, 2]);
    expect(e!.body.error).toMatch(/HTTP 500: simulated failure/);
    expect([r!.status, r!.body.rc]).toEqual([500, 2]);
    expect(said(r!.body)).toMatch(/reset by peer|closed connection|Connection aborted/i);
    expect([o!.status, o!.body.rc]).toEqual([500, 2]);
    expect(o!.body.error).toMatch(/HTTP 595: No route to host/);
    expect([sl!.status, sl!.body.rc]).toEqual([200, 0]);
    expect(sl!.body.result[0].length).toBeGreaterThan(3);
    expect(sl!.ms).toBeGreaterThanOrEqual(300);
    for (const x of [e, r, o]) expect(x!.ms).toBeLessThan(20_000); // ended on their own (rc 2), within RUNNER_TIMEOUT
    console.log([['500', e], ['reset', r], ['offline', o], ['latency 300 ms', sl]].map(([k, x]: any) => `${k}: ${x.status} in ${x.ms} ms ${x.body.error ?? ''}`).join('\n'));

    // Routes that read Proxmox themselves before running anything (the VM name of a delete): a 502
    // naming the failure, and nothing runs.
    const started = [err, rst, off].map((s) => s!.app.engine.stats.started);
    const del = await Promise.all([err!, rst!, off!].map((s) => s.call('DELETE', `${VMS}/vm_id/delete`, { proxmox_node: 'px-testing', vm_id: '1000' })));
    expect(del.map((d) => d.status)).toEqual([502, 502, 502]);
    expect(del[0]!.body.detail).toMatch(/Proxmox API answered 500/);
    expect(del[1]!.body.detail).toMatch(/Proxmox API unreachable .*(other side closed|ECONNRESET|socket)/i);
    expect(del[2]!.body.detail).toMatch(/Proxmox node px-testing is offline/); // read from /cluster/resources, which another node answers
    expect([err, rst, off].map((s) => s!.app.engine.stats.started)).toEqual(started);
    for (const s of [err, rst, off, slow]) await s!.stillServing();
  });

  it('a Proxmox that never answers: the role gives up after its API timeout, RUNNER_TIMEOUT stops a run that would wait longer', async () => {
    const deaf = await sim();
    deaf.setFaults({ timeoutRate: 1 });
    const shortApiTimeout = await service(inventoryFor(deaf, { proxmox_api_timeout: 2 }));
    const shortRunTimeout = await service(inventoryFor(deaf), { RUNNER_TIMEOUT: '4' }); // the role would wait 30 s
    const [a, b] = await Promise.all([shortApiTimeout, shortRunTimeout].map((s) => s.call('POST', `${VMS}/list`, vmList)));
    expect([a!.status, a!.body.rc]).toEqual([500, 2]);
    expect(a!.body.error).toMatch(/timed out/i);
    expect(a!.ms).toBeLessThan(20_000); // RUNNER_TIMEOUT of this service
    expect([b!.status, b!.body.rc]).toEqual([500, 254]);
    expect(said(b!.body)).toMatch(/RUNNER_TIMEOUT/);
    console.log(`never answering Proxmox: role API timeout 2 s -> answer in ${a!.ms} ms; RUNNER_TIMEOUT 4 s -> answer in ${b!.ms} ms`);
    expect(b!.ms).toBeGreaterThanOrEqual(4000);
    expect(b!.ms).toBeLessThan(4000 + 1000 + 5000); // timeout + cancel grace + slack on a busy machine
    const job = (await shortRunTimeout.call('GET', '/v0/jobs?limit=1')).body.jobs[0];
    expect(job).toMatchObject({ status: 'timeout', rc: 254 });
    await shortRunTimeout.stillServing();
  });
});

describe.concurrent('broken parts of the service itself', () => {
  it('ansible-runner missing at run time: a 500 naming it, readiness says so, the service keeps serving and recovers', async () => {
    const s = await sim();
    const binDir = tempDir('r42-faults-bin-');
    const bin = path.join(binDir, 'ansible-runner');
    fs.copyFileSync('/usr/bin/ansible-runner', bin);
    fs.chmodSync(bin, 0o755);
    const svc = await service(inventoryFor(s), { ANSIBLE_RUNNER_BIN: bin });
    // (Only the runner's check: the Proxmox one has 3 s, which a machine this busy may not give.)
    expect((await svc.call('GET', '/readyz')).body.checks.ansible_runner).toEqual({ ok: true });
    fs.renameSync(bin, `${bin}.gone`);

    const r = await svc.call('POST', `${VMS}/list`, vmList);
    expect(r.status).toBe(500);
    expect(r.body.rc).not.toBe(0);
    expect(said(r.body)).toContain(`ansible-runner could not be started: spawn ${bin} ENOENT`);
    expect(svc.logs()).toContain('ansible-runner could not be started');
    const ready = await svc.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.ansible_runner).toEqual({ ok: false, detail: `${bin} is not executable` });
    const job = (await svc.call('GET', '/v0/jobs?limit=1')).body.jobs[0];
    expect(job).toMatchObject({ status: 'failed' });
    await svc.stillServing();

    fs.renameSync(`${bin}.gone`, bin);
    expect((await svc.call('POST', `${VMS}/list`, vmList)).status).toBe(200);
  });

  it('an inventory that cannot be read or parsed: a 500 naming the file, not a run that did nothing', async () => {
    const s = await sim();
    // Unreadable: chmod 000 does not stop root (the CI runs as root), so there a directory stands
    // where the file should be — as unreadable for Ansible as a file without read permission.
    const unreadable = inventoryFor(s);
    const unreadableFile = path.join(unreadable, 'hosts.yml');
    if (process.getuid?.() === 0) {
      fs.rmSync(unreadableFile);
      fs.mkdirSync(unreadableFile);
    } else fs.chmodSync(unreadableFile, 0o000);
    const broken = inventoryFor(s);
    fs.appendFileSync(path.join(broken, 'hosts.yml'), '  oops: [unclosed\n');
    const [u, b] = await Promise.all([service(unreadable), service(broken)]);
    const [ur, br] = await Promise.all([u, b].map((x) => x.call('POST', `${VMS}/list`, vmList)));
    for (const [r, dir] of [[ur!, unreadable], [br!, broken]] as const) {
      expect(r.status, r.text).toBe(500);
      expect(r.body.rc).not.toBe(0);
      expect(said(r.body)).toContain(`Unable to parse ${path.join(dir, 'hosts.yml')} as an inventory`);
      expect(said(r.body)).toMatch(/No inventory was parsed/);
    }
    // What reads the inventory itself (the VM name of a delete) names it too.
    const del = await b.call('DELETE', `${VMS}/vm_id/delete`, { proxmox_node: 'px-testing', vm_id: '1000' });
    expect(del.status).toBe(500);
    expect(del.body.detail).toContain(`cannot read ${path.join(broken, 'hosts.yml')}`);
    await u.stillServing();
    await b.stillServing();
    if (process.getuid?.() !== 0) fs.chmodSync(unreadableFile, 0o600);
  });

  it('a wrong vault password: a 500 naming the vault file, and the service keeps serving', async () => {
    const s = await sim();
    const dir = tempDir('r42-faults-vault-');
    const vaultFile = path.join(dir, 'vault.yml');
    const right = path.join(dir, 'right.txt');
    const wrong = path.join(dir, 'wrong.txt');
    fs.writeFileSync(right, 'the-right-password\n');
    fs.writeFileSync(wrong, 'not-the-password\n');
    fs.writeFileSync(vaultFile, `proxmox_api_token_secret: ${s.token.secret}\n`);
    execFileSync('/usr/bin/ansible-vault', ['encrypt', '--vault-password-file', right, vaultFile], { env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' } });
    expect(fs.readFileSync(vaultFile, 'utf8')).toMatch(/^\$ANSIBLE_VAULT;1\.1;AES256/);
    const svc = await service(inventoryFor(s), { API_BACKEND_VAULT_FILE: vaultFile }, wrong);

    const r = await svc.call('POST', `${VMS}/list`, vmList);
    expect(r.status).toBe(500);
    expect(r.body.rc).not.toBe(0);
    expect(said(r.body)).toMatch(new RegExp(`Decryption failed.*${vaultFile.replace(/[.]/g, '\\.')}`, 's'));
    const del = await svc.call('DELETE', `${VMS}/vm_id/delete`, { proxmox_node: 'px-testing', vm_id: '1000' });
    expect(del.status).toBe(500);
    expect(del.body.detail).toContain(vaultFile);
    expect(del.body.detail).toMatch(/vault password does not decrypt/);
    await svc.stillServing();
  });

});

describe('afterwards', () => {
  it('no ansible-runner or ansible-playbook process and no private run directory is left', async () => {
    await waitFor(() => [runnerTmp, ...inventories].every((d) => processesMatching(d).length === 0), 10_000);
    expect(fs.readdirSync(runnerTmp)).toEqual([]);
  });
});
