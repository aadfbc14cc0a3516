import type { Redis } from 'ioredis';
import { StoreUnavailable } from '../../errors/store-unavailable.ts';
import type { CounterHit, CounterStore } from './counter-store.ts';

/**
 * Rate-limit counters in Redis, so that every replica pointing at the same server counts into the
 * same windows: a limit of 600 calls a minute holds for the sum over all replicas. Each window is
 * one key, `<prefix>:ratelimit:<key>`, that expires when the window ends (nothing sweeps). The
 * increment, the expiry of a new window and the read of what is left happen in one Lua script, so
 * a replica that dies between two steps can never leave a counter without an expiry.
 */

/** KEYS: the counter. ARGV: the window in ms. Returns { count, ms left }. */
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return { count, left }
`;

/** KEYS: the counter. Decrements it when it is above zero; DECR keeps the window's expiry. */
const RELEASE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return 1
`;

export class RedisCounterStore implements CounterStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  /** `redis` is a connected client the caller owns (and closes); `prefix` the deployment's key prefix. */
  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  async hit(key: string, windowMs: number): Promise<CounterHit> {
    const answer: unknown = await this.redis.eval(HIT, 1, this.key(key), String(windowMs)).catch((error: unknown) => {
      throw new StoreUnavailable('a rate-limit counter could not be counted', error);
    });
    const [count, left] = Array.isArray(answer) ? (answer as unknown[]) : [];
    if (typeof count !== 'number' || typeof left !== 'number')
      throw new Error('unexpected answer from the counter script');
    return { count, resetMs: Math.max(1, left) };
  }

  async release(key: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(key));
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(this.key(key));
  }

  private key(key: string): string {
    return `${this.prefix}:ratelimit:${key}`;
  }
}
