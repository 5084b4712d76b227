import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { WebSocketServer } from 'ws';
import { registerShutdown } from '../../src/shutdown.js';

describe('the ordered shutdown', () => {
  it('app.close() runs the steps in their one order, and skips parts that were never made', async () => {
    const app = Fastify() as unknown as FastifyInstance;
    const done: string[] = [];
    const mark = (name: string) => () => void done.push(name);
    const later = (name: string) => async () => {
      await new Promise((r) => setTimeout(r, 5));
      done.push(name);
    };
    const provide = registerShutdown(app);
    provide({ refuseRequests: mark('refuse'), engine: { close: later('engine') } });
    provide({
      websocketServer: { clients: new Set(), close: mark('websocket') } as unknown as WebSocketServer,
      vmStatus: { close: mark('vm-status') },
      jobs: { close: later('jobs') },
      jobStreams: { closeStreams: mark('job streams') },
      drainConnections: mark('connections'),
      store: null, // an injected store is its owner's
      vmNames: { close: mark('vm names') },
    });
    await app.ready();
    await app.close();
    expect(done).toEqual(['refuse', 'engine', 'websocket', 'vm-status', 'jobs', 'job streams', 'connections', 'vm names']);
  });
});
