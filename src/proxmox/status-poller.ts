import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ProxmoxClient } from './client.js';
import type { ProxmoxCredentials } from './credentials.js';
import { diffStates, toVmStatus, type StatusUpdate, type VmStatus } from './vm-status.js';

export interface Subscriber {
  /** One update; a broadcast hands every subscriber the same object (serialise it once). */
  update(update: StatusUpdate): void;
}

/**
 * Polls one Proxmox node for all its viewers: one request pair (QEMU + LXC) per interval,
 * whatever the number of subscribers. Starts with the first subscriber, stops after the last.
 * A failed poll keeps the last known state and marks it stale; nothing is reported removed
 * because Proxmox did not answer.
 */
export class NodePoller extends EventEmitter {
  private readonly subscribers = new Set<Subscriber>();
  private state: Map<number, VmStatus> | null = null;
  private order: number[] = [];
  private staleError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private readonly client: ProxmoxClient;
  /** Polls made (for tests and the benchmark: one per interval, not one per client). */
  polls = 0;

  constructor(
    readonly creds: ProxmoxCredentials,
    readonly node: string,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    super();
    this.client = new ProxmoxClient(creds);
  }

  get size(): number {
    return this.subscribers.size;
  }

  subscribe(sub: Subscriber): () => void {
    this.subscribers.add(sub);
    if (this.state) {
      sub.update(this.fullUpdate()); // at once, without waiting for the next poll
    }
    if (!this.timer && !this.polling) void this.tick();
    return () => {
      this.subscribers.delete(sub);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  private fullUpdate(): StatusUpdate {
    const vms = this.order.map((id) => this.state!.get(id)!);
    return this.staleError ? { type: 'full', vms, stale: true, error: this.staleError } : { type: 'full', vms };
  }

  private broadcast(update: StatusUpdate): void {
    for (const sub of this.subscribers) sub.update(update);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.subscribers.size === 0) return;
    this.polling = true;
    try {
      await this.poll();
    } finally {
      this.polling = false;
      if (this.subscribers.size > 0) this.timer = setTimeout(() => void this.tick(), this.intervalMs);
    }
  }

  private async poll(): Promise<void> {
    this.polls++;
    let next: Map<number, VmStatus>;
    let order: number[];
    try {
      const [qemu, lxc] = await Promise.all([this.client.listQemu(this.node), this.client.listLxc(this.node)]);
      next = new Map();
      order = [];
      for (const [list, type] of [[qemu, 'qemu'], [lxc, 'lxc']] as const) {
        if (!Array.isArray(list)) throw new Error('Proxmox answered a list that is not a list');
        for (const raw of list) {
          const vm = toVmStatus(raw as Record<string, unknown>, type);
          if (vm && !next.has(vm.vmid)) {
            next.set(vm.vmid, vm);
            order.push(vm.vmid);
          }
        }
      }
    } catch (err) {
      const error = (err as Error).message;
      this.emit('poll-error', error);
      if (this.staleError === null) {
        this.log.warn({ node: this.node, err: error }, 'status poll failed: clients keep the last known state');
        this.staleError = error;
        this.broadcast({ type: 'stale', stale: true, error });
      }
      return;
    }
    this.emit('fetched');
    const previous = this.state;
    const wasStale = this.staleError !== null;
    this.state = next;
    this.order = order;
    this.staleError = null;
    if (wasStale) this.broadcast({ type: 'stale', stale: false });
    if (!previous) {
      this.broadcast(this.fullUpdate());
    } else {
      const changes = diffStates(previous, next);
      if (Object.keys(changes).length > 0) this.broadcast({ type: 'diff', changes });
    }
    this.emit('polled');
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.emit('stopped');
    void this.client.close();
  }
}

/** One poller per (Proxmox API, node), shared by every viewer of that node. */
export class PollerHub {
  private readonly pollers = new Map<string, NodePoller>();

  constructor(private readonly intervalMs: number, private readonly log: Logger) {}

  subscribe(creds: ProxmoxCredentials, node: string, sub: Subscriber): () => void {
    const key = `${creds.apiHost}|${creds.user}!${creds.tokenId}|${node}`;
    let poller = this.pollers.get(key);
    if (!poller) {
      poller = new NodePoller(creds, node, this.intervalMs, this.log);
      const p = poller;
      p.once('stopped', () => {
        if (this.pollers.get(key) === p) this.pollers.delete(key);
      });
      this.pollers.set(key, p);
    }
    return poller.subscribe(sub);
  }

  /** Live pollers (tests, metrics). */
  get active(): NodePoller[] {
    return [...this.pollers.values()];
  }

  close(): void {
    for (const p of this.pollers.values()) p.stop();
    this.pollers.clear();
  }
}
