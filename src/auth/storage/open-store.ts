import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { standaloneCluster, type Cluster } from '../../cluster/cluster.ts';
import type { Logger } from '../../observability/logger.ts';
import { HashedStore } from './hashed-store.ts';
import { KeyedHash } from './keyed-hash.ts';
import { MemoryStore } from './memory-store.ts';
import type { RedisStore } from './redis-store.ts';
import type { CounterStore } from '../../http/limits/counter-store.ts';
import type { SharedValues } from './shared-values.ts';
import { SqliteStore, type StoredRow } from './sqlite-store.ts';
import { loadOrCreateStoreKey, STORE_KEY_BYTES } from './store-key.ts';

/**
 * The authorization servers' store as configured (`auth.storage`), always behind the hashing of
 * hashed-store.ts. The SQLite file is `<dataDir>/auth/auth.sqlite`, its key `<dataDir>/auth/store.key`.
 * In memory nothing outlives the process, so neither does the key. In Redis (a `redis://` or
 * `rediss://` URL, for replicas sharing the state) the key is kept in Redis too, made by the first
 * replica to start, so that every replica hashes ids alike.
 */

/** The format of auth.sqlite's rows this sqlbridge writes (`PRAGMA user_version`): 1, ids hashed. */
export const HASHED_IDS_FORMAT = 1;

/**
 * What a file of the format before (ids and tokens in clear) keeps once upgraded: the rows whose id
 * is no secret, rewritten under their hashed id. Registered public clients stay registered, granted
 * consent stays remembered (`SqlbridgeConsent`, CONSENT_MODEL in server/provider.ts) with the grants
 * it names. Everything else is deleted: refresh tokens, codes, sessions, interactions, and clients
 * whose secret was stored in clear (they register again).
 */
function keptAcrossUpgrade(row: StoredRow): boolean {
  switch (row.model) {
    case 'Client':
      return row.payload.client_secret === undefined;
    case 'Grant':
    case 'SqlbridgeConsent':
      return true;
    default:
      return false;
  }
}

/**
 * The configured store, the values replicas share through it, the counters rate limits keep in it
 * (none unless it is Redis: a single process keeps them in memory), and the replicas' sessions and
 * messages (standalone unless it is Redis). Closing it closes them all.
 */
export type ConfiguredAuthStore = HashedStore & {
  readonly shared: SharedValues | undefined;
  readonly counters: CounterStore | undefined;
  readonly cluster: Cluster;
};

/** `auth.storage` as configured: `sqlite`, `memory`, or a Redis URL (its password in `password` or in the URL). */
export async function openConfiguredAuthStore(options: {
  dataDir: string;
  storage: string;
  password?: string | undefined;
  logger: Logger;
}): Promise<ConfiguredAuthStore> {
  const { storage } = options;
  if (storage === 'sqlite' || storage === 'memory') {
    return Object.assign(openAuthStore({ ...options, storage }), {
      shared: undefined,
      counters: undefined,
      cluster: standaloneCluster()
    });
  }
  let redis: RedisStore;
  try {
    // ioredis is loaded only by a server that uses Redis.
    const { RedisStore } = await import('./redis-store.ts');
    redis = await RedisStore.connect({ url: storage, password: options.password });
  } catch (error) {
    throw new Error(
      `auth.storage: Redis at ${withoutCredentials(storage)} cannot be reached: ${(error as Error).message}`,
      { cause: error }
    );
  }
  try {
    const key = await redis.sharedValue('store-key', () => randomBytes(STORE_KEY_BYTES).toString('base64'));
    const cluster = await redis.cluster(options.logger).catch((error: unknown) => {
      throw new Error(
        `auth.storage: Redis at ${withoutCredentials(storage)} refused the replicas' channels ${redis.prefix}:cluster:* (a Redis user needs the keys ~${redis.prefix}:* and the channels &${redis.prefix}:*): ${(error as Error).message}`,
        { cause: error }
      );
    });
    const store = new HashedStore(redis, new KeyedHash(Buffer.from(key, 'base64')));
    const close = store.close.bind(store);
    return Object.assign(store, {
      shared: redis,
      counters: redis.counters(),
      cluster,
      close: async () => {
        await cluster.close();
        await close();
      }
    });
  } catch (error) {
    await redis.close();
    throw error;
  }
}

/** A Redis URL as it may be shown: scheme, host, port and database, no user or password. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the configured URL';
  }
}

export function openAuthStore(options: { dataDir: string; storage: 'sqlite' | 'memory'; logger: Logger }): HashedStore {
  if (options.storage === 'memory')
    return new HashedStore(new MemoryStore(), new KeyedHash(randomBytes(STORE_KEY_BYTES)));
  const path = join(options.dataDir, 'auth', 'auth.sqlite');
  const sqlite = new SqliteStore(path);
  try {
    const store = new HashedStore(sqlite, new KeyedHash(loadOrCreateStoreKey(options.dataDir)));
    const { kept, removed } = sqlite.upgradeFormat(HASHED_IDS_FORMAT, row =>
      keptAcrossUpgrade(row) ? { ...row, ...store.protect(row.environment, row.model, row.id, row.payload) } : undefined
    );
    if (removed > 0) {
      options.logger.info(
        { path, removed, kept },
        'auth.sqlite held tokens and sessions in clear (an earlier sqlbridge wrote it): they were deleted and the file rewritten, so people sign in again once'
      );
    }
    return store;
  } catch (error) {
    void sqlite.close();
    throw error;
  }
}
