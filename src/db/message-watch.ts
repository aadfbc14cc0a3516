/**
 * Watches what a database server sends on one connection and closes the connection at the first
 * message longer than `limit` bytes, as soon as its header arrives. The drivers collect each message
 * whole before parsing it and turn each value into one string: a value beyond V8's longest string
 * throws from the socket's data event, where nothing can catch it, and well below that a few such
 * rows at once take the server's memory. Both wire protocols frame every message with its length, so
 * the watch only follows those headers through the chunks. It is attached between two messages,
 * once the connection is ready, ahead of the driver's own listener.
 *
 * It also closes a connection whose statement has all the rows it is to read (`discardAtMost`)
 * once more than a given number of bytes arrives after that: what the server would go on sending
 * is thrown away, and reading it could take longer than the statement did.
 */

/** How a wire protocol frames its messages. */
export interface Framing {
  headerBytes: number;
  /** The length of the frame's body, from its header at `at`. */
  bodyLength(header: Buffer, at: number): number;
  /** Whether a frame with a body this long is continued by the next one (one message in several frames). */
  continues(body: number): boolean;
}

/** PostgreSQL: a type byte and a 32-bit big-endian length that counts itself. */
export const POSTGRES_FRAMING: Framing = {
  headerBytes: 5,
  bodyLength: (header, at) => header.readUInt32BE(at + 1) - 4,
  continues: () => false
};

/** MySQL and MariaDB: a 24-bit little-endian length and a sequence byte; a packet of 2^24 − 1 bytes continues in the next. */
export const MYSQL_FRAMING: Framing = {
  headerBytes: 4,
  bodyLength: (header, at) => header.readUIntLE(at, 3),
  continues: body => body === 0xffffff
};

export interface WatchedStream {
  prependListener(event: 'data', listener: (chunk: Buffer) => void): unknown;
  destroy(): void;
}

export class MessageWatch {
  /** The bytes of the message that closed the connection, once one has. */
  exceeded: number | undefined;
  /** Whether `exceeded` is only what was seen of a message that continued in further frames. */
  exceededAtLeast = false;
  /** Whether the connection was closed for what arrived after `discardAtMost`. */
  discarded = false;
  /** Bytes still accepted to be thrown away, after `discardAtMost`. */
  private discardable: number | undefined;
  private readonly limit: number;
  private readonly framing: Framing;
  private readonly stream: WatchedStream;
  /** Bytes of the current frame's body still to come. */
  private skip = 0;
  /** Bytes of the current message so far, over the frames that continue it. */
  private message = 0;
  /** A header split between two chunks. */
  private readonly head: Buffer;
  private filled = 0;

  constructor(stream: WatchedStream, limit: number, framing: Framing) {
    this.stream = stream;
    this.limit = limit;
    this.framing = framing;
    this.head = Buffer.alloc(framing.headerBytes);
    stream.prependListener('data', this.onData);
  }

  /** From now on, closes the connection once more than `bytes` arrive, until `keep()`. */
  discardAtMost(bytes: number): void {
    this.discardable = bytes;
  }

  /** What arrives is read again, however much. */
  keep(): void {
    this.discardable = undefined;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.exceeded !== undefined || this.discarded) return;
    if (this.discardable !== undefined) {
      this.discardable -= chunk.length;
      if (this.discardable < 0) {
        this.discarded = true;
        this.stream.destroy();
        return;
      }
    }
    const { framing } = this;
    const size = framing.headerBytes;
    const end = chunk.length;
    let at = 0;
    while (at < end) {
      if (this.skip > 0) {
        const taken = Math.min(this.skip, end - at);
        this.skip -= taken;
        at += taken;
        continue;
      }
      let body: number;
      if (this.filled === 0 && end - at >= size) {
        body = framing.bodyLength(chunk, at);
        at += size;
      } else {
        while (this.filled < size && at < end) this.head[this.filled++] = chunk[at++] ?? 0;
        if (this.filled < size) return;
        this.filled = 0;
        body = framing.bodyLength(this.head, 0);
      }
      this.message += body;
      if (this.message > this.limit) {
        this.exceeded = this.message;
        this.exceededAtLeast = framing.continues(body);
        this.stream.destroy();
        return;
      }
      if (!framing.continues(body)) this.message = 0;
      this.skip = body;
    }
  };
}
