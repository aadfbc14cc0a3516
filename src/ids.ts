import { RandomPool } from './random-pool.ts';

/**
 * Random UUIDs (version 4), for request, session and audit record ids, each held as one flat string.
 * `crypto.randomUUID()` builds its result by concatenating 20 pieces, which V8 keeps as a tree of
 * string pieces (about 490 bytes) for as long as the id lives; these are written out character by
 * character and read as one string of 36 one-byte characters (about 56 bytes). It matters for ids
 * that live on: an open event stream keeps its session id and its request's id, and an audit record
 * waits for its batch (up to `audit.maxPending` of them while a sink cannot write).
 */

const UUID_BYTES = 16;
const pool = new RandomPool(UUID_BYTES * 256);
/** The character codes of the hexadecimal digits. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** The text of the id being written: `xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx`, dashes in place. */
const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

export function randomId(): string {
  const start = pool.take(UUID_BYTES);
  const bytes = pool.bytes;
  let at = 0;
  for (let i = 0; i < UUID_BYTES; i++) {
    // Dashes stand before the digits of the 5th, 7th, 9th and 11th bytes.
    if (i === 4 || i === 6 || i === 8 || i === 10) at++;
    // `take` handed out these 16 bytes, so every index is within the pool (`?? 0` is for the type checker).
    let byte = bytes[start + i] ?? 0;
    // RFC 9562: the version (4) in the high half of byte 6, the variant (binary 10) in the top bits of byte 8.
    if (i === 6) byte = (byte & 0x0f) | 0x40;
    else if (i === 8) byte = (byte & 0x3f) | 0x80;
    text[at++] = HEX[byte >> 4] ?? 0;
    text[at++] = HEX[byte & 0x0f] ?? 0;
  }
  return text.toString('latin1');
}
