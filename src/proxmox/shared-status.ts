import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { withoutPassword } from '../config/secret-names.js';
import type { ProxmoxCredentials } from './credentials.js';
import { FeedHub, NodePoller, type StatusHub } from './status-poller.js';
import type { VmStatus } from './vm-status.js';

/**
 * One Proxmox status poll per node per interval for the viewers of every instance
 * (`STATUS_SHARING=redis`, `REDIS_URL`).
 *
 * Per feed (Proxmox API host, token, node: instances pointing at different clusters never mix),
 * among the instances that have viewers of it, one holds a lease in Redis (`SET NX PX`, renewed
 * each interval) and polls Proxmox. After each poll it stores the node's state (the last
 * snapshot, for viewers who join elsewhere) and publishes it on the feed's channel, numbered by a
 * counter in Redis, both in one script that first checks it still holds the lease (a leader that
 * lost it while polling publishes nothing). Every instance hands the snapshots it receives to its
 * own NodePoller view, which computes the `full`/`diff`/`stale` messages as when it polls itself:
 * the same messages on every instance, and a missed snapshot only makes the next diff cover two
 * intervals. An instance without viewers of a node takes no part; a leader whose last viewer
 * leaves gives the lease back and says so on the channel, so another takes over at once. A leader
 * that dies is replaced when its lease runs out (1.5 intervals + 0.5 s; the others try every half
 * interval). With Redis out of reach (either connection down, a command failing), every instance
 * polls for its own viewers, as `STATUS_SHARING=local` does, and shares again once both
 * connections are back.
 *
 * Redis keys, for a feed `F` = `<api host>|<user>!<token id>|<node>`: `r42:vm-status:{F}:leader`
 * (the lease: the holder's instance id), `…:snapshot` (the last message), `…:seq` (its counter),
 * channel `…:updates`. The braces keep a feed's keys on one Redis Cluster slot.
 */

/** What travels on a feed's channel (and is kept as its snapshot). */
type WireMessage =
  | { seq: number; from: string; vms: VmStatus[] | null; error?: string }
  | { released: true; from: string }
  /** A job ended on an instance that does not poll the node: the leader polls now (NodePoller.refresh). */
  | { refresh: true; from: string };

/** Lease: taken when free, renewed when ours. 1 when we hold it. */
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

/** Publish a poll's result, only while holding the lease: the message's number, or 0. */
const PUBLISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local seq = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
local msg = '{"seq":' .. seq .. ',' .. ARGV[2]
redis.call('SET', KEYS[2], msg, 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], msg)
return seq`;

/** Give the lease back (only ours) and tell the others. */
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

interface SharedCommands {
  r42StatusAcquire(lease: string, me: string, ttlMs: number): Promise<number>;
  r42StatusPublish(lease: string, snapshot: string, seq: string, me: string, body: string, snapshotTtlMs: number, channel: string, seqTtlMs: number): Promise<number>;
  r42StatusRelease(lease: string, me: string, channel: string, message: string): Promise<number>;
}

export type SharedRole = 'leader' | 'follower' | 'local';

export interface SharedStatusOptions {
  redisUrl: string;
  intervalMs: number;
  log: Logger;
}

interface FeedKeys {
  lease: string;
  snapshot: string;
  seq: string;
  channel: string;
}

/** A node's feed on one instance: polls as leader or when Redis is out of reach, listens as follower. */
export class SharedNode extends NodePoller {
  role: SharedRole = 'local';
  /** Number of the last message taken from the channel (older and repeated ones are dropped). */
  lastSeq = 0;
  private lastMessageAt = Date.now();
  private snapshotLoaded = false;
  subscribed: Promise<boolean> | null = null;
  /** The lease given back on stop (the hub waits for it on close). */
  released: Promise<unknown> = Promise.resolve();
  private ended = false;

  constructor(private readonly hub: SharedStatusHub, creds: ProxmoxCredentials, node: string, readonly keys: FeedKeys, intervalMs: number, log: Logger) {
    super(creds, node, intervalMs, log);
  }

  protected override nextDelay(elapsedMs: number): number {
    if (this.role === 'leader') return this.intervalMs - elapsedMs; // one poll per interval, whatever a poll takes
    if (this.role === 'follower') return this.intervalMs / 2; // ready to take over
    return this.intervalMs;
  }

  private setRole(role: SharedRole): void {
    if (role === this.role) return;
    const was = this.role;
    this.role = role;
    if (role === 'follower') this.lastMessageAt = Date.now();
    this.log.debug({ node: this.node, from: was, to: role }, 'vm-status sharing: role');
    this.emit('role', role);
  }

  protected override async round(): Promise<void> {
    const hub = this.hub;
    if (this.ended) return;
    if (!hub.connected || !(await this.subscribed)) return this.pollLocally();
    let leader: boolean;
    try {
      leader = await hub.acquire(this);
    } catch {
      return this.pollLocally();
    }
    if (this.ended) return;
    if (!leader) {
      this.setRole('follower');
      if (!this.snapshotLoaded) {
        this.snapshotLoaded = true;
        await hub.loadSnapshot(this);
      } else if (Date.now() - this.lastMessageAt > hub.leaseTtlMs + 2 * this.intervalMs) {
        // A lease held, nothing received: never leave the viewers without updates.
        this.log.debug({ node: this.node }, 'vm-status sharing: nothing from the leader, polling once here');
        this.lastMessageAt = Date.now();
        await this.poll();
      }
      return;
    }
    this.setRole('leader');
    const result = await this.poll();
    if (this.ended) return;
    const seq = await hub.publish(this, 'vms' in result ? { vms: result.vms } : { vms: this.snapshot(), error: result.error });
    if (seq > 0) {
      this.lastSeq = Math.max(this.lastSeq, seq);
      this.lastMessageAt = Date.now();
    } else if (seq === 0) {
      this.setRole('follower'); // the lease ran out while polling; another instance has it
    }
  }

  private async pollLocally(): Promise<void> {
    this.setRole('local');
    await this.poll();
  }

  /** A message from the feed's channel (or its stored snapshot). */
  receive(text: string): void {
    let m: WireMessage;
    try {
      m = JSON.parse(text) as WireMessage;
    } catch {
      return;
    }
    if ('released' in m) {
      if (m.from !== this.hub.instanceId) this.kick(); // the lease is free: try now
      return;
    }
    if ('refresh' in m) {
      if (m.from !== this.hub.instanceId && this.role === 'leader') super.refresh();
      return;
    }
    if (typeof m.seq !== 'number' || m.seq <= this.lastSeq) return;
    this.lastSeq = m.seq;
    this.lastMessageAt = Date.now();
    if (m.from === this.hub.instanceId) return; // our own poll, already shown
    if (m.error !== undefined) this.applyFailure(m.error, m.vms);
    else if (Array.isArray(m.vms)) this.applySnapshot(m.vms);
    this.emit('received', m.seq);
  }

  /** A job changed the node: polled now here, or, when another instance polls it, asked of that one. */
  override refresh(): void {
    if (this.role === 'follower' && this.size > 0 && !this.ended) {
      void this.hub.askRefresh(this).then((sent) => {
        if (!sent) super.refresh(); // Redis failed: the next round here polls locally
      });
      return;
    }
    super.refresh();
  }

  override stop(): void {
    if (this.ended) return;
    this.ended = true;
    super.stop();
    this.released = this.hub.leave(this);
  }
}

/**
 * The StatusHub of `STATUS_SHARING=redis`: the feeds of this instance, coordinated with the other
 * instances' through Redis (two connections: commands, and the channel subscriptions).
 */
export class SharedStatusHub extends FeedHub<SharedNode> implements StatusHub {
  readonly instanceId = randomUUID();
  /** Lease lifetime: a dead leader is replaced after at most this plus half an interval. */
  readonly leaseTtlMs: number;
  private readonly snapshotTtlMs: number;
  private readonly seqTtlMs: number;
  private readonly cmd: Redis & SharedCommands;
  private readonly sub: Redis;
  private readonly byChannel = new Map<string, SharedNode>();
  private readonly log: Logger;
  private readonly intervalMs: number;
  private sharing = false;
  private everShared = false;
  /** The outage has been logged. */
  private warned = false;
  private closed = false;

  constructor(opts: SharedStatusOptions) {
    super();
    this.log = opts.log;
    this.intervalMs = opts.intervalMs;
    this.leaseTtlMs = Math.round(1.5 * opts.intervalMs + 500);
    this.snapshotTtlMs = this.leaseTtlMs + 2 * opts.intervalMs;
    this.seqTtlMs = Math.max(3_600_000, 100 * opts.intervalMs);
    const common = {
      // Fail at once while disconnected (the feeds then poll locally), reconnect within a second.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 1000,
      connectTimeout: 2000,
      retryStrategy: (times: number) => Math.min(100 * times, 1000),
      lazyConnect: false,
    };
    this.cmd = new Redis(opts.redisUrl, {
      ...common,
      connectionName: 'r42-vm-status',
      scripts: {
        r42StatusAcquire: { numberOfKeys: 1, lua: ACQUIRE },
        r42StatusPublish: { numberOfKeys: 3, lua: PUBLISH },
        r42StatusRelease: { numberOfKeys: 1, lua: RELEASE },
      },
    }) as Redis & SharedCommands;
    this.sub = new Redis(opts.redisUrl, { ...common, connectionName: 'r42-vm-status-sub', autoResubscribe: false });
    const where = withoutPassword(opts.redisUrl);
    for (const conn of [this.cmd, this.sub]) {
      conn.on('error', (err: Error) => {
        this.log.debug({ redis: where, err: err.message }, 'vm-status sharing: Redis error');
        if (!this.closed && !this.sharing && !this.warned) {
          this.warned = true; // unreachable from the start
          this.log.warn({ redis: where, err: err.message }, 'vm-status sharing: Redis unreachable, each instance polls Proxmox for its own viewers');
        }
      });
      conn.on('ready', () => this.connectionChanged(where));
      conn.on('close', () => this.connectionChanged(where));
    }
    this.sub.on('message', (channel: string, text: string) => this.byChannel.get(channel)?.receive(text));
  }

  /** Both connections up: the feeds share; else each polls for itself. */
  get connected(): boolean {
    return !this.closed && this.cmd.status === 'ready' && this.sub.status === 'ready';
  }

  private connectionChanged(where: string): void {
    if (this.closed) return;
    const up = this.connected;
    if (up === this.sharing) return;
    this.sharing = up;
    if (up) {
      this.log.info({ redis: where }, this.everShared ? 'vm-status sharing: Redis reachable again, polls shared again' : 'vm-status sharing: one instance polls each node for all, through Redis');
      this.everShared = true;
      this.warned = false;
      // The counter may have restarted with the server; the channels are subscribed again.
      for (const node of this.pollers.values()) {
        node.lastSeq = 0;
        node.subscribed = this.subscribeChannel(node);
      }
    } else if (!this.warned) {
      this.warned = true;
      this.log.warn({ redis: where }, 'vm-status sharing: Redis unreachable, each instance polls Proxmox for its own viewers');
    }
  }

  private subscribeChannel(node: SharedNode): Promise<boolean> {
    return this.sub.subscribe(node.keys.channel).then(() => true, () => false);
  }

  protected create(creds: ProxmoxCredentials, node: string, key: string): SharedNode {
    const base = `r42:vm-status:{${key}}`;
    const keys: FeedKeys = { lease: `${base}:leader`, snapshot: `${base}:snapshot`, seq: `${base}:seq`, channel: `${base}:updates` };
    const feed = new SharedNode(this, creds, node, keys, this.intervalMs, this.log);
    this.byChannel.set(keys.channel, feed);
    feed.subscribed = this.connected ? this.subscribeChannel(feed) : Promise.resolve(false);
    return feed;
  }

  /** Takes or renews the feed's lease: true while this instance is its leader. */
  async acquire(node: SharedNode): Promise<boolean> {
    return (await this.cmd.r42StatusAcquire(node.keys.lease, this.instanceId, this.leaseTtlMs)) === 1;
  }

  /** Stores and publishes a poll's result; its number, 0 when the lease was lost, -1 when Redis failed. */
  async publish(node: SharedNode, result: { vms: VmStatus[] | null; error?: string }): Promise<number> {
    const body = JSON.stringify({ from: this.instanceId, ...result }).slice(1);
    try {
      return await this.cmd.r42StatusPublish(node.keys.lease, node.keys.snapshot, node.keys.seq, this.instanceId, body, this.snapshotTtlMs, node.keys.channel, this.seqTtlMs);
    } catch (err) {
      this.log.debug({ node: node.node, err: (err as Error).message }, 'vm-status sharing: publish failed');
      return -1;
    }
  }

  /** Asks the feed's leader for a poll now (a job ended here); false when Redis failed. */
  async askRefresh(node: SharedNode): Promise<boolean> {
    try {
      await this.cmd.publish(node.keys.channel, JSON.stringify({ refresh: true, from: this.instanceId } satisfies WireMessage));
      return true;
    } catch {
      return false;
    }
  }

  /** The feed's last snapshot, for a first viewer on this instance while another polls. */
  async loadSnapshot(node: SharedNode): Promise<void> {
    try {
      const text = await this.cmd.get(node.keys.snapshot);
      if (text) node.receive(text);
    } catch {
      // the next message will do
    }
  }

  /** A feed without viewers: its channel left, its lease (when held) given back. */
  async leave(node: SharedNode): Promise<void> {
    if (this.byChannel.get(node.keys.channel) === node) this.byChannel.delete(node.keys.channel);
    if (this.sub.status === 'ready') await this.sub.unsubscribe(node.keys.channel).catch(() => undefined);
    if (node.role !== 'leader' || this.cmd.status !== 'ready') return;
    const message = JSON.stringify({ released: true, from: this.instanceId } satisfies WireMessage);
    await this.cmd.r42StatusRelease(node.keys.lease, this.instanceId, node.keys.channel, message).catch(() => undefined);
  }

  override async close(): Promise<void> {
    const feeds = this.active;
    super.close();
    await Promise.race([Promise.allSettled(feeds.map((f) => f.released)), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.closed = true;
    await Promise.allSettled([this.cmd, this.sub].map((c) => Promise.race([
      c.quit(),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]).finally(() => c.disconnect())));
  }
}
