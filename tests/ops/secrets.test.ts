import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { freePort, listFiles, processesMatching, simulatorInventory, tempDir } from '../helpers.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/**
 * Secrets never land anywhere the service writes: the service runs as its own process with known
 * secrets — VAULT_PASSWORD (decrypting a vault extra-vars file that holds the Proxmox token),
 * API_AUTH_TOKEN, a secret-named environment variable, the Proxmox token secret in the inventory,
 * passwords in request bodies — at the most talkative settings (LOG_LEVEL=debug, DEBUG=true). After
 * a synchronous run, an asynchronous job followed over SSE, a refused body and the job history,
 * none of the secrets is in: its log output (stdout and stderr), any response body or header, the
 * event stream, the data directory (jobs.db with its WAL, read as bytes), the runs' temporary
 * directory (empty), or the service's temp directory once it stopped (the vault password file is
 * gone). The inventory directory is left aside: it holds the token by design.
 * Per-store redaction rules are tested in tests/jobs (units and jobs.test.ts); this is the sweep.
 */

const stamp = Date.now().toString(36);
const SECRETS = {
  vaultPassword: `vault-pw-${stamp}-Q7`,
  apiToken: `api-bearer-${stamp}-Z9`,
  envSecret: `env-secret-${stamp}-K3`,
  addUserPassword: `AddUser.${stamp}-pw`,
  refusedPassword: `Refused.${stamp}-pw`,
};
let sim: Simulator;
let svc: ServiceProcess;
let dataDir: string;
let runnerTmp: string;
let serviceTmp: string;
let vaultFile: string;
const seen: string[] = []; // every response: status line, headers, body

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  dataDir = tempDir('r42-secrets-data-');
  runnerTmp = tempDir('r42-secrets-runs-');
  serviceTmp = tempDir('r42-secrets-tmp-');
  // The Proxmox token again, in a vault-encrypted extra-vars file given to every run.
  const vaultDir = tempDir('r42-secrets-vault-');
  vaultFile = path.join(vaultDir, 'vault.yml');
  const pwFile = path.join(vaultDir, 'pw');
  fs.writeFileSync(pwFile, SECRETS.vaultPassword);
  fs.writeFileSync(vaultFile, `proxmox_api_token_secret: ${sim.token.secret}\n`);
  execFileSync('/usr/bin/ansible-vault', ['encrypt', '--vault-password-file', pwFile, vaultFile], { env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' } });
  fs.rmSync(pwFile);
  // A guest the add-user bundle can target: its play starts, its checks see the password, and the
  // first task that needs the guest finds nobody listening (no SSH server on that port).
  const guest = ['        guests:', '          hosts:', '            r42-guest:', '              ansible_host: 127.0.0.1',
    `              ansible_port: ${await freePort()}`, '              ansible_user: nobody'];
  svc = await startServiceProcess({
    API_BACKEND_INVENTORY_DIR: simulatorInventory(sim, 'px-testing', guest),
    API_BACKEND_VAULT_FILE: vaultFile,
    VAULT_PASSWORD: SECRETS.vaultPassword,
    API_AUTH_TOKEN: SECRETS.apiToken,
    R42_EXTRA_SECRET: SECRETS.envSecret,
    DATA_DIR: dataDir,
    RUNNER_TMP_DIR: runnerTmp,
    TMPDIR: serviceTmp,
    LOG_LEVEL: 'debug',
    DEBUG: 'true',
  });
});
afterAll(async () => {
  if (svc) await svc.stop();
  await sim?.close();
});

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`${svc.base}${url}`, {
    method,
    headers: { authorization: `Bearer ${SECRETS.apiToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  seen.push(`${r.status}\n${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${text}`);
  return { status: r.status, headers: r.headers, text, body: text && r.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as any) : null };
}

const known = () => [...Object.values(SECRETS), sim.token.secret];
function expectNoSecret(what: string, text: string) {
  for (const s of known()) expect(text.includes(s), `${what} holds ${s}`).toBe(false);
}

describe('secrets', () => {
  it('are in no log line, response, event, database file or leftover file, whatever the requests did', async () => {
    // A synchronous run that decrypts the vault file and calls Proxmox with the token.
    const list = await call('POST', '/v0/admin/proxmox/vms/list', { proxmox_node: 'px-testing' });
    expect(list.status, list.text).toBe(200);
    expect(list.body.result[0].length).toBeGreaterThan(3);

    // An asynchronous job with a password in its body, followed over SSE to its end.
    const addUser = await call('POST', '/v0/admin/run/bundles/core/linux/ubuntu/configure/add-user', {
      proxmox_node: 'px-testing', hosts: 'r42-guest', user: 'bob', password: SECRETS.addUserPassword, change_pwd_at_logon: true, shell_path: '/bin/bash',
    }, { prefer: 'respond-async' });
    expect(addUser.status, addUser.text).toBe(202);
    const sse = await fetch(`${svc.base}/v0/jobs/${addUser.body.job_id}/events`, { headers: { authorization: `Bearer ${SECRETS.apiToken}`, accept: 'text/event-stream' } });
    const stream = await sse.text(); // the server ends the stream after `end`
    expect(stream).toContain('"type":"end"');
    expect(stream).toContain('"type":"playbook_start"');
    expect(stream).toContain('"type":"host_unreachable"');
    seen.push(stream);

    // A refused body carrying a password (DEBUG=true logs refused bodies).
    const refused = await call('POST', '/v0/admin/run/bundles/core/linux/ubuntu/configure/add-user', { proxmox_node: 'px-testing', hosts: 'bad host', user: 'bob', password: SECRETS.refusedPassword });
    expect(refused.status).toBe(422);
    // The caller's own input comes back in a 422 (pydantic's format echoes inputs): that answer
    // may hold the refused password, and nothing else may.
    const echo = seen.pop()!;
    for (const s of known().filter((x) => x !== SECRETS.refusedPassword)) expect(echo).not.toContain(s);

    // Reads: the job, the history, the metrics, the probes.
    const job = await call('GET', `/v0/jobs/${addUser.body.job_id}`);
    expect(job.body.request.body.password).toBe('[redacted]');
    await call('GET', '/v0/jobs?limit=100');
    await call('GET', '/metrics');
    await call('GET', '/readyz');
    expect((await call('GET', '/v0/jobs', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);

    expect(await svc.stop()).toBe(0);
    const logs = svc.out() + svc.err();
    expect(logs).toContain('"reqId"'); // the log is there (debug level), only the secrets are not
    expectNoSecret('the service log', logs);
    for (const r of seen) expectNoSecret('a response', r);
    const dbFiles = listFiles(dataDir);
    expect(dbFiles.map((f) => path.basename(f))).toContain('jobs.db');
    const db = dbFiles.map((f) => fs.readFileSync(f).toString('latin1')).join('\n');
    expect(db).toContain(addUser.body.job_id);
    expectNoSecret('the data directory', db);
    expect(listFiles(runnerTmp)).toEqual([]);
    expect(fs.readdirSync(runnerTmp)).toEqual([]);
    expect(fs.readdirSync(serviceTmp).filter((d) => d.startsWith('r42-'))).toEqual([]); // vault password file gone
    for (const f of listFiles(serviceTmp)) expectNoSecret(f, fs.readFileSync(f).toString('latin1'));
    expect(processesMatching(runnerTmp)).toEqual([]);
  });
});
