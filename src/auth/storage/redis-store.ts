import { Redis } from 'ioredis';
import { RedisCluster } from '../../cluster/redis-cluster.ts';
import type { CounterStore } from '../../http/limits/counter-store.ts';
import { RedisCounterStore } from '../../http/limits/redis-counter-store.ts';
import type { Logger } from '../../observability/logger.ts';
import type { SharedValues } from './shared-values.ts';
import type { Adapter, AdapterPayload, AuthStore, StoredEntry } from './store.ts';
import { ConsumedTwice, epochSeconds } from './store.ts';

/**
 * Authorization state in Redis, shared by every sqlbridge replica that points at the same server:
 * a client registered through one replica, a refresh token issued by another and a grant revoked by
 * a third are the same rows. Each row is a hash at `<prefix>:oauth:<environment>:<model>:<id>`
 * (`payload`: the JSON oidc-provider saved, as written; `grantId`; `consumed` once consumed), and it
 * expires with what it holds: Redis removes it when oidc-provider's lifetime ends, nothing sweeps.
 * Indexes live apart, at `<prefix>:oauth-index:<environment>:…`, so no id can ever name one:
 * - `…:grant:<grantId>`, the set of the row keys a grant issued, for `revokeByGrantId`. It lives as
 *   long as its longest-lived member; a member whose row changed grant since is left alone.
 * - `…:<model>:uid:<uid>` and `…:<model>:user-code:<code>`: the id of the row holding it. A lookup
 *   checks that the row still holds that value, so an index left behind by a rewrite finds nothing.
 * Every write is one Lua script, so a replica that dies mid-write leaves no row without its index,
 * and `consume` is a single atomic test-and-set (of two replicas consuming one code, one does; see ConsumedTwice).
 */

/** The key prefix when the URL names none (`?prefix=`). */
export const DEFAULT_PREFIX = 'sqlbridge';

/** Saves a row and its indexes. KEYS: row, grant set, uid index, user-code index. ARGV: payload, ttl (0: none), grantId, uid, userCode, id. */
const UPSERT = `
local ttl = tonumber(ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'payload', ARGV[1])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'grantId', ARGV[3]) end
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
local function extend(key)
  local current = redis.call('TTL', key)
  if ttl == 0 then redis.call('PERSIST', key)
  elseif current ~= -1 and current < ttl then redis.call('EXPIRE', key, ttl) end
end
if ARGV[3] ~= '' then
  local existed = redis.call('EXISTS', KEYS[2])
  redis.call('SADD', KEYS[2], KEYS[1])
  if existed == 0 then
    if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end
  else extend(KEYS[2]) end
end
for i, value in ipairs({ ARGV[4], ARGV[5] }) do
  if value ~= '' then
    if ttl > 0 then redis.call('SET', KEYS[i + 2], ARGV[6], 'EX', ttl)
    else redis.call('SET', KEYS[i + 2], ARGV[6]) end
  end
end
return 1
`;

/** Marks a row consumed, if it exists and was not: 1 when it did, 0 when there is no row, -1 when it was consumed already. KEYS: row. ARGV: epoch seconds. */
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1]) == 0 then return -1 end
return 1
`;

/** How long a Redis command may wait for its answer; Redis answers in well under a millisecond. */
export const REDIS_COMMAND_TIMEOUT_MS = 5000;

/** Deletes a grant's rows. KEYS: grant set. ARGV: grantId. */
const REVOKE = `
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('HGET', key, 'grantId') == ARGV[1] then redis.call('DEL', key) end
end
redis.call('DEL', KEYS[1])
return 1
`;

export interface RedisStoreOptions {
  /** `redis://` or `rediss://` (TLS) URL; `?prefix=` sets the key prefix. */
  url: string;
  /** The password, when it is not in the URL (REDIS_PASSWORD / REDIS_PASSWORD_FILE). */
  password?: string | undefined;
  /** How long the first connection may take. */
  connectTimeoutMs?: number;
}

export class RedisStore implements AuthStore, SharedValues {
  readonly persistent = true;
  /** Every key this store writes starts with this and a colon. */
  readonly prefix: string;
  private readonly client: Redis;

  private constructor(client: Redis, prefix: string) {
    this.client = client;
    this.prefix = prefix;
  }
  /** Rate-limit counters in the same Redis, under the same prefix: shared by every replica. */
  counters(): CounterStore {
    return new RedisCounterStore(this.client, this.prefix);
  }

  /** The replicas' sessions and messages in the same Redis, under the same prefix. */
  async cluster(logger: Logger): Promise<RedisCluster> {
    return RedisCluster.start(this.client, this.prefix, logger);
  }

  /**
   * Connects, and fails (rather than waits) when Redis cannot be reached: a replica that started
   * without its store would refuse every sign-in. Once connected, a lost connection is retried and
   * commands wait for it, as for a database restart, each for at most REDIS_COMMAND_TIMEOUT_MS.
   */
  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const url = new URL(options.url);
    const prefix = url.searchParams.get('prefix') ?? DEFAULT_PREFIX;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) {
      throw new Error('the key prefix (?prefix=) is 1 to 64 letters, digits, dots, dashes or underscores');
    }
    const database = url.pathname.replace(/^\//, '');
    if (database !== '' && !/^\d+$/.test(database)) throw new Error('the path of a Redis URL is a database number');
    const client = new Redis({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? 6379 : Number(url.port),
      db: database === '' ? 0 : Number(database),
      ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
      ...(options.password !== undefined
        ? { password: options.password }
        : url.password === ''
          ? {}
          : { password: decodeURIComponent(url.password) }),
      ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      // Only while starting: `connect()` rejects on the first failure instead of retrying forever.
      retryStrategy: () => null,
      maxRetriesPerRequest: 3,
      // A Redis that accepts a command and never answers would otherwise hold whatever waits on it
      // (a sign-in, a rate-limited tool call) for good.
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS
    });
    // Errors surface through the commands that fail; without a listener ioredis would print them.
    // The first one is kept: a refused password closes the connection, and "Connection is closed"
    // is all connect() would say.
    let first: Error | undefined;
    client.on('error', (error: Error) => (first ??= error));
    try {
      await client.connect();
      await client.ping();
      // ioredis selects the database as it connects, and a server without it only says so in an
      // 'error' event: the connection would go on in database 0. Asked again here, the refusal fails.
      if (database !== '' && Number(database) !== 0) {
        await client.select(Number(database)).catch((error: unknown) => {
          throw new Error(`the Redis server has no database ${database} (${(error as Error).message})`);
        });
      }
    } catch (error) {
      client.disconnect();
      throw error instanceof Error && error.message.startsWith('the Redis server has no database')
        ? error
        : (first ?? error);
    }
    client.options.retryStrategy = attempt => Math.min(attempt * 200, 2000);
    return new RedisStore(client, prefix);
  }

  /** Answers when Redis does (readiness). */
  async ping(): Promise<void> {
    await this.client.ping();
  }

  /**
   * The value stored under `name`, set to what `create` makes if there is none yet. Of replicas
   * starting together the first write wins (SET NX) and all of them read it: this is how they share
   * the store key and the environments' keys. Kept without expiry.
   */
  async sharedValue(name: string, create: () => Promise<string> | string): Promise<string> {
    const key = `${this.prefix}:shared:${name}`;
    const existing = await this.client.get(key);
    if (existing !== null) return existing;
    await this.client.set(key, await create(), 'NX');
    const stored = await this.client.get(key);
    if (stored === null) throw new Error(`Redis did not keep ${key}`);
    return stored;
  }

  /** Replaces a shared value (key rotation). */
  async replaceSharedValue(name: string, value: string): Promise<void> {
    await this.client.set(`${this.prefix}:shared:${name}`, value);
  }

  adapter(environment: string, model: string): Adapter {
    const client = this.client;
    const rowKey = (id: string): string => `${this.prefix}:oauth:${environment}:${model}:${id}`;
    const index = `${this.prefix}:oauth-index:${environment}`;
    const uidKey = (uid: string): string => `${index}:${model}:uid:${uid}`;
    const userCodeKey = (code: string): string => `${index}:${model}:user-code:${code}`;
    const grantKey = (grantId: string): string => `${index}:grant:${grantId}`;
    const read = async (id: string): Promise<AdapterPayload | undefined> => {
      const row = await client.hgetall(rowKey(id));
      if (row['payload'] === undefined) return undefined;
      const payload = JSON.parse(row['payload']) as AdapterPayload;
      if (row['consumed'] !== undefined) payload.consumed = Number(row['consumed']);
      return payload;
    };
    const findBy = async (
      key: string,
      field: 'uid' | 'userCode',
      value: string
    ): Promise<AdapterPayload | undefined> => {
      const id = await client.get(key);
      if (id === null) return undefined;
      const payload = await read(id);
      return payload?.[field] === value ? payload : undefined;
    };
    return {
      upsert: async (id, payload, expiresIn) => {
        const ttl = expiresIn === undefined ? 0 : Math.ceil(expiresIn);
        if (expiresIn !== undefined && ttl <= 0) {
          // Already expired: nothing to keep.
          await client.del(rowKey(id));
          return;
        }
        const grantId = typeof payload.grantId === 'string' ? payload.grantId : '';
        const uid = typeof payload.uid === 'string' ? payload.uid : '';
        const userCode = typeof payload.userCode === 'string' ? payload.userCode : '';
        await client.eval(
          UPSERT,
          4,
          rowKey(id),
          grantKey(grantId),
          uidKey(uid),
          userCodeKey(userCode),
          JSON.stringify(payload),
          String(ttl),
          grantId,
          uid,
          userCode,
          id
        );
      },
      find: async id => read(id),
      findByUid: async uid => findBy(uidKey(uid), 'uid', uid),
      findByUserCode: async userCode => findBy(userCodeKey(userCode), 'userCode', userCode),
      consume: async id => {
        const outcome = await client.eval(CONSUME, 1, rowKey(id), String(epochSeconds()));
        if (outcome !== 1) throw new ConsumedTwice(outcome === 0);
      },
      destroy: async id => {
        await client.del(rowKey(id));
      },
      revokeByGrantId: async grantId => {
        await client.eval(REVOKE, 1, grantKey(grantId), grantId);
      }
    };
  }

  async list(environment: string, model: string): Promise<StoredEntry[]> {
    const prefix = `${this.prefix}:oauth:${environment}:${model}:`;
    const pattern = `${prefix.replace(/[*?[\]\\]/g, match => `\\${match}`)}*`;
    const rows: StoredEntry[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const row = await this.client.hgetall(key);
        if (row['payload'] === undefined) continue;
        const payload = JSON.parse(row['payload']) as AdapterPayload;
        if (row['consumed'] !== undefined) payload.consumed = Number(row['consumed']);
        rows.push({ id: key.slice(prefix.length), payload });
      }
    } while (cursor !== '0');
    return rows;
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
