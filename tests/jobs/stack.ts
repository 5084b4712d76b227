import { createApp } from '../../src/app.js';
import { REPO_ROOT } from '../../src/config/paths.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { apiCaller, simulatorInventory, tempDir, testConfig } from '../helpers.js';

/**
 * The service (the repository's own playbooks, role and catalog) listening on a port, with an
 * inventory pointing at a Proxmox simulator and its job database in a temporary DATA_DIR.
 */
export async function startJobsStack(env: Record<string, string> = {}) {
  const sim = await startSimulator({ port: 0, taskDurationMs: 0 });
  const dataDir = tempDir('r42-jobs-data-');
  const config = testConfig({
    PROJECT_ROOT_DIR: REPO_ROOT,
    API_BACKEND_INVENTORY_DIR: simulatorInventory(sim),
    DATA_DIR: dataDir,
    RUNNER_CANCEL_GRACE: '1',
    JOBS_HEARTBEAT_INTERVAL: '0.5',
    ...env,
  });
  const app = await createApp(config, { logger: false });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  const call = apiCaller(base);

  /** Polls a job until it is over. */
  async function settle(id: string, timeoutMs = 60_000): Promise<any> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const j = await call('GET', `/v0/jobs/${id}`);
      if (!['queued', 'running'].includes(j.body.status)) return j.body;
      if (Date.now() > end) throw new Error(`job ${id} still ${j.body.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    sim: sim as Simulator,
    app,
    base,
    dataDir,
    call,
    settle,
    close: async () => {
      await app.close();
      await sim.close();
    },
  };
}

export type JobsStack = Awaited<ReturnType<typeof startJobsStack>>;

export interface SseMessage {
  id: string | null;
  event: string;
  data: any;
}

/**
 * A Server-Sent Events client on fetch: collects messages until the server ends the stream, or
 * until `stopAfter` says so (then the connection is dropped, as a network failure would).
 */
export async function readSse(
  url: string,
  opts: { lastEventId?: string; stopAfter?: (m: SseMessage, all: SseMessage[]) => boolean; onOpen?: (status: number) => void } = {},
): Promise<{ status: number; messages: SseMessage[]; raw: string; ended: 'server' | 'client' }> {
  const abort = new AbortController();
  const r = await fetch(url, { headers: { accept: 'text/event-stream', ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}) }, signal: abort.signal });
  opts.onOpen?.(r.status);
  const messages: SseMessage[] = [];
  let raw = '';
  let ended: 'server' | 'client' = 'server';
  if (r.status !== 200 || !r.body) return { status: r.status, messages, raw: await r.text(), ended: 'server' };
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      const text = decoder.decode(chunk, { stream: true });
      raw += text;
      buffer += text;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let id: string | null = null;
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (field === 'id') id = value;
          else if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length === 0) continue;
        const m: SseMessage = { id, event, data: JSON.parse(data.join('\n')) };
        messages.push(m);
        if (opts.stopAfter?.(m, messages)) {
          ended = 'client';
          abort.abort();
          return { status: r.status, messages, raw, ended };
        }
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
  return { status: r.status, messages, raw, ended };
}
