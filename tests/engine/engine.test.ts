import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VaultPassword } from '../../src/config/vault.js';
import { QueueFullError } from '../../src/errors.js';
import { extractResult, logLines } from '../../src/engine/extract.js';
import { FIXTURE_INVENTORY, fixturePlaybook, listFiles, processesMatching, tempDir, testEngine, waitFor } from '../helpers.js';

const inventory = FIXTURE_INVENTORY;

describe('engine: real ansible-runner runs', () => {
  it('extracts res[<key>] of runner_on_ok events in order, honouring --limit', async () => {
    const engine = testEngine();
    const r = await engine.run({ playbook: fixturePlaybook('publish'), inventory, limit: 'testhost', extravars: { value: 'v1', nested: { a: [1, 'x'] } } });
    expect(r.rc).toBe(0);
    expect(r.status).toBe('successful');
    expect(extractResult(r.events, 'echo_back')).toEqual([{ host: 'testhost', value: 'v1', nested: { a: [1, 'x'] } }]);
  });

  it('runs every host without a limit and builds log lines without ANSI codes', async () => {
    const engine = testEngine();
    const r = await engine.run({ playbook: fixturePlaybook('publish'), inventory, extravars: { value: 'x' } });
    expect(extractResult(r.events, 'echo_back').map((v) => (v as { host: string }).host).sort()).toEqual(['otherhost', 'testhost']);
    const lines = logLines(r.events);
    expect(lines[0]).toMatch(/^PLAY \[Publish request values\] \*+$/);
    expect(lines.some((l) => l.startsWith('PLAY RECAP'))).toBe(true);
    expect(lines.join('\n')).not.toMatch(/\x1b/);
  });

  it('a failing task gives rc 2, status failed and the fatal line in the log', async () => {
    const r = await testEngine().run({ playbook: fixturePlaybook('fail'), inventory, limit: 'testhost' });
    expect(r.rc).toBe(2);
    expect(r.status).toBe('failed');
    expect(logLines(r.events).some((l) => l.startsWith('fatal: [testhost]: FAILED!'))).toBe(true);
    expect(extractResult(r.events, 'echo_back')).toEqual([]);
  });

  it('a playbook that does not parse fails before the play with the ERROR! text in the log', async () => {
    const r = await testEngine().run({ playbook: fixturePlaybook('parse-error'), inventory });
    expect(r.rc).not.toBe(0);
    expect(r.status).toBe('failed');
    expect(r.events.some((e) => e.event === 'playbook_on_start')).toBe(false);
    expect(logLines(r.events)[0]).toMatch(/^ERROR! /);
  });

  it('passes --tags through', async () => {
    const r = await testEngine().run({ playbook: fixturePlaybook('tags'), inventory, limit: 'testhost', tags: 'beta' });
    expect(r.rc).toBe(0);
    expect(extractResult(r.events, 'beta_marker')).toEqual(['beta']);
    expect(extractResult(r.events, 'alpha_marker')).toEqual([]);
  });

  it('streams events while the run is going, before it ends', async () => {
    const run = testEngine().start({ playbook: fixturePlaybook('publish'), inventory, limit: 'testhost' });
    const seen: string[] = [];
    let finishedWhenFirstSeen: boolean | null = null;
    run.on('event', (ev) => {
      finishedWhenFirstSeen ??= run.state === 'finished';
      seen.push(ev.event);
    });
    const r = await run.done;
    expect(finishedWhenFirstSeen).toBe(false);
    expect(seen[0]).toBe('playbook_on_start');
    expect(seen).toContain('runner_on_ok');
    expect(seen.at(-1)).toBe('playbook_on_stats');
    expect(r.events.length).toBeGreaterThanOrEqual(seen.length);
  });
});

describe('engine: request values are data, never templates', () => {
  const payloads = [
    "{{ lookup('pipe','id') }}",
    '{% for x in range(3) %}{{ x }}{% endfor %}',
    '{{ 7*6 }}',
    'line1\nline2 "quoted" \\ back',
    "unicode ünï ﬁ 😀 {#",
  ];
  it('every payload arrives in the playbook exactly as sent', async () => {
    const r = await testEngine().run({
      playbook: fixturePlaybook('publish'),
      inventory,
      limit: 'testhost',
      extravars: { value: payloads[0], nested: { list: payloads, deep: { k: payloads[1] } } },
    });
    expect(r.rc).toBe(0);
    const [out] = extractResult(r.events, 'echo_back') as [{ value: string; nested: unknown }];
    expect(out.value).toBe("{{ lookup('pipe','id') }}");
    expect(out.nested).toEqual({ list: payloads, deep: { k: payloads[1] } });
    // If the lookup had run, the output of `id` would be somewhere in the events.
    expect(JSON.stringify(r.events)).not.toMatch(/uid=\d+/);
  });
});

describe('engine: vault', () => {
  const secret = 'vault-secret-' + Math.random().toString(36).slice(2);
  const password = 'pw-' + Math.random().toString(36).slice(2);
  const sha1 = execFileSync('/usr/bin/python3', ['-c', 'import hashlib,sys;print(hashlib.sha1(sys.argv[1].encode()).hexdigest())', secret]).toString().trim();

  function encryptedVarsFile(): string {
    const dir = tempDir();
    const pwFile = path.join(dir, 'pw');
    fs.writeFileSync(pwFile, password);
    const vars = path.join(dir, 'vault.yml');
    fs.writeFileSync(vars, `vault_secret: ${secret}\n`);
    execFileSync('/usr/bin/ansible-vault', ['encrypt', '--vault-password-file', pwFile, vars]);
    fs.rmSync(pwFile);
    expect(fs.readFileSync(vars, 'utf8')).toMatch(/^\$ANSIBLE_VAULT/);
    return vars;
  }

  it('decrypts API_BACKEND_VAULT_FILE with VAULT_PASSWORD_FILE', async () => {
    const vaultFile = encryptedVarsFile();
    const pwFile = path.join(tempDir(), 'vault_pass.txt');
    fs.writeFileSync(pwFile, password);
    const engine = testEngine({ env: { API_BACKEND_VAULT_FILE: vaultFile }, vaultPasswordFile: pwFile });
    const r = await engine.run({ playbook: fixturePlaybook('vault'), inventory, limit: 'testhost', extravars: { expected_sha1: sha1 } });
    expect(extractResult(r.events, 'vault_check')).toEqual(['decrypted']);
    expect(fs.existsSync(pwFile)).toBe(true); // a user's file is never deleted
  });

  it('decrypts with an inline VAULT_PASSWORD written to a private temp file, removed on dispose', async () => {
    const vaultFile = encryptedVarsFile();
    const vault = new VaultPassword({ vaultPasswordFile: null, vaultPassword: password });
    expect(fs.statSync(vault.file!).mode & 0o777).toBe(0o600);
    const engine = testEngine({ env: { API_BACKEND_VAULT_FILE: vaultFile }, vaultPasswordFile: vault.file });
    const r = await engine.run({ playbook: fixturePlaybook('vault'), inventory, limit: 'testhost', extravars: { expected_sha1: sha1 } });
    expect(extractResult(r.events, 'vault_check')).toEqual(['decrypted']);
    const file = vault.file!;
    vault.dispose();
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(path.dirname(file))).toBe(false);
  });

  it('without a password the run fails with rc 1 and says why', async () => {
    const engine = testEngine({ env: { API_BACKEND_VAULT_FILE: encryptedVarsFile() } });
    const r = await engine.run({ playbook: fixturePlaybook('vault'), inventory, limit: 'testhost', extravars: { expected_sha1: sha1 } });
    expect(r.rc).toBe(1);
    expect(logLines(r.events).join('\n')).toMatch(/no vault secrets/i);
  });
});

describe('engine: timeout, cancellation, queue', () => {
  it('a run past its timeout ends as timeout and leaves no process behind', async () => {
    const marker = String(4000 + Math.floor(Math.random() * 999));
    const r = await testEngine().run({ playbook: fixturePlaybook('sleep'), inventory, limit: 'testhost', timeoutMs: 1500, extravars: { sleep_seconds: Number(marker) } });
    expect(r.status).toBe('timeout');
    expect(r.rc).toBe(254);
    expect(logLines(r.events).at(-1)).toBe('ERROR! the run was stopped after 1.5 s: it timed out (timeout of the run)');
    expect(r.durationMs).toBeLessThan(15_000);
    await waitFor(() => processesMatching(`sleep ${marker}`).length === 0, 5000);
  });

  it('cancel kills the whole tree, ends canceled and removes the private directory', async () => {
    const tmp = tempDir();
    const marker = String(5000 + Math.floor(Math.random() * 999));
    const engine = testEngine({ env: { RUNNER_TMP_DIR: tmp } });
    const run = engine.start({ playbook: fixturePlaybook('sleep'), inventory, limit: 'testhost', extravars: { sleep_seconds: Number(marker) } });
    await waitFor(() => processesMatching(`sleep ${marker}`).length > 0);
    run.cancel();
    const r = await run.done;
    expect(r.status).toBe('canceled');
    expect(logLines(r.events).at(-1)).toBe('ERROR! the run was canceled');
    expect(processesMatching(`sleep ${marker}`)).toEqual([]);
    expect(processesMatching(run.id)).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('a full queue is refused with a Retry-After, queued runs can be canceled, close() drains', async () => {
    const engine = testEngine({ env: { RUNNER_MAX_CONCURRENT: '1', RUNNER_MAX_QUEUED: '1', SHUTDOWN_GRACE: '0' } });
    const spec = { playbook: fixturePlaybook('sleep'), inventory, limit: 'testhost', extravars: { sleep_seconds: 6000 + Math.floor(Math.random() * 999) } };
    const first = engine.start(spec);
    const second = engine.start(spec);
    expect(engine.stats).toMatchObject({ running: 1, queued: 1 });
    let refused: unknown;
    try {
      engine.start(spec);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(QueueFullError);
    expect((refused as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    second.cancel();
    expect((await second.done).status).toBe('canceled');
    expect(engine.stats.queued).toBe(0);
    await engine.close(0);
    expect((await first.done).status).toBe('canceled');
    expect(() => engine.start(spec)).toThrow(/SHUTTING DOWN/);
    await waitFor(() => processesMatching(`sleep ${spec.extravars.sleep_seconds}`).length === 0, 5000);
  });

  it('a missing ansible-runner binary gives a failed run with a clear message', async () => {
    const r = await testEngine({ env: { ANSIBLE_RUNNER_BIN: '/nonexistent/ansible-runner' } }).run({ playbook: fixturePlaybook('publish'), inventory });
    expect(r.status).toBe('failed');
    expect(logLines(r.events).join('\n')).toMatch(/ansible-runner could not be started.*ENOENT/);
  });
});

describe('engine: secrets never reach the disk', () => {
  it('no secret from the environment is in any file of the private directory, which is gone afterwards', async () => {
    const tmp = tempDir();
    const secrets = ['sekret-vault-' + Date.now(), 'sekret-token-' + Date.now()];
    const engine = testEngine({
      env: { RUNNER_TMP_DIR: tmp },
      baseEnv: { ...process.env, VAULT_PASSWORD: secrets[0], PROXMOX_API_TOKEN_SECRET: secrets[1] },
    });
    const run = engine.start({ playbook: fixturePlaybook('sleep'), inventory, limit: 'testhost', extravars: { sleep_seconds: 7071 } });
    // artifacts/<id>/command (argv, cwd and the whole environment) is written when the run starts.
    await waitFor(() => listFiles(tmp).some((f) => f.endsWith('/command')));
    const files = listFiles(tmp);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      for (const s of secrets) expect(text, f).not.toContain(s);
    }
    run.cancel();
    await run.done;
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
