import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { CredentialsError } from '../proxmox/credentials.js';
import { PollerHub, type StatusHub } from '../proxmox/status-poller.js';
import { SharedStatusHub } from '../proxmox/shared-status.js';
import type { VmNameResolver } from '../proxmox/vm-names.js';
import { messageText, type ServerMessage } from './protocol.js';
import { keepAlive } from './keep-alive.js';

export interface VmStatusOptions {
  pollIntervalMs: number;
  /** A client whose unsent data grows past this is too slow: it is dropped (close 1013). */
  maxBufferedBytes: number;
  heartbeatMs: number;
  /** `redis`: one poll per node for every instance, through the Redis of `redisUrl` (SharedStatusHub). */
  sharing?: 'local' | 'redis';
  redisUrl?: string | null;
}

const NODE_NAME = /^[A-Za-z0-9-]+$/;
export const CLOSE_TOO_SLOW = 1013;

/**
 * `GET /ws/vm-status[?node=<name>]`: a `full` message, then `diff` messages when something changes.
 * Viewers of one node share one poller (see PollerHub), or, with sharing through Redis, one poll
 * per node for all instances (SharedStatusHub); dead connections are found by ping/pong.
 * Needs @fastify/websocket registered; returns the hub and the shutdown step.
 */
export function registerVmStatus(app: FastifyInstance, access: VmNameResolver, opts: VmStatusOptions): { hub: StatusHub; close(): Promise<void> } {
  const log = app.log as unknown as Logger;
  const hub: StatusHub = opts.sharing === 'redis' && opts.redisUrl
    ? new SharedStatusHub({ redisUrl: opts.redisUrl, intervalMs: opts.pollIntervalMs, log })
    : new PollerHub(opts.pollIntervalMs, log);
  const sockets = new Set<WebSocket>();
  /** The shutdown step: pollers stopped (a shared lease given back), viewers told the server is going away. */
  const close = async () => {
    const stopped = hub.close();
    for (const s of sockets) s.close(1001, 'server shutting down');
    await stopped;
  };

  app.get('/ws/vm-status', { websocket: true, schema: { hide: true } }, (socket, req) => {
    sockets.add(socket);
    const fail = (error: string) => {
      socket.send(JSON.stringify({ error } satisfies ServerMessage));
      socket.close(1000);
    };
    let creds;
    try {
      creds = access.credentials();
    } catch (err) {
      req.log.warn({ err: (err as Error).message }, 'vm-status: no usable Proxmox credentials');
      return fail(err instanceof CredentialsError ? err.message : 'Proxmox credentials not found in backend inventory');
    }
    const queried = (req.query as { node?: string }).node;
    const node = queried || creds.node;
    if (!NODE_NAME.test(node)) return fail(`invalid node name: ${JSON.stringify(node).slice(0, 80)}`);

    const unsubscribe = hub.subscribe(creds, node, {
      update(update) {
        if (socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > opts.maxBufferedBytes) {
          req.log.warn({ node, buffered: socket.bufferedAmount }, 'vm-status: client too slow, dropped');
          socket.close(CLOSE_TOO_SLOW, 'client too slow');
          return;
        }
        socket.send(messageText(update));
      },
    });

    keepAlive(socket, opts.heartbeatMs);
    socket.on('close', () => {
      unsubscribe();
      sockets.delete(socket);
    });
  });
  return { hub, close };
}
