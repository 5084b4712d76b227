import type { IncomingMessage, ServerResponse } from 'node:http';
import { SLOW_TASK_KINDS, type SlowTaskKind, type TaskManager } from './model/tasks.js';
import type { SimState } from './model/types.js';
import type { Faults } from './server.js';

/** What the control API acts on: the running simulator (index.ts's Simulator is one). */
export interface Controllable {
  readonly state: SimState;
  readonly tasks: Pick<TaskManager, 'durations'>;
  reset(): void;
  setFaults(faults: Faults): void;
  setTaskDuration(ms: number): void;
  setTaskDurations(durations: Partial<Record<SlowTaskKind, number | null>>): void;
  setLatency(ms: number): void;
  setNodeOnline(node: string, online: boolean): void;
  setCpuLoad(vmid: number, load: number | undefined): void;
}

/**
 * The simulator's own control API, apart from the emulated `/api2` tree (moto-style): reset the
 * state, read it, inject faults, take a node offline. It is meant for test harnesses and demos.
 *
 *   POST /_sim/reset                      back to the seed
 *   GET  /_sim/state                      the whole state as JSON
 *   POST /_sim/faults    {"errorRate":0.2,"timeoutRate":0,"resetRate":0}
 *        (or {"errorNext":1} / {"resetNext":2}: exactly the next N API requests fail, then none)
 *   POST /_sim/nodes/<node>/offline | /online
 *   POST /_sim/guests/<vmid>/cpu  {"load":0.8}     (null lets it wander again)
 *   GET  /_sim/settings                   the task durations in effect
 *   POST /_sim/settings  {"taskDurationMs":2000,"latencyMs":50,"taskDurationsMs":{"clone":15000}}
 *        (a per-kind duration of null follows taskDurationMs again)
 */
export function controlApi(sim: () => Controllable) {
  return (req: IncomingMessage, res: ServerResponse, body: Buffer): boolean => {
    const url = req.url ?? '';
    if (!url.startsWith('/_sim/')) return false;
    const reply = (status: number, data: unknown) => {
      const payload = JSON.stringify({ data });
      res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    let input: Record<string, unknown> = {};
    try {
      input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      reply(400, 'body must be JSON');
      return true;
    }
    const s = sim();
    const node = /^\/_sim\/nodes\/([^/]+)\/(offline|online)$/.exec(url);
    const cpu = /^\/_sim\/guests\/(\d+)\/cpu$/.exec(url);
    if (req.method === 'GET' && url === '/_sim/state') reply(200, s.state);
    else if (req.method === 'POST' && url === '/_sim/reset') {
      s.reset();
      reply(200, null);
    } else if (req.method === 'POST' && url === '/_sim/faults') {
      s.setFaults({
        errorRate: Number(input.errorRate ?? 0),
        timeoutRate: Number(input.timeoutRate ?? 0),
        resetRate: Number(input.resetRate ?? 0),
        errorNext: Number(input.errorNext ?? 0),
        resetNext: Number(input.resetNext ?? 0),
      });
      reply(200, null);
    } else if (req.method === 'GET' && url === '/_sim/settings') {
      reply(200, s.tasks.durations());
    } else if (req.method === 'POST' && url === '/_sim/settings') {
      if (input.taskDurationMs !== undefined) s.setTaskDuration(Number(input.taskDurationMs));
      if (input.latencyMs !== undefined) s.setLatency(Number(input.latencyMs));
      const kinds = input.taskDurationsMs;
      if (kinds !== undefined && (kinds === null || typeof kinds !== 'object')) {
        reply(400, 'taskDurationsMs must be an object such as {"clone":15000}');
        return true;
      }
      if (kinds) {
        const wanted: Partial<Record<SlowTaskKind, number | null>> = {};
        for (const kind of SLOW_TASK_KINDS) {
          const v = (kinds as Record<string, unknown>)[kind];
          if (v !== undefined) wanted[kind] = v === null ? null : Number(v);
        }
        s.setTaskDurations(wanted);
      }
      reply(200, s.tasks.durations());
    } else if (req.method === 'POST' && node) {
      try {
        s.setNodeOnline(decodeURIComponent(node[1]!), node[2] === 'online');
        reply(200, null);
      } catch (err) {
        reply(400, (err as Error).message);
      }
    } else if (req.method === 'POST' && cpu) {
      try {
        s.setCpuLoad(Number(cpu[1]), input.load === null || input.load === undefined ? undefined : Number(input.load));
        reply(200, null);
      } catch (err) {
        reply(400, (err as Error).message);
      }
    } else reply(404, 'unknown control endpoint');
    return true;
  };
}
