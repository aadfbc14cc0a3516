import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP relay on loopback in front of a real database server, for counting what sqlbridge sends it:
 * every byte is passed on unchanged in both directions (unless rewritten, below), and the client's
 * bytes are searched for a statement's text (a PostgreSQL Parse or Query message carries it
 * verbatim). `stall()` stops relaying, as a database that has hung would, without closing anything;
 * `stallNewConnections()` does so for connections opened from then on only, as a database slow to
 * accept would. `rewriteNewConnections()` changes what clients send on connections opened from then
 * on, so that the server answers, with its own errors, statements it would not otherwise be sent.
 */
export interface CountingProxy {
  port: number;
  /** Times `needle` has passed from clients to the server since the start. */
  count(): number;
  /** Connections clients have opened through the relay since the start. */
  connections(): number;
  /** Bytes relayed from the server to clients since the start. */
  relayedToClients(): number;
  /** Holds every byte from now on until `resume()`: the server seems to hang. */
  stall(): void;
  /** Connections opened from now on reach the server only at `resume()`; open ones go on. */
  stallNewConnections(): void;
  /**
   * From now on, a connection on which a client sends `needle` hangs from that message on (it and
   * what follows are held in both directions until `resume()`): a server that takes the login and
   * the first statements, then answers nothing.
   */
  stallAtNeedle(): void;
  /** On connections opened from now on, `from` is replaced by `to` (of the same length) in what clients send. */
  rewriteNewConnections(from: string, to: string): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(
  target: { host: string; port: number },
  needle: string
): Promise<CountingProxy> {
  const pattern = Buffer.from(needle);
  const sockets = new Set<Socket>();
  const held: (() => void)[] = [];
  let stalled = false;
  let stallNew = false;
  let stallAtNeedle = false;
  let rewrite: { from: Buffer; to: Buffer } | undefined;
  let seen = 0;
  let opened = 0;
  let toClients = 0;

  /** One connection's state: whether it hangs (stallAtNeedle). */
  interface Link {
    hung: boolean;
  }
  const links = new Set<Link>();
  const relay = (
    from: Socket,
    to: Socket,
    inspect: boolean,
    link: Link,
    replace?: { from: Buffer; to: Buffer }
  ): void => {
    // The end of the previous chunk, so that a needle split across two chunks is found once.
    let tail = Buffer.alloc(0);
    from.on('data', (received: Buffer) => {
      const chunk = replace === undefined ? received : replaced(received, replace.from, replace.to);
      if (inspect) {
        const window = Buffer.concat([tail, chunk]);
        // The tail is shorter than the needle, so every match found takes at least one new byte.
        for (let at = window.indexOf(pattern); at !== -1; at = window.indexOf(pattern, at + pattern.length)) {
          seen++;
          if (stallAtNeedle) link.hung = true;
        }
        tail = window.subarray(Math.max(0, window.length - (pattern.length - 1)));
      }
      const forward = (): void => {
        if (to.destroyed) return;
        if (!inspect) toClients += chunk.length;
        to.write(chunk);
      };
      if (stalled || link.hung) held.push(forward);
      else forward();
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };

  const server = createServer(client => {
    opened++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const opening = rewrite;
    const open = (): void => {
      if (client.destroyed) return;
      const upstream = connect(target.port, target.host);
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      const link: Link = { hung: false };
      links.add(link);
      client.on('close', () => links.delete(link));
      relay(client, upstream, true, link, opening);
      relay(upstream, client, false, link);
    };
    // Until it is relayed, what the client sends waits in its socket.
    if (stallNew) held.push(open);
    else open();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    count: () => seen,
    connections: () => opened,
    relayedToClients: () => toClients,
    stall() {
      stalled = true;
    },
    stallNewConnections() {
      stallNew = true;
    },
    stallAtNeedle() {
      stallAtNeedle = true;
    },
    rewriteNewConnections(from: string, to: string) {
      if (Buffer.byteLength(from) !== Buffer.byteLength(to)) throw new Error('a rewrite keeps the length');
      rewrite = { from: Buffer.from(from), to: Buffer.from(to) };
    },
    resume() {
      stalled = false;
      stallNew = false;
      stallAtNeedle = false;
      for (const link of links) link.hung = false;
      for (const forward of held.splice(0)) forward();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    }
  };
}

/** `chunk` with every `from` replaced by `to` (of the same length, so that no length field changes). */
function replaced(chunk: Buffer, from: Buffer, to: Buffer): Buffer {
  let at = chunk.indexOf(from);
  if (at === -1) return chunk;
  const copy = Buffer.from(chunk);
  for (; at !== -1; at = copy.indexOf(from, at + from.length)) to.copy(copy, at);
  return copy;
}
