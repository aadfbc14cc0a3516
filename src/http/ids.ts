import { randomUUID } from 'node:crypto';

/**
 * A random UUID (v4) held as one flat string. `randomUUID()` builds its result by concatenating
 * 20 pieces, which V8 keeps as a tree of string pieces (about 480 bytes) for as long as the id
 * lives; a copy made from its bytes is one flat string of 36 characters (about 56 bytes). It
 * matters for ids that live long: an open event stream keeps its session id and its request's id.
 */
export function randomId(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}
