import { HEADER_LENGTH, OFFSET, Packet } from 'tedious/lib/packet.js';

/**
 * TDS framing (MS-TDS 2.2.3.1): a message is a run of packets, each an 8-byte header (type, status,
 * big-endian length, SPID, packet id, window) and data, the last one with the EOM status bit. Packets
 * are read and written with tedious's own Packet class.
 */

/** Status bits of a packet header (MS-TDS 2.2.3.1.2). */
export const STATUS = { EOM: 0x01, IGNORE: 0x02, RESETCONNECTION: 0x08 } as const;

/** What the server speaks in: replies use packet size 4096, tedious's default and what the peer announces. */
export const PACKET_SIZE = 4096;

export interface ClientMessage {
  type: number;
  /** The RESETCONNECTION bit of the message's first packet: sp_reset_connection runs before it. */
  resetConnection: boolean;
  /** The client abandoned the message half-sent (IGNORE bit). */
  ignored: boolean;
  payload: Buffer;
}

/** Collects bytes from the client into whole messages. */
export class MessageReader {
  private pending = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private first: Packet | undefined;

  /** Every message the bytes complete. */
  push(chunk: Buffer): ClientMessage[] {
    this.pending = Buffer.concat([this.pending, chunk]);
    const messages: ClientMessage[] = [];
    while (this.pending.length >= HEADER_LENGTH) {
      const length = this.pending.readUInt16BE(OFFSET.Length);
      if (this.pending.length < length) break;
      const packet = new Packet(Buffer.from(this.pending.subarray(0, length)));
      this.pending = this.pending.subarray(length);
      this.first ??= packet;
      this.parts.push(packet.data());
      if (!packet.isLast()) continue;
      const status = this.first.buffer.readUInt8(OFFSET.Status);
      messages.push({
        type: this.first.type(),
        resetConnection: (status & STATUS.RESETCONNECTION) !== 0,
        ignored: (packet.buffer.readUInt8(OFFSET.Status) & STATUS.IGNORE) !== 0,
        payload: Buffer.concat(this.parts)
      });
      this.parts = [];
      this.first = undefined;
    }
    return messages;
  }
}

/**
 * The packets of one server message. With `end: false` the last packet lacks EOM: the message stays
 * open, as a response does while its statement still runs.
 */
export function framePackets(
  type: number,
  payload: Buffer,
  options: { end?: boolean; firstId?: number } = {}
): Buffer[] {
  const room = PACKET_SIZE - HEADER_LENGTH;
  const chunks: Buffer[] = [];
  for (let at = 0; at < payload.length || chunks.length === 0; at += room) chunks.push(payload.subarray(at, at + room));
  let id = options.firstId ?? 1;
  return chunks.map((chunk, i) => {
    const packet = new Packet(type);
    packet.packetId(id++ % 256);
    packet.addData(chunk);
    packet.last(i === chunks.length - 1 && options.end !== false);
    return packet.buffer;
  });
}
