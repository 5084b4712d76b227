import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 and a port of its own, piping every connection to `target` (a
 * PostgreSQL between a worker and its database): the tests cut the link without touching the
 * server. `cut()` resets every open connection (the client sees ECONNRESET) and resets every new
 * one at once, as a partition that refuses; `restore()` lets connections through again.
 */
export interface TcpProxy {
  readonly port: number;
  readonly cutOff: boolean;
  /** Connections piped since start (both ends open). */
  readonly open: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let cutOff = false;
  const reset = (s: net.Socket) => (s.destroyed ? undefined : s.resetAndDestroy());
  const server = net.createServer((client) => {
    client.on('error', () => undefined);
    if (cutOff) return reset(client);
    const upstream = net.connect(target.port, target.host ?? '127.0.0.1');
    upstream.on('error', () => reset(client));
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      reset(client);
      reset(upstream);
    };
    client.once('close', drop);
    upstream.once('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  const cut = () => {
    cutOff = true;
    for (const [client, upstream] of [...pairs]) {
      reset(client);
      reset(upstream);
    }
    pairs.clear();
  };
  return {
    port,
    get cutOff() {
      return cutOff;
    },
    get open() {
      return pairs.size;
    },
    cut,
    restore() {
      cutOff = false;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
