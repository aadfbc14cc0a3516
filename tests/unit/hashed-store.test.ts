import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HashedStore } from '../../src/auth/storage/hashed-store.ts';
import { KeyedHash } from '../../src/auth/storage/keyed-hash.ts';
import { MemoryStore } from '../../src/auth/storage/memory-store.ts';
import { HASHED_IDS_FORMAT, openAuthStore } from '../../src/auth/storage/open-store.ts';
import { SqliteStore } from '../../src/auth/storage/sqlite-store.ts';
import { loadOrCreateStoreKey, storeKeyPath } from '../../src/auth/storage/store-key.ts';
import type { AdapterPayload, AuthStore } from '../../src/auth/storage/store.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';

/**
 * The OAuth store keeps no bearer secret in clear: what oidc-provider saves under a token, code,
 * session or interaction id is found again by that value, and the value is nowhere in the SQLite
 * file, its WAL or its shared memory. A file written before (ids in clear) is upgraded on open: its
 * secret rows deleted and the file rewritten so that their bytes are gone too.
 */

/** Values the way oidc-provider makes them (nanoid, 43 characters for tokens), unique to each test. */
const secret = (label: string): string => `${label}-${randomBytes(24).toString('base64url')}`;

/** Every byte of the SQLite files of a store (the database, its WAL and shared memory, when present). */
function fileBytes(path: string): Buffer {
  return Buffer.concat(
    [path, `${path}-wal`, `${path}-shm`].filter(file => existsSync(file)).map(file => readFileSync(file))
  );
}

function logSink(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return {
    logger: createLogger('info', stream),
    lines: () =>
      text
        .split('\n')
        .filter(line => line !== '')
        .map(line => JSON.parse(line) as Record<string, unknown>)
  };
}

const hashedSqlite = (): { store: HashedStore; path: string; dir: string } => {
  const dir = emptyDir('hashed-store-');
  const store = openAuthStore({ dataDir: dir, storage: 'sqlite', logger: logSink().logger });
  return { store, path: join(dir, 'auth', 'auth.sqlite'), dir };
};

const hashedMemory = (): HashedStore => new HashedStore(new MemoryStore(), new KeyedHash(randomBytes(32)));

/** The stored rows of a SQLite store, as they are in the file. */
function rawRows(path: string): { model: string; id: string; payload: string; grant_id: string | null }[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare('SELECT model, id, payload, grant_id FROM oauth_state ORDER BY model').all() as {
      model: string;
      id: string;
      payload: string;
      grant_id: string | null;
    }[];
  } finally {
    db.close();
  }
}

function behaviour(name: string, make: () => AuthStore): void {
  describe(`over the ${name} store`, () => {
    it('finds a refresh token by its value, consumes, destroys it and revokes by grant', async () => {
      const store = make();
      const tokens = store.adapter('pg', 'RefreshToken');
      const [first, second, third] = [secret('rt1'), secret('rt2'), secret('rt3')];
      await tokens.upsert(first, { jti: first, grantId: 'g1', accountId: 'alice', iat: 1, exp: 2 ** 31 }, 600);
      await tokens.upsert(second, { jti: second, grantId: 'g2', accountId: 'bob' }, 600);
      await tokens.upsert(third, { jti: third, grantId: 'g1', accountId: 'alice' }, 600);
      await store.adapter('pg', 'AuthorizationCode').upsert('c-of-g1', { jti: 'c-of-g1', grantId: 'g1' }, 60);
      expect(await tokens.find(first)).toEqual({ jti: first, grantId: 'g1', accountId: 'alice', iat: 1, exp: 2 ** 31 });
      // Another environment and another model are other rows.
      expect(await store.adapter('other', 'RefreshToken').find(first)).toBeUndefined();
      expect(await store.adapter('pg', 'AccessToken').find(first)).toBeUndefined();
      // A value that is not the token, even the hash it is stored under, finds nothing.
      expect(await tokens.find(`${first}x`)).toBeUndefined();

      await tokens.consume(first);
      expect(await tokens.find(first)).toMatchObject({ jti: first, consumed: expect.any(Number) });

      await tokens.revokeByGrantId('g1');
      expect(await tokens.find(first)).toBeUndefined();
      expect(await tokens.find(third)).toBeUndefined();
      expect(await store.adapter('pg', 'AuthorizationCode').find('c-of-g1')).toBeUndefined();
      expect(await tokens.find(second)).toMatchObject({ jti: second, accountId: 'bob' });

      await tokens.destroy(second);
      expect(await tokens.find(second)).toBeUndefined();
      await store.close();
    });

    it('gives an interaction back whole, with the secrets it holds, to whoever presents its id', async () => {
      const store = make();
      const uid = secret('interaction');
      const sessionId = secret('session');
      const interaction: AdapterPayload = {
        jti: uid,
        kind: 'Interaction',
        returnTo: `https://sql.example.com/pg/auth/${uid}`,
        session: { accountId: 'alice', uid: 'session-uid-1', cookie: sessionId },
        params: { client_id: 'app', scope: 'sql:read', redirect_uri: 'http://127.0.0.1/cb' },
        prompt: { name: 'login', reasons: ['no_session'], details: {} },
        grantId: 'g9',
        exp: 2 ** 31
      };
      await store.adapter('pg', 'Interaction').upsert(uid, interaction, 600);
      expect(await store.adapter('pg', 'Interaction').find(uid)).toEqual(interaction);
      await store.close();
    });

    it('finds a session by its id with everything, and by its uid without the id', async () => {
      const store = make();
      const sessionId = secret('session');
      const session: AdapterPayload = { jti: sessionId, uid: 'uid-of-session', accountId: 'alice', kind: 'Session' };
      await store.adapter('pg', 'Session').upsert(sessionId, session, 600);
      expect(await store.adapter('pg', 'Session').find(sessionId)).toEqual(session);
      const byUid = await store.adapter('pg', 'Session').findByUid('uid-of-session');
      expect(byUid).toEqual({ uid: 'uid-of-session', accountId: 'alice', kind: 'Session' });
      await store.close();
    });

    it('finds a device code by its user code, with its id', async () => {
      const store = make();
      const deviceCode = secret('device');
      const payload: AdapterPayload = { jti: deviceCode, userCode: 'WDJB-MJHT', grantId: 'g3', kind: 'DeviceCode' };
      await store.adapter('pg', 'DeviceCode').upsert(deviceCode, payload, 600);
      expect(await store.adapter('pg', 'DeviceCode').findByUserCode('WDJB-MJHT')).toEqual(payload);
      expect(await store.adapter('pg', 'DeviceCode').find(deviceCode)).toEqual(payload);
      expect(await store.adapter('pg', 'DeviceCode').findByUserCode('WDJB-MJHX')).toBeUndefined();
      await store.close();
    });

    it('keeps consent rows and clients working under their own keys', async () => {
      const store = make();
      await store.adapter('pg', 'SqlbridgeConsent').upsert('alice\u0000app', { grantId: 'g4' }, 600);
      await store.adapter('pg', 'Client').upsert('app', { client_id: 'app', redirect_uris: ['http://127.0.0.1/cb'] });
      expect(await store.adapter('pg', 'SqlbridgeConsent').find('alice\u0000app')).toEqual({ grantId: 'g4' });
      expect(await store.adapter('pg', 'Client').find('app')).toEqual({
        client_id: 'app',
        redirect_uris: ['http://127.0.0.1/cb']
      });
      await store.close();
    });
  });
}

behaviour('SQLite', () => hashedSqlite().store);
behaviour('memory', hashedMemory);

describe('the SQLite file', () => {
  it('holds no token, code, session or interaction id, nor the secrets payloads repeat', async () => {
    const { store, path } = hashedSqlite();
    const values = {
      refresh: secret('refresh'),
      code: secret('code'),
      session: secret('session'),
      interaction: secret('interaction'),
      device: secret('device'),
      userCode: 'KXQP-ZRTM'
    };
    await store.adapter('pg', 'RefreshToken').upsert(values.refresh, { jti: values.refresh, grantId: 'grant-a' }, 600);
    await store
      .adapter('pg', 'AuthorizationCode')
      .upsert(values.code, { jti: values.code, grantId: 'grant-a', codeChallenge: 'x' }, 60);
    await store
      .adapter('pg', 'Session')
      .upsert(values.session, { jti: values.session, uid: 'u-1', accountId: 'a' }, 600);
    await store.adapter('pg', 'Interaction').upsert(
      values.interaction,
      {
        jti: values.interaction,
        returnTo: `https://h/pg/auth/${values.interaction}`,
        session: { uid: 'u-1', accountId: 'a', cookie: values.session }
      },
      600
    );
    await store
      .adapter('pg', 'DeviceCode')
      .upsert(values.device, { jti: values.device, userCode: values.userCode, grantId: 'grant-a' }, 600);

    const check = (): void => {
      const bytes = fileBytes(path);
      expect(bytes.length).toBeGreaterThan(0);
      for (const [name, value] of Object.entries(values)) {
        for (const form of [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('base64url')]) {
          expect(bytes.includes(form), `${name} (${form}) in the file`).toBe(false);
        }
      }
    };
    // While the server runs (WAL and shared memory in use) and once it stopped.
    check();
    const rows = rawRows(path);
    expect(rows.map(row => row.model)).toEqual([
      'AuthorizationCode',
      'DeviceCode',
      'Interaction',
      'RefreshToken',
      'Session'
    ]);
    for (const row of rows) {
      expect(row.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(JSON.parse(row.payload)).not.toHaveProperty('jti');
    }
    // A grant id is no credential: it stays, so that a grant's tokens are found by it.
    expect(rows.find(row => row.model === 'RefreshToken')?.grant_id).toBe('grant-a');
    expect(await store.adapter('pg', 'RefreshToken').find(values.refresh)).toMatchObject({ jti: values.refresh });
    await store.close();
    check();
  });

  it('is found with the same key after a restart, and not with another', async () => {
    const { store, path, dir } = hashedSqlite();
    const token = secret('refresh');
    await store.adapter('pg', 'RefreshToken').upsert(token, { jti: token, accountId: 'alice' }, 600);
    await store.close();
    const again = openAuthStore({ dataDir: dir, storage: 'sqlite', logger: logSink().logger });
    expect(await again.adapter('pg', 'RefreshToken').find(token)).toEqual({ jti: token, accountId: 'alice' });
    await again.close();
    const otherKey = new HashedStore(new SqliteStore(path), new KeyedHash(randomBytes(32)));
    expect(await otherKey.adapter('pg', 'RefreshToken').find(token)).toBeUndefined();
    await otherKey.close();
  });

  it('deletes what it deletes with zeros (secure_delete)', async () => {
    const dir = emptyDir('secure-delete-');
    const path = join(dir, 'auth.sqlite');
    const store = new SqliteStore(path);
    const marker = secret('deleted-payload');
    await store.adapter('pg', 'Grant').upsert('g', { accountId: marker }, 600);
    await store.adapter('pg', 'Grant').destroy('g');
    await store.close();
    expect(fileBytes(path).includes(marker)).toBe(false);
  });
});

describe('the store key', () => {
  it('is 32 random bytes, readable by its owner only, made once and then reused', () => {
    const dir = emptyDir('store-key-');
    const key = loadOrCreateStoreKey(dir);
    expect(key).toHaveLength(32);
    expect(statSync(storeKeyPath(dir)).mode & 0o777).toBe(0o600);
    expect(loadOrCreateStoreKey(dir).equals(key)).toBe(true);
    expect(readdirSync(join(dir, 'auth'))).toEqual(['store.key']);
    expect(loadOrCreateStoreKey(emptyDir('store-key-')).equals(key)).toBe(false);
  });

  it('is refused when the file does not hold 32 bytes', () => {
    const dir = emptyDir('store-key-');
    loadOrCreateStoreKey(dir);
    writeFileSync(storeKeyPath(dir), randomBytes(16));
    expect(() => loadOrCreateStoreKey(dir)).toThrow(/does not hold a key of 32 bytes/);
  });
});

describe('a file written before ids were hashed', () => {
  /** auth.sqlite as the previous sqlbridge left it: ids in clear, deleted rows in free pages, recent rows in the WAL. */
  async function legacyFile(dir: string): Promise<{
    db: DatabaseSync;
    path: string;
    secrets: Record<'refresh' | 'code' | 'session' | 'interaction' | 'spent' | 'clientSecret' | 'confidential', string>;
    publicClient: string;
  }> {
    const path = join(dir, 'auth', 'auth.sqlite');
    // The old store, as it wrote: the same table, no secure_delete, no format version.
    await new SqliteStore(path).close();
    const db = new DatabaseSync(path);
    db.exec('PRAGMA secure_delete = OFF; PRAGMA wal_autocheckpoint = 0;');
    const secrets = {
      refresh: secret('old-refresh'),
      code: secret('old-code'),
      session: secret('old-session'),
      interaction: secret('old-interaction'),
      spent: secret('old-spent-refresh'),
      clientSecret: secret('old-client-secret'),
      confidential: secret('old-confidential-client')
    };
    const publicClient = 'public-client-1';
    const insert = db.prepare(
      'INSERT INTO oauth_state (environment, model, id, payload, grant_id, uid, expires_at) VALUES (?, ?, ?, ?, ?, ?, NULL)'
    );
    const row = (
      model: string,
      id: string,
      payload: object,
      grantId: string | null = null,
      uid: string | null = null
    ) => insert.run('pg', model, id, JSON.stringify(payload), grantId, uid);
    row('Client', publicClient, { client_id: publicClient, redirect_uris: ['http://127.0.0.1/cb'] });
    row('Client', secrets.confidential, { client_id: secrets.confidential, client_secret: secrets.clientSecret });
    row('Grant', 'g-old', { jti: 'g-old', accountId: 'alice', clientId: publicClient });
    row('SqlbridgeConsent', `alice\u0000${publicClient}`, { grantId: 'g-old' }, 'g-old');
    // Tokens spent long ago: pages of them, deleted, which the old store left to the free list as
    // they were.
    for (let i = 0; i < 200; i++) {
      const id = `${secrets.spent}-${i}`;
      row('RefreshToken', id, { jti: id, grantId: 'g-spent', padding: 'x'.repeat(1000) }, 'g-spent');
    }
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.prepare("DELETE FROM oauth_state WHERE grant_id = 'g-spent'").run();
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    const free = db.prepare('PRAGMA freelist_count').get() as { freelist_count: number };
    expect(free.freelist_count).toBeGreaterThan(10);
    // These only in the WAL.
    row('RefreshToken', secrets.refresh, { jti: secrets.refresh, grantId: 'g-old' }, 'g-old');
    row('AuthorizationCode', secrets.code, { jti: secrets.code, grantId: 'g-old' }, 'g-old');
    row(
      'Session',
      secrets.session,
      { jti: secrets.session, uid: 'session-uid', accountId: 'alice' },
      null,
      'session-uid'
    );
    row('Interaction', secrets.interaction, {
      jti: secrets.interaction,
      returnTo: `https://h/pg/auth/${secrets.interaction}`,
      session: { cookie: secrets.session }
    });
    return { db, path, secrets, publicClient };
  }

  it('loses its secret rows, keeps public clients, grants and consent, and no longer holds the secrets', async () => {
    const dir = emptyDir('legacy-');
    const legacy = await legacyFile(dir);
    const before = fileBytes(legacy.path);
    for (const [name, value] of Object.entries(legacy.secrets)) {
      expect(before.includes(value), `${name} is in the old file (the premise of this test)`).toBe(true);
    }
    expect(existsSync(`${legacy.path}-wal`)).toBe(true);

    const log = logSink();
    const store = openAuthStore({ dataDir: dir, storage: 'sqlite', logger: log.logger });
    legacy.db.close();

    const after = fileBytes(legacy.path);
    for (const [name, value] of Object.entries(legacy.secrets)) {
      expect(after.includes(value), `${name} is still in the file`).toBe(false);
    }
    expect(existsSync(`${legacy.path}-wal`) ? statSync(`${legacy.path}-wal`).size : 0).toBe(0);
    const db = new DatabaseSync(legacy.path, { readOnly: true });
    expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: HASHED_IDS_FORMAT });
    db.close();

    expect(await store.adapter('pg', 'RefreshToken').find(legacy.secrets.refresh)).toBeUndefined();
    expect(await store.adapter('pg', 'Session').find(legacy.secrets.session)).toBeUndefined();
    expect(await store.adapter('pg', 'Client').find(legacy.secrets.confidential)).toBeUndefined();
    expect(await store.adapter('pg', 'Client').find(legacy.publicClient)).toEqual({
      client_id: legacy.publicClient,
      redirect_uris: ['http://127.0.0.1/cb']
    });
    expect(await store.adapter('pg', 'Grant').find('g-old')).toEqual({
      jti: 'g-old',
      accountId: 'alice',
      clientId: legacy.publicClient
    });
    expect(await store.adapter('pg', 'SqlbridgeConsent').find(`alice\u0000${legacy.publicClient}`)).toEqual({
      grantId: 'g-old'
    });
    expect(rawRows(legacy.path).every(row => /^[A-Za-z0-9_-]{43}$/.test(row.id))).toBe(true);

    // One line says so (without a secret in it); opening it again says nothing.
    const lines = log.lines().filter(line => String(line['msg']).includes('sign in again'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', removed: 5, kept: 3 });
    expect(JSON.stringify(lines[0])).not.toContain('old-');
    await store.close();
    const quiet = logSink();
    const reopened = openAuthStore({ dataDir: dir, storage: 'sqlite', logger: quiet.logger });
    expect(await reopened.adapter('pg', 'Client').find(legacy.publicClient)).toMatchObject({
      client_id: legacy.publicClient
    });
    await reopened.close();
    expect(quiet.lines()).toEqual([]);
  });

  it('is refused when a later sqlbridge wrote it', async () => {
    const dir = emptyDir('later-');
    const path = join(dir, 'auth', 'auth.sqlite');
    await new SqliteStore(path).close();
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${HASHED_IDS_FORMAT + 1}`);
    db.close();
    expect(() => openAuthStore({ dataDir: dir, storage: 'sqlite', logger: logSink().logger })).toThrow(
      /written by a later sqlbridge/
    );
  });
});
