import fs from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import client from 'prom-client';
import type { Config } from '../config/env.js';
import type { Engine } from '../engine/engine.js';
import { ProxmoxClient } from '../proxmox/client.js';
import type { StatusHub } from '../proxmox/status-poller.js';
import type { VmNameResolver } from '../proxmox/vm-names.js';

/**
 * `/metrics` (Prometheus text format), `/healthz` (the process answers) and `/readyz` (it can do
 * its job: ansible-runner present, inventory readable, Proxmox reachable, and the job store's
 * database reachable when it is a server). None of them is part
 * of the v0 API, so they are left out of the OpenAPI document.
 */
export interface ObservabilityDeps {
  config: Readonly<Config>;
  engine: Engine;
  vmNames: VmNameResolver;
  statusHub: () => StatusHub | undefined;
  /** Whether the caller may see /readyz's details (which name internal paths and addresses). */
  authorized: (req: FastifyRequest) => boolean;
  /** The job store, when it is a server that may be out of reach (PostgreSQL): `ping` throws then. */
  jobStore?: { kind: string; ping(): Promise<void> } | null;
  /** The run queue (RUN_QUEUE=redis): `ping` throws when Redis cannot be reached. */
  runQueue?: { kind: string; ping(): Promise<void> } | null;
}

export function registerObservability(app: FastifyInstance, deps: ObservabilityDeps): void {
  // One registry per app: several apps live in one test process.
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'r42_' });

  const requests = new client.Counter({ name: 'r42_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new client.Histogram({
    name: 'r42_http_request_duration_seconds', help: 'HTTP request latency by route', labelNames: ['method', 'route'],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 120], registers: [registry],
  });
  const runs = new client.Counter({ name: 'r42_runs_total', help: 'Playbook runs by outcome (ansible-runner status)', labelNames: ['status'], registers: [registry] });
  const runSeconds = new client.Histogram({
    name: 'r42_run_duration_seconds', help: 'Playbook run duration', buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900], registers: [registry],
  });
  new client.Gauge({ name: 'r42_runs_running', help: 'Runs executing now', registers: [registry], collect() { this.set(deps.engine.stats.running); } });
  new client.Gauge({ name: 'r42_runs_queued', help: 'Runs waiting for a slot', registers: [registry], collect() { this.set(deps.engine.stats.queued); } });
  new client.Gauge({
    name: 'r42_ws_status_clients', help: 'Connected /ws/vm-status viewers', registers: [registry],
    collect() { this.set((deps.statusHub()?.active ?? []).reduce((n, p) => n + p.size, 0)); },
  });
  new client.Gauge({
    name: 'r42_status_pollers', help: 'Active status pollers (one per node being watched)', registers: [registry],
    collect() { this.set(deps.statusHub()?.active.length ?? 0); },
  });
  const pollErrors = new client.Counter({ name: 'r42_status_poll_errors_total', help: 'Failed Proxmox status polls', registers: [registry] });

  deps.engine.onRunFinished((result) => {
    runs.inc({ status: result.status });
    runSeconds.observe(result.durationMs / 1000);
  });
  const watched = new WeakSet<object>();
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    // Count poll errors of pollers that appeared since the last request (cheap, no hub API change).
    for (const p of deps.statusHub()?.active ?? []) {
      if (watched.has(p)) continue;
      watched.add(p);
      p.on('poll-error', () => pollErrors.inc());
    }
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (req, reply) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      fs.accessSync(deps.config.runner.bin, fs.constants.X_OK);
      checks.ansible_runner = { ok: true };
    } catch {
      checks.ansible_runner = { ok: false, detail: `${deps.config.runner.bin} is not executable` };
    }
    // The warm engine's server: a hung one is being replaced (src/engine/warm/client.ts).
    if (deps.engine.warm) checks.warm_engine = deps.engine.warm.health;
    let creds;
    try {
      creds = deps.vmNames.credentials();
      checks.inventory = { ok: true };
    } catch (err) {
      checks.inventory = { ok: false, detail: (err as Error).message };
    }
    if (creds) {
      const pve = new ProxmoxClient(creds);
      try {
        await Promise.race([pve.get('/version'), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000))]);
        checks.proxmox = { ok: true };
      } catch (err) {
        checks.proxmox = { ok: false, detail: (err as Error).message };
      } finally {
        void pve.close();
      }
    } else checks.proxmox = { ok: false, detail: 'no credentials' };
    const store = deps.jobStore;
    if (store) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([store.ping(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 3 s')), 3000)))]);
        checks.job_store = { ok: true };
      } catch (err) {
        checks.job_store = { ok: false, detail: `${store.kind}: ${(err as Error).message}` };
      } finally {
        clearTimeout(timer);
      }
    }
    const queue = deps.runQueue;
    if (queue) {
      try {
        await queue.ping();
        checks.run_queue = { ok: true };
      } catch (err) {
        checks.run_queue = { ok: false, detail: `${queue.kind}: ${(err as Error).message}` };
      }
    }
    const ready = Object.values(checks).every((c) => c.ok);
    reply.code(ready ? 200 : 503);
    // The probe is open (orchestrators call it without the token): the details are not.
    return deps.authorized(req) ? { ready, checks } : { ready };
  });
}
