import { randomFillSync } from 'node:crypto';

/**
 * Random bytes drawn from the operating system a few kilobytes at a time, each byte handed out once:
 * one system call serves hundreds of nonces or ids, where drawing each on its own would be a call
 * apiece. The bytes are as random as `randomBytes` makes them (the same generator, the same calls).
 */
export class RandomPool {
  readonly bytes: Buffer;
  private offset: number;

  constructor(size: number) {
    this.bytes = Buffer.alloc(size);
    this.offset = size;
  }

  /** Where `count` fresh bytes start in `bytes`: none of them was handed out before. */
  take(count: number): number {
    if (count > this.bytes.length) throw new RangeError(`${count} bytes asked of a pool of ${this.bytes.length}`);
    if (this.offset + count > this.bytes.length) {
      randomFillSync(this.bytes);
      this.offset = 0;
    }
    const at = this.offset;
    this.offset += count;
    return at;
  }
}
