import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MessageWatch, MYSQL_FRAMING, POSTGRES_FRAMING } from '../../src/db/message-watch.ts';

/**
 * The watch on what a database sends: it follows the wire protocol's frames through chunks cut
 * anywhere, and closes the connection at the header of the first message over the limit, before the
 * driver has read its body.
 */

/** A PostgreSQL backend message's header: type byte, 32-bit length counting itself. */
function pgHeader(type: string, body: number): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0);
  header.writeUInt32BE(body + 4, 1);
  return header;
}

/** A whole PostgreSQL backend message. */
function pgMessage(type: string, body: number): Buffer {
  return Buffer.concat([pgHeader(type, body), Buffer.alloc(body, 0x61)]);
}

/** A MySQL packet: 24-bit little-endian length, sequence byte, body. */
function mysqlPacket(body: number, sequence = 1): Buffer {
  const packet = Buffer.alloc(4 + body, 0x62);
  packet.writeUIntLE(body, 0, 3);
  packet[3] = sequence;
  return packet;
}

/** A stream whose data reaches a driver's listener after the watch's; returns what the driver saw. */
function watched(limit: number, framing = POSTGRES_FRAMING) {
  const stream = new PassThrough();
  const driver: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => driver.push(chunk));
  const watch = new MessageWatch(stream, limit, framing);
  const send = async (bytes: Buffer, cut: number[] = []): Promise<void> => {
    let at = 0;
    for (const end of [...cut, bytes.length]) {
      if (!stream.destroyed) stream.write(bytes.subarray(at, end));
      at = end;
    }
    await new Promise(resolve => setImmediate(resolve));
  };
  return { stream, watch, driver, send };
}

describe('MessageWatch, PostgreSQL framing', () => {
  it('lets messages within the limit through, however the chunks cut their headers', async () => {
    const { stream, watch, send } = watched(100);
    const bytes = Buffer.concat([pgMessage('T', 30), pgMessage('D', 100), pgMessage('D', 0), pgMessage('Z', 1)]);
    // Cuts inside a header (after 1 and 3 of its 5 bytes), at a boundary, and inside a body.
    await send(bytes, [36, 38, 40, 90, 140, 141]);
    expect(watch.exceeded).toBeUndefined();
    expect(stream.destroyed).toBe(false);
  });

  it('closes the connection at the header of the first message over the limit, its size known', async () => {
    const { stream, watch, driver, send } = watched(100);
    const before = pgMessage('D', 50);
    // Only the header and a little of the body arrive: the rest of a 600 MB row is never waited for.
    const huge = Buffer.concat([pgHeader('D', 600_000_000 - 5), Buffer.alloc(59, 0x61)]);
    await send(Buffer.concat([before, huge]), [before.length + 2]);
    expect(watch.exceeded).toBe(600_000_000 - 5);
    expect(watch.exceededAtLeast).toBe(false);
    expect(stream.destroyed).toBe(true);
    // The driver got what had arrived with that header, and nothing after it.
    await send(pgMessage('Z', 1));
    expect(Buffer.concat(driver).length).toBe(before.length + 64);
  });

  it('discards at most the bytes allowed once told, then closes; keep() turns that off', async () => {
    const first = watched(1_000_000);
    first.watch.discardAtMost(100);
    await first.send(pgMessage('D', 60));
    expect(first.watch.discarded).toBe(false);
    await first.send(pgMessage('D', 60));
    expect(first.watch.discarded).toBe(true);
    expect(first.stream.destroyed).toBe(true);

    const second = watched(1_000_000);
    second.watch.discardAtMost(100);
    await second.send(pgMessage('D', 60));
    second.watch.keep();
    await second.send(pgMessage('D', 600));
    expect(second.watch.discarded).toBe(false);
    expect(second.stream.destroyed).toBe(false);
  });
});

describe('MessageWatch, MySQL framing', () => {
  it('counts a row sent in several packets of 2^24 − 1 bytes as one message', async () => {
    const limit = 20 * 1024 * 1024;
    const { stream, watch, send } = watched(limit, MYSQL_FRAMING);
    // A 16 MiB − 1 packet continued by a small one: one row of about 16 MiB, within the limit.
    await send(Buffer.concat([mysqlPacket(0xffffff, 1), mysqlPacket(10, 2)]), [2, 1000, 0xffffff + 5]);
    expect(watch.exceeded).toBeUndefined();
    // Two full packets: 32 MiB seen, the row not over yet, and the limit passed.
    const full = mysqlPacket(0xffffff, 3);
    await send(Buffer.concat([full, full.subarray(0, 1000)]));
    expect(watch.exceeded).toBe(2 * 0xffffff);
    expect(watch.exceededAtLeast).toBe(true);
    expect(stream.destroyed).toBe(true);
  });

  it('closes at a single packet over the limit, its size known', async () => {
    const { watch, send } = watched(1000, MYSQL_FRAMING);
    await send(Buffer.concat([mysqlPacket(999), mysqlPacket(1001).subarray(0, 10)]));
    expect(watch.exceeded).toBe(1001);
    expect(watch.exceededAtLeast).toBe(false);
  });
});
