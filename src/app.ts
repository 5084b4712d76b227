import { randomUUID } from 'node:crypto';
import path from 'node:path';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/env.js';
import { Engine } from './engine/engine.js';
import { withAccessLogRedaction } from './http/access-log.js';
import { bearerChecker, registerBearerAuth } from './http/auth.js';
import { drainConnections, refuseWhileClosing } from './http/closing.js';
import { corsOriginRule, registerCors } from './http/cors.js';
import { refuseContentEncodings } from './http/encoding.js';
import { registerHostCheck } from './http/hosts.js';
import { guardUpgrades } from './http/upgrades.js';
import { registerDocs } from './http/docs.js';
import { registerErrorHandling } from './http/errors.js';
import { registerObservability } from './http/observability.js';
import { sharedSerializers } from './http/serialization.js';
import { validatorCompiler } from './http/validation.js';
import { VmNameResolver } from './proxmox/vm-names.js';
import type { StatusHub } from './proxmox/status-poller.js';
import { registerVmStatus } from './ws/vm-status.js';
import { JobManager } from './jobs/manager.js';
import { JobComponents } from './schemas/jobs.js';
import { MemoryJobStore } from './jobs/memory-store.js';
import { ServiceSecrets } from './jobs/secrets.js';
import { PgJobStore } from './jobs/pg-store.js';
import { RedisRunQueue } from './jobs/redis-queue.js';
import { SqliteJobStore } from './jobs/sqlite-store.js';
import type { JobStore } from './jobs/types.js';
import { registerRoutes } from './routes/handler.js';
import { registerJobRoutes } from './routes/jobs.js';
import { routeTable } from './routes/table.js';
import { BodyBlocks, Responses } from './schemas/common.js';
import { addComponents } from './schemas/components.js';
import { requestBodyName } from './schemas/request-bodies.js';
import { registerShutdown } from './shutdown.js';

export interface AppOptions {
  /** Path of the vault password file runs use (VaultPassword.file), or null. */
  vaultPasswordFile?: string | null;
  /** A pino logger, or `false` to silence the app (tests). */
  logger?: Logger | false;
  /** Injected engine (tests); by default one is created from the config and closed with the app. */
  engine?: Engine;
  /** Injected job store (tests, benchmarks); by default the one JOBS_STORE names, closed with the app. */
  jobStore?: JobStore;
}

/**
 * The job store the configuration asks for: SQLite in DATA_DIR/jobs.db, memory, or the PostgreSQL
 * database of DATABASE_URL (connected and migrated here: a server that cannot be reached stops the startup).
 */
export async function openJobStore(config: Readonly<Config>): Promise<JobStore> {
  switch (config.jobs.store) {
    case 'memory':
      return new MemoryJobStore();
    case 'postgres':
      return PgJobStore.open(config.jobs.databaseUrl!);
    default:
      return new SqliteJobStore(path.join(config.jobs.dataDir, 'jobs.db'));
  }
}

/**
 * Node looks for expired requests only this often (30 s by default): a fraction of the shortest
 * timeout keeps the real limit close to the configured one.
 */
function checkingInterval(config: Readonly<Config>): number {
  const shortest = Math.min(config.http.headersTimeoutMs, config.http.requestTimeoutMs);
  return Math.min(5000, Math.max(50, Math.floor(shortest / 4)));
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare module 'fastify' {
  interface FastifyInstance {
    engine: Engine;
    jobs: JobManager;
    config: Readonly<Config>;
    statusHub: StatusHub;
  }
}

/**
 * Builds the HTTP application without listening, so tests can use `inject()` or listen on
 * an ephemeral port themselves.
 */
export async function createApp(config: Readonly<Config>, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    // The access log's URLs with query-string credentials redacted (http/access-log.ts).
    loggerInstance: opts.logger ? withAccessLogRedaction(opts.logger) : undefined,
    logger: opts.logger === false ? false : undefined,
    // A gateway may already have given the request an id: keep it so logs can be joined.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: 1024 * 1024,
    // A client sending its request slowly (or never finishing it) is answered 408 and closed;
    // Fastify's default (0) holds it forever and keeps a shutdown from ending.
    requestTimeout: config.http.requestTimeoutMs,
    http: { headersTimeout: config.http.headersTimeoutMs, connectionsCheckingInterval: checkingInterval(config) },
    // The 503 while closing is the API's own (http/closing.ts).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { allErrors: true } },
    // One serializer per distinct response schema, not one per route and status code.
    schemaController: { compilersFactory: { buildSerializer: sharedSerializers() } },
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  addComponents(app, [...Object.values(Responses), ...Object.values(JobComponents), ...Object.values(BodyBlocks)]);
  // The shutdown, in its order (shutdown.ts): first of all hooks, so the refusal starts before the engine's grace.
  const shutdown = registerShutdown(app);
  // The first onRequest hook: requests during the shutdown get the API's 503.
  shutdown({ refuseRequests: refuseWhileClosing(app) });

  const engine = opts.engine ?? new Engine({ config, vaultPasswordFile: opts.vaultPasswordFile ?? null, log: app.log as Logger });
  app.decorate('engine', engine);
  app.decorate('config', config);
  shutdown({ engine: opts.engine ? null : engine });

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('x-content-type-options', 'nosniff');
  });

  registerErrorHandling(app, { debug: config.debug });
  // Hooks in the order they must see a request: closing (above), Host, upgrade origin, encoding, CORS, token.
  registerHostCheck(app, config.allowedHosts);
  guardUpgrades(app, corsOriginRule(config.corsOriginRegex), config.allowedHosts);
  refuseContentEncodings(app);
  await registerCors(app, config.corsOriginRegex);
  registerBearerAuth(app, config.apiAuthToken);
  await registerDocs(app, {
    bodyBlocks: Object.values(BodyBlocks).map((b) => b.id),
    requestBodies: Object.fromEntries(routeTable.flatMap((def) => {
      const name = def.body ? requestBodyName(def.body) : undefined;
      return name ? [[def.operationId, name]] : [];
    })),
  });
  const vmNames = new VmNameResolver(config, opts.vaultPasswordFile ?? null);
  shutdown({ vmNames });
  const store = opts.jobStore ?? (await openJobStore(config));
  shutdown({ store: opts.jobStore ? null : store });
  // RUN_QUEUE=redis: runs go to the workers through Redis (it may be away at startup: requests get 503s until it is there).
  const runQueue = config.queue.mode === 'redis'
    ? new RedisRunQueue(config.queue.redisUrl!, { maxQueued: config.runner.maxQueued, maxConcurrent: config.runner.maxConcurrent }, app.log as Logger)
    : null;
  shutdown({ runQueue });
  registerObservability(app, {
    config, engine, vmNames,
    statusHub: () => (app.hasDecorator('statusHub') ? app.statusHub : undefined),
    authorized: bearerChecker(config.apiAuthToken),
    // A store that can be out of reach (a database server) is one of the dependencies /readyz checks.
    jobStore: store.ping ? { kind: store.kind, ping: () => store.ping!() } : null,
    runQueue: runQueue ? { kind: runQueue.kind, ping: () => runQueue.ping() } : null,
  });
  const secrets = new ServiceSecrets(config, opts.vaultPasswordFile ?? null);
  const jobs = new JobManager({
    store,
    engine,
    config,
    log: app.log as Logger,
    secrets: () => secrets.values(),
    defaultNode: () => vmNames.credentials().node,
    nodeVmIds: (node) => vmNames.nodeVmIds(node),
    // A job that changed guests: their viewers on /ws/vm-status get the new state now (issue 25.5).
    onJobEnd: (job) => {
      if (!app.hasDecorator('statusHub')) return;
      for (const node of new Set(job.targets.map((t) => t.node))) app.statusHub.refresh(node);
    },
    ...(runQueue ? { queue: runQueue, notices: runQueue.notices } : {}),
  });
  await jobs.start();
  app.decorate('jobs', jobs);
  shutdown({ jobs });
  const proxmox = {
    guest: (node: string | null, vmId: string | number) => vmNames.guest(node, vmId),
    nodeInterfaces: (node: string | null) => vmNames.nodeInterfaces(node),
    containerTemplates: (node: string | null) => vmNames.containerTemplates(node),
    nodeOf: (node: string | null) => vmNames.nodeOf(node),
  };
  const ctx = { config, resolveVmName: (node: string | null, vmId: string, kind?: 'qemu' | 'lxc') => vmNames.resolve(node, vmId, kind), proxmoxApiHosts: () => vmNames.apiHosts(), configuredVarNames: () => vmNames.varNames(), proxmox };
  registerRoutes(app, routeTable, { ctx, jobs, lockWaitMs: config.jobs.lockWaitMs });
  // Its own preClose (close the clients, stop the server) is a step of the shutdown instead.
  await app.register(websocket, { options: { maxPayload: 64 * 1024 }, preClose: (done) => done() });
  shutdown({ websocketServer: app.websocketServer });
  const vmStatus = registerVmStatus(app, vmNames, { ...config.status, redisUrl: config.redisUrl });
  app.decorate('statusHub', vmStatus.hub);
  shutdown({ vmStatus, jobStreams: registerJobRoutes(app, jobs, { heartbeatMs: config.jobs.heartbeatMs }), drainConnections: () => drainConnections(app) });
  await app.ready();
  return app;
}
