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
 * What /ws/vm-status needs of a hub: one feed per (Proxmox API, node) for all the viewers of this
 * process. PollerHub polls from this process; SharedStatusHub (shared-status.ts) shares one poll
 * per node among every instance through Redis.
 */
export interface StatusHub {
  subscribe(creds: ProxmoxCredentials, node: string, sub: Subscriber): () => void;
  /**
   * A job changed guests of `node`: its viewers get the new state now rather than at the next
   * regular poll (NodePoller.refresh). Nothing happens when nobody views the node.
   */
  refresh(node: string): void;
  /** Live node feeds (metrics, tests, the benchmark). */
  readonly active: NodePoller[];
  close(): void | Promise<void>;
}

/** One poll of a node: its guests (QEMU then LXC, templates excluded), or a failure. */
export async function fetchNodeStatus(client: ProxmoxClient, node: string): Promise<VmStatus[]> {
  const [qemu, lxc] = await Promise.all([client.listQemu(node), client.listLxc(node)]);
  const seen = new Set<number>();
  const vms: VmStatus[] = [];
  for (const [list, type] of [[qemu, 'qemu'], [lxc, 'lxc']] as const) {
    if (!Array.isArray(list)) throw new Error('Proxmox answered a list that is not a list');
    for (const raw of list) {
      const vm = toVmStatus(raw as Record<string, unknown>, type);
      if (vm && !seen.has(vm.vmid)) {
        seen.add(vm.vmid);
        vms.push(vm);
      }
    }
  }
  return vms;
}

/**
 * Polls one Proxmox node for all its viewers: one request pair (QEMU + LXC) per interval,
 * whatever the number of subscribers. Starts with the first subscriber, stops after the last.
 * A failed poll keeps the last known state and marks it stale; nothing is reported removed
 * because Proxmox did not answer.
 *
 * The viewers' side (`applySnapshot`, `applyFailure`) is separate from the polling, so that a
 * shared feed (shared-status.ts) can hand it snapshots another instance polled: the diffs are
 * always computed here, from this process's last state, so every instance sends the same ones.
 */
export class NodePoller extends EventEmitter {
  protected readonly subscribers = new Set<Subscriber>();
  private state: Map<number, VmStatus> | null = null;
  private order: number[] = [];
  private staleError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  /** A refresh asked for while a round was under way: one more round at once after it. */
  private refreshPending = false;
  private stopped = false;
  private readonly client: ProxmoxClient;
  /** Polls of Proxmox made by this process (for tests and the benchmark: one per interval, not one per client). */
  polls = 0;

  constructor(
    readonly creds: ProxmoxCredentials,
    readonly node: string,
    protected readonly intervalMs: number,
    protected readonly log: Logger,
  ) {
    super();
    this.client = new ProxmoxClient(creds);
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Whether the state shown is the last known after a failed poll. */
  get stale(): boolean {
    return this.staleError !== null;
  }

  subscribe(sub: Subscriber): () => void {
    this.subscribers.add(sub);
    if (this.state) {
      sub.update(this.fullUpdate()); // at once, without waiting for the next poll
    }
    if (!this.timer && !this.polling && !this.stopped) void this.tick();
    return () => {
      this.subscribers.delete(sub);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  /** The state shown, in Proxmox's order (null before the first answer). */
  protected snapshot(): VmStatus[] | null {
    return this.state ? this.order.map((id) => this.state!.get(id)!) : null;
  }

  private fullUpdate(): StatusUpdate {
    const vms = this.snapshot()!;
    return this.staleError ? { type: 'full', vms, stale: true, error: this.staleError } : { type: 'full', vms };
  }

  private broadcast(update: StatusUpdate): void {
    for (const sub of this.subscribers) sub.update(update);
  }

  /** Time until the next round, once a round has ended (it took `elapsedMs`). */
  protected nextDelay(_elapsedMs: number): number {
    return this.intervalMs;
  }

  /** One round: here a poll; a shared feed decides whether to poll or to listen. */
  protected async round(): Promise<void> {
    await this.poll();
  }

  /** The next round now instead of at its time (unless one is under way). */
  protected kick(): void {
    if (!this.timer || this.polling || this.stopped) return;
    clearTimeout(this.timer);
    void this.tick();
  }

  /**
   * Something changed on the node (a job ended): the next round now, in place of the regular one
   * (the interval counts again from it, so Proxmox is not asked twice). A round already under way
   * may have read the node before the change: then one more round follows it at once. Several
   * refreshes meanwhile make one round.
   */
  refresh(): void {
    if (this.subscribers.size === 0 || this.stopped) return;
    if (this.polling || !this.timer) {
      this.refreshPending = true;
      return;
    }
    this.kick();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.subscribers.size === 0 || this.stopped) return;
    this.polling = true;
    const started = performance.now();
    try {
      await this.round();
    } catch (err) {
      this.log.error({ node: this.node, err: (err as Error).message }, 'status round failed');
    } finally {
      this.polling = false;
      const again = this.refreshPending;
      this.refreshPending = false;
      if (this.subscribers.size > 0 && !this.stopped) {
        this.timer = setTimeout(() => void this.tick(), again ? 0 : Math.max(0, this.nextDelay(performance.now() - started)));
      }
    }
  }

  /** Polls Proxmox and hands the answer to the viewers; returns it (the guests, or the error). */
  protected async poll(): Promise<{ vms: VmStatus[] } | { error: string }> {
    this.polls++;
    let vms: VmStatus[];
    try {
      vms = await fetchNodeStatus(this.client, this.node);
    } catch (err) {
      const error = (err as Error).message;
      this.emit('poll-error', error);
      if (this.staleError === null) this.log.warn({ node: this.node, err: error }, 'status poll failed: clients keep the last known state');
      this.applyFailure(error);
      return { error };
    }
    this.emit('fetched');
    this.applySnapshot(vms);
    this.emit('polled');
    return { vms };
  }

  /** A fresh state of the node: sent as `full` the first time, then as the diff from the last state. */
  applySnapshot(vms: readonly VmStatus[]): void {
    const next = new Map<number, VmStatus>();
    const order: number[] = [];
    for (const vm of vms) {
      if (next.has(vm.vmid)) continue;
      next.set(vm.vmid, vm);
      order.push(vm.vmid);
    }
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
  }

  /**
   * A failed poll: the last state stays, marked stale. `known` is the last state another instance
   * had (a shared feed), taken when this process has none yet, so a viewer still gets a `full`.
   */
  applyFailure(error: string, known?: readonly VmStatus[] | null): void {
    if (!this.state && known) {
      this.applySnapshot(known);
      this.staleError = error;
      this.broadcast({ type: 'stale', stale: true, error });
      return;
    }
    if (this.staleError === null) {
      this.staleError = error;
      this.broadcast({ type: 'stale', stale: true, error });
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.emit('stopped');
    void this.client.close();
  }
}

/** The key of one feed: the Proxmox API, the token (its rights decide what it sees) and the node. */
export const feedKey = (creds: ProxmoxCredentials, node: string): string => `${creds.apiHost}|${creds.user}!${creds.tokenId}|${node}`;

/**
 * Feeds by (Proxmox API, node), each shared by every viewer of that node in this process, made
 * by `create` with the first viewer and dropped after the last.
 */
export abstract class FeedHub<P extends NodePoller> {
  protected readonly pollers = new Map<string, P>();

  protected abstract create(creds: ProxmoxCredentials, node: string, key: string): P;

  subscribe(creds: ProxmoxCredentials, node: string, sub: Subscriber): () => void {
    const key = feedKey(creds, node);
    let poller = this.pollers.get(key);
    if (!poller) {
      poller = this.create(creds, node, key);
      const p = poller;
      p.once('stopped', () => {
        if (this.pollers.get(key) === p) this.pollers.delete(key);
      });
      this.pollers.set(key, p);
    }
    return poller.subscribe(sub);
  }

  /** Live pollers (tests, metrics). */
  get active(): P[] {
    return [...this.pollers.values()];
  }

  /** A job changed guests of `node`: every feed of that node (whatever the Proxmox API or token) refreshes. */
  refresh(node: string): void {
    for (const p of this.pollers.values()) if (p.node === node) p.refresh();
  }

  close(): void | Promise<void> {
    for (const p of this.pollers.values()) p.stop();
    this.pollers.clear();
  }
}

/** One poller per (Proxmox API, node), shared by every viewer of that node in this process. */
export class PollerHub extends FeedHub<NodePoller> implements StatusHub {
  constructor(private readonly intervalMs: number, private readonly log: Logger) {
    super();
  }

  protected create(creds: ProxmoxCredentials, node: string): NodePoller {
    return new NodePoller(creds, node, this.intervalMs, this.log);
  }
}
