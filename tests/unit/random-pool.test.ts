import { describe, expect, it } from 'vitest';
import { RandomPool } from '../../src/random-pool.ts';

describe('RandomPool', () => {
  it('hands out each byte once, and draws fresh bytes when it runs out', () => {
    const pool = new RandomPool(64);
    const first = pool.take(16);
    const firstBytes = Buffer.from(pool.bytes.subarray(first, first + 16));
    const starts = [first, pool.take(16), pool.take(16), pool.take(16)];
    expect(starts).toEqual([0, 16, 32, 48]);
    const before = Buffer.from(pool.bytes);
    // 64 bytes handed out: the next take refills the whole pool and starts again at its beginning.
    expect(pool.take(16)).toBe(0);
    expect(pool.bytes.equals(before)).toBe(false);
    expect(pool.bytes.subarray(0, 16).equals(firstBytes)).toBe(false);
  });

  it('refills rather than hand out a range that would run past its end', () => {
    const pool = new RandomPool(40);
    expect(pool.take(16)).toBe(0);
    expect(pool.take(16)).toBe(16);
    // 8 bytes left: a take of 16 starts a fresh pool.
    expect(pool.take(16)).toBe(0);
    expect(pool.take(8)).toBe(16);
  });

  it('refuses to hand out more bytes than it holds', () => {
    expect(() => new RandomPool(16).take(17)).toThrow(RangeError);
  });

  it('fills with random bytes: every value of a byte turns up over a few thousand', () => {
    const pool = new RandomPool(8192);
    const start = pool.take(8192);
    expect(new Set(pool.bytes.subarray(start, start + 8192)).size).toBe(256);
  });
});
