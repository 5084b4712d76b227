import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';
import { descendants } from '../../src/engine/process-tree.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { apiCaller, commandLine, simulatorInventory, tempDir, waitFor } from '../helpers.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/**
 * Issue 24, item 6: what a service process keeps in the temp dir — the VAULT_PASSWORD file and
 * the warm engine's socket directory — does not outlive it when it is killed (SIGKILL: no handler
 * runs): the next start on the machine removes a dead instance's, and never a live one's.
 */

const running: ServiceProcess[] = [];
let sim: Simulator;
afterAll(async () => {
  for (const s of running) await s.stop();
  await sim?.close();
});


describe('temp directories of a killed service', () => {
  it('are removed by the next start; those of a live instance are not', async () => {
    sim = await startSimulator({ port: 0 });
    const tmp = tempDir('r42-inst-tmp-');
    const env = (dataDir: string) => ({
      PROJECT_ROOT_DIR: REPO_ROOT,
      API_BACKEND_INVENTORY_DIR: simulatorInventory(sim),
      DATA_DIR: dataDir,
      TMPDIR: tmp,
      VAULT_PASSWORD: 'instance-dirs-vault-password',
      RUNNER_ENGINE: 'warm',
      LOG_LEVEL: 'info',
    });
    const list = (s: ServiceProcess) => apiCaller(s.base)('POST', '/v0/admin/proxmox/vms/list', { proxmox_node: 'px-testing' });
    const entries = () => new Set(fs.readdirSync(tmp).filter((n) => n.startsWith('r42-vault-') || n.startsWith('r42-warm-')));
    const since = (before: Set<string>) => [...entries()].filter((n) => !before.has(n)).sort();

    // A: one run, so that its warm engine (started on the first run) has its socket directory.
    const dataA = tempDir('r42-inst-data-');
    let before = entries();
    const a = await startServiceProcess(env(dataA));
    running.push(a);
    expect((await list(a)).status).toBe(200);
    const ofA = since(before);
    expect(ofA.filter((n) => n.startsWith('r42-vault-'))).toHaveLength(1);
    expect(ofA.filter((n) => n.startsWith('r42-warm-'))).toHaveLength(1);

    // B: a second live instance on the same machine and temp dir.
    before = entries();
    const b = await startServiceProcess(env(tempDir('r42-inst-data-')));
    running.push(b);
    expect((await list(b)).status).toBe(200);
    const ofB = since(before);
    expect(ofB).toHaveLength(2);

    // A killed with its warm engine, neither able to clean up (the engine stopped first, so it
    // cannot react to A's end before its own SIGKILL).
    const server = descendants(a.pid).find((pid) => commandLine(pid).includes('r42-warm server'));
    expect(server).toBeDefined();
    process.kill(server!, 'SIGSTOP');
    process.kill(a.pid, 'SIGKILL');
    await a.exited;
    process.kill(server!, 'SIGKILL');
    await waitFor(() => !fs.existsSync(`/proc/${server}`) || fs.readFileSync(`/proc/${server}/stat`, 'latin1').includes(') Z'), 5000);
    expect(ofA.every((n) => fs.existsSync(`${tmp}/${n}`))).toBe(true); // left behind, as after an OOM kill

    // C: started on A's data directory and the same temp dir.
    const c = await startServiceProcess(env(dataA));
    running.push(c);
    expect(ofA.filter((n) => fs.existsSync(`${tmp}/${n}`))).toEqual([]);
    expect(c.out()).toContain('removed the temp directories of dead service processes');
    // B's are untouched, and B still works (its vault file and its engine's socket).
    expect(ofB.filter((n) => fs.existsSync(`${tmp}/${n}`))).toEqual(ofB);
    expect((await list(b)).status).toBe(200);
    expect((await list(c)).status).toBe(200);

    // An orderly stop removes its own.
    await b.stop();
    expect(ofB.filter((n) => fs.existsSync(`${tmp}/${n}`))).toEqual([]);
  }, 150_000); // three service processes and five warm runs: ~30 s alone, twice that on a busy machine
});
