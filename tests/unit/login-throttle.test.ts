import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginThrottle, type ThrottleLimits } from '../../src/auth/server/throttle.ts';
import { MemoryCounterStore, type CounterStore } from '../../src/http/limits/counter-store.ts';
import { RedisCounterStore } from '../../src/http/limits/redis-counter-store.ts';
import { deletePrefix, keysUnder, rawRedis, uniquePrefix } from '../helpers/redis.ts';

/**
 * The sign-in throttle over both counter stores: in memory (one process) and in the real Redis at
 * 127.0.0.1:6379, where two throttles on one prefix stand for two replicas and must hold one limit.
 */

let redis: Redis | undefined;
const prefix = uniquePrefix('throttle');
let run = 0;

beforeAll(async () => {
  const client = rawRedis();
  await client.connect();
  redis = client;
});

afterAll(async () => {
  redis?.disconnect();
  await deletePrefix(prefix);
});

/** Each test its own keys: a fresh memory store, or a fresh sub-prefix in Redis shared by `replicas` throttles. */
const STORES: { name: string; open: () => () => CounterStore }[] = [
  {
    name: 'memory',
    open: () => {
      const store = new MemoryCounterStore();
      return () => store;
    }
  },
  {
    name: 'redis',
    open: () => {
      if (redis === undefined) throw new Error('Redis is not connected');
      const client = redis;
      const scope = `${prefix}:t${String(++run)}`;
      return () => new RedisCounterStore(client, scope);
    }
  }
];

const throttles = (counters: () => CounterStore, limits: ThrottleLimits, count = 1): LoginThrottle[] =>
  Array.from({ length: count }, () => new LoginThrottle(limits, counters()));

describe.each(STORES)('login throttle: $name', ({ open }) => {
  it('refuses an address over its limit without counting the user name it tried', async () => {
    const [throttle] = throttles(open(), { perUser: 3, perAddress: 2, windowMs: 60_000 });
    if (throttle === undefined) throw new Error('no throttle');
    expect(await throttle.begin('u1', '10.0.0.9')).toBe(0);
    expect(await throttle.begin('u2', '10.0.0.9')).toBe(0);
    expect(await throttle.begin('u3', '10.0.0.9')).toBeGreaterThan(0);
    // u3 was not counted: three tries of its own from elsewhere are allowed.
    for (const address of ['10.0.0.10', '10.0.0.11', '10.0.0.12']) expect(await throttle.begin('u3', address)).toBe(0);
    expect(await throttle.begin('u3', '10.0.0.13')).toBeGreaterThan(0);
  });

  it('counts the addresses of one IPv6 /64 as one', async () => {
    const [throttle] = throttles(open(), { perUser: 100, perAddress: 2, windowMs: 60_000 });
    if (throttle === undefined) throw new Error('no throttle');
    expect(await throttle.begin('a', '2001:db8:1:2::1')).toBe(0);
    expect(await throttle.begin('b', '2001:db8:1:2:ffff:ffff:ffff:fffe')).toBe(0);
    expect(await throttle.begin('c', '2001:0db8:0001:0002::abcd')).toBeGreaterThan(0);
    expect(await throttle.begin('d', '2001:db8:1:3::1')).toBe(0);
  });

  it('refuses a user after the limit, whatever the address and letter case, and forgets on success', async () => {
    const [throttle] = throttles(open(), { perUser: 3, perAddress: 100, windowMs: 60_000 });
    if (throttle === undefined) throw new Error('no throttle');
    for (let i = 0; i < 3; i++) expect(await throttle.begin('alice', '10.0.0.1')).toBe(0);
    const wait = await throttle.begin('ALICE', '10.0.0.2');
    expect(wait).toBeGreaterThan(55_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    // Another user from the same address is not held back by alice's failures.
    expect(await throttle.begin('bob', '10.0.0.1')).toBe(0);
  });

  it('refuses an address that tries many users, and no other address', async () => {
    const [throttle] = throttles(open(), { perUser: 100, perAddress: 5, windowMs: 60_000 });
    if (throttle === undefined) throw new Error('no throttle');
    for (let i = 0; i < 5; i++) expect(await throttle.begin(`user${i}`, '10.0.0.9')).toBe(0);
    expect(await throttle.begin('someone-else', '10.0.0.9')).toBeGreaterThan(0);
    expect(await throttle.begin('someone-else', '10.0.0.10')).toBe(0);
  });

  it('counts an attempt before it is verified, so concurrent attempts stop at the limit', async () => {
    const [throttle] = throttles(open(), { perUser: 3, perAddress: 100, windowMs: 60_000 });
    if (throttle === undefined) throw new Error('no throttle');
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => throttle.begin('alice', '10.0.0.1')));
    expect(outcomes.filter(wait => wait === 0)).toHaveLength(3);
  });

  it('forgets the user and refunds the address when the attempt succeeds', async () => {
    const [throttle] = throttles(open(), { perUser: 2, perAddress: 2, windowMs: 60_000 });
    if (throttle === undefined) throw new Error('no throttle');
    expect(await throttle.begin('alice', '10.0.0.1')).toBe(0);
    expect(await throttle.begin('alice', '10.0.0.1')).toBe(0);
    await throttle.succeeded('alice', '10.0.0.1');
    // One failure remains against the address, none against alice.
    expect(await throttle.begin('bob', '10.0.0.1')).toBe(0);
    expect(await throttle.begin('carol', '10.0.0.1')).toBeGreaterThan(0);
    expect(await throttle.begin('alice', '10.0.0.2')).toBe(0);
  });

  it('lets a user try again once the window has passed', async () => {
    const [throttle] = throttles(open(), { perUser: 1, perAddress: 100, windowMs: 300 });
    if (throttle === undefined) throw new Error('no throttle');
    expect(await throttle.begin('alice', '10.0.0.1')).toBe(0);
    expect(await throttle.begin('alice', '10.0.0.1')).toBeGreaterThan(0);
    await new Promise(resolve => setTimeout(resolve, 400));
    expect(await throttle.begin('alice', '10.0.0.1')).toBe(0);
  });
});

describe('login throttle in Redis', () => {
  it('holds one limit for two replicas, and keeps no user name in Redis', async () => {
    const counters = STORES[1]?.open();
    if (counters === undefined) throw new Error('no Redis store');
    const [a, b] = throttles(counters, { perUser: 4, perAddress: 100, windowMs: 60_000 }, 2);
    if (a === undefined || b === undefined) throw new Error('no throttles');
    const outcomes: number[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await (i % 2 === 0 ? a : b).begin('typed-secret', '10.0.0.1'));
    expect(outcomes).toEqual([0, 0, 0, 0]);
    expect(await a.begin('typed-secret', '10.0.0.3')).toBeGreaterThan(0);
    expect(await b.begin('typed-secret', '10.0.0.4')).toBeGreaterThan(0);
    if (redis === undefined) throw new Error('Redis is not connected');
    const keys = await keysUnder(redis, `${prefix}:t${String(run)}`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join('\n')).not.toContain('typed-secret');
  });
});
