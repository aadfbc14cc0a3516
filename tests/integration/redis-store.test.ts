import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys } from '../../src/auth/server/keys.ts';
import { openConfiguredAuthStore } from '../../src/auth/storage/open-store.ts';
import { REDIS_COMMAND_TIMEOUT_MS, RedisStore } from '../../src/auth/storage/redis-store.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startCountingProxy } from '../helpers/counting-proxy.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { REDIS_URL, deletePrefix, keysUnder, rawRedis, redisUrl, uniquePrefix } from '../helpers/redis.ts';

/**
 * What the Redis store does beyond the adapter contract (auth-store-contract.test.ts): where and for
 * how long it keeps rows, that replicas opening the same Redis share the store key and the signing
 * keys, that a Redis it cannot reach stops the start with an error that names the setting and
 * not the password, and that a Redis that stops answering fails commands instead of holding them.
 */

const prefix = uniquePrefix('redis-store');
const quiet = createLogger('silent', new PassThrough());
let raw: Redis;

beforeAll(async () => {
  raw = rawRedis();
  await raw.connect();
});

afterAll(async () => {
  raw.disconnect();
  await deletePrefix(prefix);
});

describe('the Redis store', () => {
  it('keeps a row at <prefix>:oauth:<environment>:<model>:<id>, expiring with it, and its grant index as long as its longest row', async () => {
    const store = await RedisStore.connect({ url: redisUrl(prefix) });
    try {
      const grantId = `grant-${randomBytes(8).toString('hex')}`;
      await store.adapter('pg', 'AccessToken').upsert('at-1', { grantId, accountId: 'alice' }, 100);
      await store.adapter('pg', 'RefreshToken').upsert('rt-1', { grantId, accountId: 'alice' }, 5000);
      await store.adapter('pg', 'Client').upsert('client-1', { client_id: 'client-1' });
      const row = `${prefix}:oauth:pg:AccessToken:at-1`;
      expect(JSON.parse((await raw.hget(row, 'payload')) ?? 'null')).toEqual({ grantId, accountId: 'alice' });
      expect(await raw.ttl(row)).toBeGreaterThan(90);
      expect(await raw.ttl(row)).toBeLessThanOrEqual(100);
      expect(await raw.ttl(`${prefix}:oauth:pg:Client:client-1`)).toBe(-1);
      const index = `${prefix}:oauth-index:pg:grant:${grantId}`;
      expect((await raw.smembers(index)).sort()).toEqual([row, `${prefix}:oauth:pg:RefreshToken:rt-1`]);
      expect(await raw.ttl(index)).toBeGreaterThan(4900);
      await store.adapter('pg', 'Grant').revokeByGrantId(grantId);
      expect(await raw.exists(row, index, `${prefix}:oauth:pg:RefreshToken:rt-1`)).toBe(0);
      await expect(store.ping()).resolves.toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('is shared by replicas: one store key, the same keys for every environment, no id in clear', async () => {
    const url = redisUrl(prefix);
    const [first, second] = await Promise.all([
      openConfiguredAuthStore({ dataDir: emptyDir('redis-a-'), storage: url, logger: quiet }),
      openConfiguredAuthStore({ dataDir: emptyDir('redis-b-'), storage: url, logger: quiet })
    ]);
    try {
      const token = `rt-${randomBytes(24).toString('base64url')}`;
      await first.adapter('pg', 'RefreshToken').upsert(token, { jti: token, accountId: 'alice' }, 60);
      expect(await second.adapter('pg', 'RefreshToken').find(token)).toEqual({ jti: token, accountId: 'alice' });
      const keys = await keysUnder(raw, prefix);
      expect(keys.some(key => key.includes(token))).toBe(false);
      for (const key of keys.filter(k => k.includes(':oauth:'))) {
        expect(JSON.stringify(await raw.hgetall(key))).not.toContain(token);
      }
      const [keysA, keysB] = await Promise.all([
        loadOrCreateKeys(emptyDir('keys-a-'), 'pg', first.shared),
        loadOrCreateKeys(emptyDir('keys-b-'), 'pg', second.shared)
      ]);
      expect(keysA.signing[0]?.kid).toEqual(expect.any(String));
      expect(keysB).toEqual(keysA);
      const other = await loadOrCreateKeys(emptyDir('keys-c-'), 'other', second.shared);
      expect(other.signing[0]?.kid).not.toBe(keysA.signing[0]?.kid);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('refuses to start when Redis cannot be reached, naming auth.storage but not the password', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const attempt = openConfiguredAuthStore({
      dataDir: emptyDir('redis-down-'),
      storage: `redis://user:${password}@127.0.0.1:1/0`,
      logger: quiet
    });
    await expect(attempt).rejects.toThrow(/^auth\.storage: Redis at redis:\/\/127\.0\.0\.1:1\/0 cannot be reached/);
    await expect(attempt).rejects.not.toThrow(password);
  });

  it('refuses to start on a database number the server does not have, rather than use database 0', async () => {
    const prefix = uniquePrefix('no-db');
    const attempt = openConfiguredAuthStore({
      dataDir: emptyDir('redis-no-db-'),
      storage: `redis://127.0.0.1:6379/99?prefix=${prefix}`,
      logger: quiet
    });
    await expect(attempt).rejects.toThrow(
      /^auth\.storage: Redis at redis:\/\/127\.0\.0\.1:6379\/99 cannot be reached: the Redis server has no database 99/
    );
    // Nothing was written anywhere under the prefix.
    expect(await keysUnder(raw, prefix)).toEqual([]);
  });

  it('fails a command Redis does not answer within the command timeout, and works again once it answers', async () => {
    const redis = new URL(REDIS_URL);
    const proxy = await startCountingProxy({ host: redis.hostname, port: Number(redis.port || 6379) }, 'EVAL');
    try {
      const url = new URL(redisUrl(prefix));
      url.port = String(proxy.port);
      const store = await RedisStore.connect({ url: url.toString() });
      try {
        const counters = store.counters();
        expect((await counters.hit('hang', 60_000)).count).toBe(1);
        proxy.stall();
        const started = Date.now();
        await expect(counters.hit('hang', 60_000)).rejects.toThrow(/timed out/i);
        const waited = Date.now() - started;
        expect(waited).toBeGreaterThanOrEqual(REDIS_COMMAND_TIMEOUT_MS - 50);
        expect(waited).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + 2000);
        proxy.resume();
        // The timed-out command may still have counted once Redis answered; the store goes on.
        expect((await counters.hit('hang', 60_000)).count).toBeGreaterThanOrEqual(2);
      } finally {
        await store.close();
      }
    } finally {
      await proxy.close();
    }
  }, 20_000);

  it('signs in with the password given apart from the URL, and refuses a wrong one', async () => {
    // A user of its own on the machine's Redis, allowed only this run's keys, removed afterwards.
    const user = `${prefix}-user`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    await raw.call('ACL', 'SETUSER', user, 'on', `>${password}`, `~${prefix}:*`, '+@all');
    try {
      const url = new URL(redisUrl(prefix));
      url.username = user;
      const store = await RedisStore.connect({ url: url.toString(), password });
      try {
        await store.adapter('pg', 'Client').upsert('c', { client_id: 'c' });
        expect(await store.adapter('pg', 'Client').find('c')).toEqual({ client_id: 'c' });
      } finally {
        await store.close();
      }
      await expect(RedisStore.connect({ url: url.toString(), password: `${password}x` })).rejects.toThrow(/WRONGPASS/);
    } finally {
      await raw.call('ACL', 'DELUSER', user);
    }
  });
});
