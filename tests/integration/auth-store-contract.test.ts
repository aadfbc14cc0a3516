import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashedStore } from '../../src/auth/storage/hashed-store.ts';
import { KeyedHash } from '../../src/auth/storage/keyed-hash.ts';
import { MemoryStore } from '../../src/auth/storage/memory-store.ts';
import { RedisStore } from '../../src/auth/storage/redis-store.ts';
import { SqliteStore } from '../../src/auth/storage/sqlite-store.ts';
import { ConsumedTwice, epochSeconds, type AdapterPayload, type AuthStore } from '../../src/auth/storage/store.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.ts';

/**
 * The contract every OAuth store keeps, as oidc-provider relies on it: one suite run against each
 * store (memory, SQLite, Redis), bare and behind the id hashing sqlbridge always puts in front of
 * them. Redis is the machine's (127.0.0.1:6379); the suite fails when it cannot be reached.
 */

interface Subject {
  name: string;
  open: () => Promise<{ store: AuthStore; cleanup: () => Promise<void> }>;
}

const hashed = (store: AuthStore): AuthStore => new HashedStore(store, new KeyedHash(randomBytes(32)));

const memory = async (): Promise<{ store: AuthStore; cleanup: () => Promise<void> }> => ({
  store: new MemoryStore(),
  cleanup: async () => undefined
});
const sqlite = async (): Promise<{ store: AuthStore; cleanup: () => Promise<void> }> => ({
  store: new SqliteStore(join(emptyDir('store-contract-'), 'auth.sqlite')),
  cleanup: async () => undefined
});
const redis = async (): Promise<{ store: AuthStore; cleanup: () => Promise<void> }> => {
  const prefix = uniquePrefix('contract');
  return { store: await RedisStore.connect({ url: redisUrl(prefix) }), cleanup: () => deletePrefix(prefix) };
};
const wrapped =
  (open: Subject['open']): Subject['open'] =>
  async () => {
    const { store, cleanup } = await open();
    return { store: hashed(store), cleanup };
  };

const SUBJECTS: Subject[] = [
  { name: 'MemoryStore', open: memory },
  { name: 'HashedStore(MemoryStore)', open: wrapped(memory) },
  { name: 'SqliteStore', open: sqlite },
  { name: 'HashedStore(SqliteStore)', open: wrapped(sqlite) },
  { name: 'RedisStore', open: redis },
  { name: 'HashedStore(RedisStore)', open: wrapped(redis) }
];

/** An id the way oidc-provider makes them, unique to each use. */
const newId = (label = 'id'): string => `${label}-${randomBytes(24).toString('base64url')}`;

/** Polls until `check` holds, for at most `timeoutMs`; returns whether it did. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

describe.each(SUBJECTS)('$name', subject => {
  let store: AuthStore;
  let cleanup: () => Promise<void>;
  // Each test works in environments of its own, so the tests cannot see each other's rows.
  const environment = (): string => `env-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    ({ store, cleanup } = await subject.open());
  });

  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  it('finds what was upserted, payload exactly as saved, and nothing for an unknown id', async () => {
    const adapter = store.adapter(environment(), 'AccessToken');
    const id = newId('token');
    const payload: AdapterPayload = {
      jti: id,
      kind: 'AccessToken',
      accountId: 'alice',
      grantId: newId('grant'),
      iat: epochSeconds(),
      exp: epochSeconds() + 60,
      scope: 'sql:read',
      extra: { nested: { list: [1, 'two', null, true, { deep: 'é 漢字 🚀' }], empty: [], none: {} } },
      ratio: 0.1,
      negative: -42,
      flag: false,
      nothing: null
    };
    await adapter.upsert(id, payload, 60);
    expect(await adapter.find(id)).toStrictEqual(payload);
    expect(await adapter.find(newId('unknown'))).toBeUndefined();
  });

  it('replaces a row on upsert', async () => {
    const adapter = store.adapter(environment(), 'Session');
    const id = newId('session');
    await adapter.upsert(id, { accountId: 'alice', uid: 'u1' }, 60);
    await adapter.consume(id);
    await adapter.upsert(id, { accountId: 'bob', uid: 'u2' }, 60);
    expect(await adapter.find(id)).toStrictEqual({ accountId: 'bob', uid: 'u2' });
  });

  it('forgets a row when its lifetime ends, and keeps rows without one', async () => {
    const adapter = store.adapter(environment(), 'Session');
    const short = newId('short');
    const long = newId('long');
    const forever = newId('forever');
    const uid = newId('uid');
    await adapter.upsert(short, { uid, accountId: 'alice' }, 1);
    await adapter.upsert(long, { accountId: 'bob' }, 120);
    await adapter.upsert(forever, { accountId: 'carol' });
    expect(await adapter.find(short)).toStrictEqual({ uid, accountId: 'alice' });
    expect(await eventually(async () => (await adapter.find(short)) === undefined, 3000)).toBe(true);
    expect(await adapter.findByUid(uid)).toBeUndefined();
    expect(await adapter.find(long)).toStrictEqual({ accountId: 'bob' });
    expect(await adapter.find(forever)).toStrictEqual({ accountId: 'carol' });
  });

  it('consumes a row: marks it with the time, keeps the rest, creates nothing for an unknown id', async () => {
    const adapter = store.adapter(environment(), 'AuthorizationCode');
    const id = newId('code');
    const payload = { accountId: 'alice', grantId: newId('grant'), scope: 'sql:read' };
    await adapter.upsert(id, payload, 60);
    expect((await adapter.find(id))?.consumed).toBeUndefined();
    const before = epochSeconds();
    await adapter.consume(id);
    const after = epochSeconds();
    const found = await adapter.find(id);
    expect(found).toMatchObject(payload);
    expect(found?.consumed).toBeGreaterThanOrEqual(before);
    expect(found?.consumed).toBeLessThanOrEqual(after);
    const unknown = newId('unknown');
    await expect(adapter.consume(unknown)).rejects.toMatchObject({ name: 'ConsumedTwice', gone: true });
    expect(await adapter.find(unknown)).toBeUndefined();
  });

  it('consumes a row once: a second consume, or one of many at the same moment, is refused', async () => {
    const adapter = store.adapter(environment(), 'AuthorizationCode');
    const id = newId('code');
    await adapter.upsert(id, { accountId: 'alice', grantId: newId('grant') }, 60);
    await adapter.consume(id);
    const consumedAt = (await adapter.find(id))?.consumed;
    await expect(adapter.consume(id)).rejects.toMatchObject({ name: 'ConsumedTwice', gone: false });
    // The refusal leaves the row as the first consume left it.
    expect((await adapter.find(id))?.consumed).toBe(consumedAt);

    const raced = newId('code');
    await adapter.upsert(raced, { accountId: 'alice', grantId: newId('grant') }, 60);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, async () => adapter.consume(raced)));
    expect(outcomes.filter(outcome => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of outcomes.filter(o => o.status === 'rejected'))
      expect(outcome.reason).toBeInstanceOf(ConsumedTwice);
  });

  it('destroys one row and leaves the others', async () => {
    const adapter = store.adapter(environment(), 'RefreshToken');
    const [gone, kept] = [newId('gone'), newId('kept')];
    await adapter.upsert(gone, { accountId: 'alice' }, 60);
    await adapter.upsert(kept, { accountId: 'bob' }, 60);
    await adapter.destroy(gone);
    await adapter.destroy(newId('unknown'));
    expect(await adapter.find(gone)).toBeUndefined();
    expect(await adapter.find(kept)).toStrictEqual({ accountId: 'bob' });
  });

  it('finds a session by its uid, only in its model, and not by a uid it no longer has', async () => {
    const env = environment();
    const sessions = store.adapter(env, 'Session');
    const id = newId('session');
    const [uid, later] = [newId('uid'), newId('uid')];
    await sessions.upsert(id, { uid, accountId: 'alice' }, 60);
    expect(await sessions.findByUid(uid)).toMatchObject({ uid, accountId: 'alice' });
    expect(await sessions.findByUid(newId('uid'))).toBeUndefined();
    expect(await store.adapter(env, 'Interaction').findByUid(uid)).toBeUndefined();
    expect(await store.adapter(environment(), 'Session').findByUid(uid)).toBeUndefined();
    await sessions.upsert(id, { uid: later, accountId: 'alice' }, 60);
    expect(await sessions.findByUid(uid)).toBeUndefined();
    expect(await sessions.findByUid(later)).toMatchObject({ uid: later });
    await sessions.destroy(id);
    expect(await sessions.findByUid(later)).toBeUndefined();
  });

  it('finds a device code by its user code', async () => {
    const env = environment();
    const codes = store.adapter(env, 'DeviceCode');
    const id = newId('device');
    const userCode = 'BCDF-GHJK';
    const payload = { userCode, clientId: 'c1', params: { scope: 'sql:read' } };
    await codes.upsert(id, payload, 60);
    expect(await codes.findByUserCode(userCode)).toStrictEqual(payload);
    expect(await codes.findByUserCode('WXYZ-WXYZ')).toBeUndefined();
    expect(await store.adapter(environment(), 'DeviceCode').findByUserCode(userCode)).toBeUndefined();
  });

  it("revokes a grant: that grant's rows in that environment, every model, and nothing else", async () => {
    const [env, other] = [environment(), environment()];
    const [grant, otherGrant] = [newId('grant'), newId('grant')];
    const rows: [string, string, string, string][] = [
      [env, 'AccessToken', newId('at'), grant],
      [env, 'RefreshToken', newId('rt'), grant],
      [env, 'AuthorizationCode', newId('code'), grant],
      [env, 'AccessToken', newId('at'), otherGrant],
      [other, 'RefreshToken', newId('rt'), grant]
    ];
    for (const [e, model, id, grantId] of rows) await store.adapter(e, model).upsert(id, { grantId, model }, 60);
    await store.adapter(env, 'AccessToken').revokeByGrantId(grant);
    const left = [];
    for (const [e, model, id] of rows) left.push((await store.adapter(e, model).find(id)) !== undefined);
    expect(left).toEqual([false, false, false, true, true]);
  });

  it('keeps environments and models apart under the same id', async () => {
    const [a, b] = [environment(), environment()];
    const id = newId('shared');
    await store.adapter(a, 'Grant').upsert(id, { accountId: 'alice' }, 60);
    await store.adapter(b, 'Grant').upsert(id, { accountId: 'bob' }, 60);
    await store.adapter(a, 'Session').upsert(id, { accountId: 'carol' }, 60);
    expect(await store.adapter(a, 'Grant').find(id)).toStrictEqual({ accountId: 'alice' });
    expect(await store.adapter(b, 'Grant').find(id)).toStrictEqual({ accountId: 'bob' });
    await store.adapter(a, 'Grant').destroy(id);
    expect(await store.adapter(a, 'Grant').find(id)).toBeUndefined();
    expect(await store.adapter(b, 'Grant').find(id)).toStrictEqual({ accountId: 'bob' });
    expect(await store.adapter(a, 'Session').find(id)).toStrictEqual({ accountId: 'carol' });
  });

  it('keeps Client rows, with or without a lifetime, under generated and URL ids', async () => {
    const clients = store.adapter(environment(), 'Client');
    const registered = newId('client');
    const document = `https://client.example/${newId('doc')}.json`;
    const metadata = (clientId: string): AdapterPayload => ({
      client_id: clientId,
      client_name: 'Claude',
      redirect_uris: ['https://claude.ai/api/mcp/auth_callback', 'http://127.0.0.1:33418/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      client_id_issued_at: epochSeconds()
    });
    await clients.upsert(registered, metadata(registered));
    await clients.upsert(document, metadata(document), 300);
    expect(await clients.find(registered)).toStrictEqual(metadata(registered));
    expect(await clients.find(document)).toMatchObject({ client_id: document, client_name: 'Claude' });
    expect(store.persistent).toBe(!subject.name.includes('Memory'));
  });
});
