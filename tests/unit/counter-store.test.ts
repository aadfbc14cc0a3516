import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCounterStore, type CounterStore } from '../../src/http/limits/counter-store.ts';
import { RedisCounterStore } from '../../src/http/limits/redis-counter-store.ts';
import { WindowLimit } from '../../src/http/limits/window-limit.ts';
import { deletePrefix, keysUnder, rawRedis, uniquePrefix } from '../helpers/redis.ts';

/**
 * The contract every rate-limit counter store keeps: one suite, run on real time against the
 * in-memory store and against the real Redis at 127.0.0.1:6379 (which must be running: the Redis
 * half fails without it). Then what each store promises beyond it: bounded memory, keys that
 * expire with their window.
 */

/** The test run's Redis client; a Redis that is not there fails the Redis half of the suite. */
let redis: Redis | undefined;
const prefix = uniquePrefix('counters');

const STORES: { name: string; open: () => CounterStore }[] = [
  { name: 'memory', open: () => new MemoryCounterStore() },
  {
    name: 'redis',
    open: () => {
      if (redis === undefined) throw new Error('Redis is not connected');
      return new RedisCounterStore(redis, prefix);
    }
  }
];

beforeAll(async () => {
  const client = rawRedis();
  await client.connect();
  redis = client;
});

afterAll(async () => {
  redis?.disconnect();
  await deletePrefix(prefix);
});

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe.each(STORES)('counter store contract: $name', ({ open }) => {
  it('counts each hit of a key in its window, and says when the window ends', async () => {
    const store = open();
    const key = `k-${randomUUID()}`;
    const hits = [];
    for (let i = 0; i < 4; i++) hits.push(await store.hit(key, 10_000));
    expect(hits.map(hit => hit.count)).toEqual([1, 2, 3, 4]);
    for (const hit of hits) {
      expect(hit.resetMs).toBeGreaterThan(9_000);
      expect(hit.resetMs).toBeLessThanOrEqual(10_000);
    }
    // The window started with the first hit: later hits do not extend it.
    expect(hits[3]?.resetMs).toBeLessThanOrEqual(hits[0]?.resetMs ?? 0);
  });

  it('keeps keys apart', async () => {
    const store = open();
    const a = `a-${randomUUID()}`;
    const b = `b-${randomUUID()}`;
    await store.hit(a, 10_000);
    await store.hit(a, 10_000);
    expect((await store.hit(b, 10_000)).count).toBe(1);
    expect((await store.hit(a, 10_000)).count).toBe(3);
  });

  it('starts again from one once the window has ended', async () => {
    const store = open();
    const key = `w-${randomUUID()}`;
    expect((await store.hit(key, 300)).count).toBe(1);
    expect((await store.hit(key, 300)).count).toBe(2);
    await sleep(400);
    const fresh = await store.hit(key, 300);
    expect(fresh.count).toBe(1);
    expect(fresh.resetMs).toBeGreaterThan(200);
  });

  it('counts concurrent hits exactly once each', async () => {
    const store = open();
    const key = `c-${randomUUID()}`;
    const hits = await Promise.all(Array.from({ length: 50 }, () => store.hit(key, 10_000)));
    expect(hits.map(hit => hit.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('takes back one event of a window, never below zero, and resets a window', async () => {
    const store = open();
    const key = `release-${randomUUID()}`;
    await store.hit(key, 10_000);
    await store.hit(key, 10_000);
    await store.release(key);
    expect((await store.hit(key, 10_000)).count).toBe(2);
    for (let i = 0; i < 4; i++) await store.release(key);
    expect((await store.hit(key, 10_000)).count).toBe(1);
    await store.reset(key);
    const fresh = await store.hit(key, 10_000);
    expect(fresh.count).toBe(1);
    expect(fresh.resetMs).toBeGreaterThan(9_000);
    // Releasing a key that has no window is harmless.
    await store.release(`none-${randomUUID()}`);
  });

  it('through a limit: allows `limit` events, then refuses with the wait until the window ends', async () => {
    const store = open();
    const limit = new WindowLimit(store, `scope-${randomUUID()}`, { limit: 2, windowSeconds: 30 });
    expect(await limit.take('x')).toBe(0);
    expect(await limit.take('x')).toBe(0);
    const wait = await limit.take('x');
    expect(wait).toBeGreaterThan(29_000);
    expect(wait).toBeLessThanOrEqual(30_000);
    // Another key, and the same key under another limit's scope, are not affected.
    expect(await limit.take('y')).toBe(0);
    const other = new WindowLimit(store, `scope-${randomUUID()}`, { limit: 1, windowSeconds: 30 });
    expect(await other.take('x')).toBe(0);
  });
});

describe('memory counter store', () => {
  it('sweeps expired windows and never holds more than maxKeys', async () => {
    let now = 0;
    const store = new MemoryCounterStore({ maxKeys: 3, now: () => now });
    for (const key of ['a', 'b', 'c']) await store.hit(key, 1000);
    expect(store.size).toBe(3);
    // Full of live windows: the oldest is forgotten to make room.
    await store.hit('d', 1000);
    expect(store.size).toBe(3);
    expect((await store.hit('a', 1000)).count).toBe(1);
    // Expired windows are swept when room is needed, and at least once a minute.
    now = 5000;
    await store.hit('e', 1000);
    expect(store.size).toBe(1);
    for (const key of ['f', 'g']) await store.hit(key, 200_000);
    now = 120_000;
    await store.hit('g', 200_000);
    expect(store.size).toBe(2);
    now = 300_000;
    await store.hit('h', 1000);
    expect(store.size).toBe(1);
  });

  it('forgets windows of one event before a window that has counted up, when full', async () => {
    const store = new MemoryCounterStore({ maxKeys: 100 });
    for (let i = 0; i < 6; i++) await store.hit('locked', 60_000);
    // A flood of new keys, ten times what the store holds.
    for (let i = 0; i < 1000; i++) await store.hit(`flood-${String(i)}`, 60_000);
    expect(store.size).toBeLessThanOrEqual(100);
    expect((await store.hit('locked', 60_000)).count).toBe(7);
  });
});

describe('redis counter store', () => {
  it('keeps each window in one key under its prefix that expires when the window ends', async () => {
    if (redis === undefined) throw new Error('Redis is not connected');
    const store = new RedisCounterStore(redis, prefix);
    const key = `expiry-${randomUUID()}`;
    await store.hit(key, 5_000);
    const stored = `${prefix}:ratelimit:${key}`;
    expect(await keysUnder(redis, prefix)).toContain(stored);
    const ttl = await redis.pttl(stored);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
    // A later hit in the window does not push the expiry back.
    await new Promise(resolve => setTimeout(resolve, 200));
    await store.hit(key, 5_000);
    expect(await redis.pttl(stored)).toBeLessThanOrEqual(ttl - 150);
  });
});
