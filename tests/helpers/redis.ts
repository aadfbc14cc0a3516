import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * The machine's Redis (127.0.0.1:6379, started by .ci/run), for the tests of the shared OAuth store.
 * Every test run writes under a key prefix of its own and deletes it afterwards, so runs in parallel
 * never see each other's keys. A Redis that is not there fails the test that needs it.
 */

export const REDIS_URL = process.env['SQLBRIDGE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';

/** A prefix no other run uses. */
export function uniquePrefix(label: string): string {
  return `sqlbridge-test-${label}-${randomBytes(6).toString('hex')}`;
}

/** The test Redis URL with `?prefix=`. */
export function redisUrl(prefix: string): string {
  const url = new URL(REDIS_URL);
  url.searchParams.set('prefix', prefix);
  return url.toString();
}

/** A plain client, to look at what the store wrote. */
export function rawRedis(): Redis {
  const url = new URL(REDIS_URL);
  return new Redis({
    host: url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    db: Number(url.pathname.slice(1) || '0'),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null
  });
}

/** Every key under `prefix`. */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** Deletes every key under `prefix`. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = rawRedis();
  await redis.connect();
  try {
    const keys = await keysUnder(redis, prefix);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
