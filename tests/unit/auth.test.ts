import { join } from 'node:path';
import { OAuthError } from '@modelcontextprotocol/server';
import { importJWK, SignJWT, type JWK } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { AccessTokenVerifier } from '../../src/auth/resource/token-verifier.ts';
import { isSpecialAddress, metadataUrlRefusal } from '../../src/auth/server/client-metadata-fetch.ts';
import { newSigningKey, publicKeys } from '../../src/auth/server/keys.ts';
import { hashPassword, isPasswordHash, verifyPassword } from '../../src/auth/server/passwords.ts';
import { isRedirectAllowed } from '../../src/auth/server/redirect-policy.ts';
import { UserDirectory, type User } from '../../src/auth/server/users.ts';
import { withClientExpiry } from '../../src/auth/storage/client-expiry.ts';
import { MemoryStore } from '../../src/auth/storage/memory-store.ts';
import { SqliteStore } from '../../src/auth/storage/sqlite-store.ts';
import type { AuthStore } from '../../src/auth/storage/store.ts';
import { emptyDir } from '../helpers/data-dir.ts';

describe('password hashes', () => {
  it('verify the password they were made from and nothing else', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(isPasswordHash(hash)).toBe(true);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
    expect(await hashPassword('correct horse battery staple')).not.toBe(hash);
  });

  it('fail for an unknown user without a hash, at the same cost', async () => {
    expect(await verifyPassword('anything', undefined)).toBe(false);
  });

  it.each([
    'plain-text-password',
    'scrypt$32768$8$1$c2FsdA$a2V5',
    'scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'bcrypt$2b$10$abcdefghijklmnopqrstuu'
  ])('rejects %j as a hash', value => {
    expect(isPasswordHash(value)).toBe(false);
  });
});

describe('client expiry', () => {
  it('gives clients stored without a lifetime one, renews it on use, and forgets unused clients', async () => {
    let now = 1_000_000_000_000;
    const clock = () => now;
    const store = new MemoryStore(clock);
    const clients = withClientExpiry(store.adapter('e', 'Client'), 86_400 * 2, clock);
    await clients.upsert('c1', { client_id: 'c1' });
    await clients.upsert('c2', { client_id: 'c2' });
    now += 86_400_000 * 1.5;
    expect(await clients.find('c1')).toMatchObject({ client_id: 'c1' });
    now += 86_400_000 * 1;
    expect(await clients.find('c1')).toMatchObject({ client_id: 'c1' });
    expect(await clients.find('c2')).toBeUndefined();
  });

  it('keeps the lifetime a caller gives (cached metadata documents)', async () => {
    let now = 1_000_000_000_000;
    const clock = () => now;
    const store = new MemoryStore(clock);
    const clients = withClientExpiry(store.adapter('e', 'Client'), 86_400 * 30, clock);
    const url = 'https://app.example.com/client.json';
    await clients.upsert(url, { client_id: url }, 60);
    expect(await clients.find(url)).toMatchObject({ client_id: url });
    now += 61_000;
    expect(await clients.find(url)).toBeUndefined();
  });
});

describe('redirect URIs of registered clients', () => {
  const allowed = [
    'https://claude.ai/api/mcp/auth_callback',
    'https://claude.com/api/mcp/auth_callback',
    'localhost',
    '127.0.0.1',
    '[::1]'
  ];
  it.each([
    ['https://claude.ai/api/mcp/auth_callback', true],
    ['https://claude.com/api/mcp/auth_callback', true],
    ['https://claude.ai/api/mcp/auth_callback/extra', false],
    ['https://claude.ai/api/mcp/auth_callback?x=1', false],
    ['https://claude.ai.evil.example/api/mcp/auth_callback', false],
    ['http://claude.ai/api/mcp/auth_callback', false],
    ['http://127.0.0.1:33418/callback', true],
    ['http://localhost/cb', true],
    ['http://[::1]:8080/cb', true],
    ['https://127.0.0.1/cb', true],
    ['http://127.0.0.2/cb', false],
    ['http://evil.example/cb', false],
    ['javascript:alert(1)', false],
    ['https://user:pass@127.0.0.1/cb', false],
    ['http://127.0.0.1/cb#fragment', false],
    ['not a url', false]
  ])('%s → %s', (uri, expected) => {
    expect(isRedirectAllowed(uri, allowed)).toBe(expected);
  });
});

describe('client metadata document URLs', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['fd00:ec2::254', true],
    ['fe80::1', true],
    ['64:ff9b::a9fe:a9fe', true],
    ['8.8.8.8', false],
    ['2606:4700:4700::1111', false]
  ])('address %s is special: %s', (address, special) => {
    expect(isSpecialAddress(address)).toBe(special);
  });

  const resolve = async (host: string): Promise<string[]> =>
    ({
      'good.example': ['93.184.215.14'],
      'rebind.example': ['93.184.215.14', '10.0.0.5'],
      'meta.example': ['169.254.169.254']
    })[host] ?? [];
  const options = { timeoutMs: 1000, trustedOrigins: ['https://127.0.0.1:8443'], resolve };

  it.each([
    ['https://good.example/client.json', undefined],
    ['https://127.0.0.1:8443/client.json', undefined],
    ['http://good.example/client.json', 'only https'],
    ['https://good.example:8443/client.json', 'only port 443'],
    ['https://127.0.0.1/client.json', 'an address is not accepted'],
    ['https://[::1]/client.json', 'an address is not accepted'],
    ['https://meta.example/client.json', 'private or reserved address (169.254.169.254)'],
    ['https://rebind.example/client.json', 'private or reserved address (10.0.0.5)'],
    ['https://nowhere.example/client.json', 'does not resolve']
  ])('%s', async (url, refusal) => {
    const reason = await metadataUrlRefusal(url, options);
    if (refusal === undefined) expect(reason).toBeUndefined();
    else expect(reason).toContain(refusal);
  });
});

function storeSuite(name: string, make: () => AuthStore): void {
  describe(`${name} store`, () => {
    it('keeps payloads per environment and model, finds by uid, consumes, destroys and revokes by grant', async () => {
      const store = make();
      const tokens = store.adapter('pg', 'RefreshToken');
      const other = store.adapter('demo', 'RefreshToken');
      await tokens.upsert('r1', { grantId: 'g1', uid: 'u1', accountId: 'alice' }, 60);
      await tokens.upsert('r2', { grantId: 'g2' }, 60);
      await other.upsert('r1', { grantId: 'g1' }, 60);
      expect(await tokens.find('r1')).toMatchObject({ grantId: 'g1', accountId: 'alice' });
      expect(await tokens.findByUid('u1')).toMatchObject({ grantId: 'g1' });
      expect(await store.adapter('pg', 'Session').find('r1')).toBeUndefined();
      await tokens.consume('r1');
      expect((await tokens.find('r1'))?.consumed).toEqual(expect.any(Number));
      await store.adapter('pg', 'AccessToken').upsert('a1', { grantId: 'g1' }, 60);
      await tokens.revokeByGrantId('g1');
      expect(await tokens.find('r1')).toBeUndefined();
      expect(await store.adapter('pg', 'AccessToken').find('a1')).toBeUndefined();
      expect(await tokens.find('r2')).toMatchObject({ grantId: 'g2' });
      expect(await other.find('r1')).toMatchObject({ grantId: 'g1' });
      await tokens.destroy('r2');
      expect(await tokens.find('r2')).toBeUndefined();
      await store.close();
    });

    it('does not return what has expired', async () => {
      const store = make();
      const adapter = store.adapter('pg', 'AuthorizationCode');
      await adapter.upsert('c1', { grantId: 'g' }, -1);
      await adapter.upsert('c2', { grantId: 'g' });
      expect(await adapter.find('c1')).toBeUndefined();
      expect(await adapter.find('c2')).toMatchObject({ grantId: 'g' });
      await store.close();
    });
  });
}

storeSuite('memory', () => new MemoryStore());
storeSuite('SQLite', () => new SqliteStore(join(emptyDir('store-'), 'auth.sqlite')));

describe('SQLite store', () => {
  it('survives a restart', async () => {
    const path = join(emptyDir('store-'), 'auth', 'auth.sqlite');
    const first = new SqliteStore(path);
    await first.adapter('pg', 'Grant').upsert('g1', { accountId: 'alice' }, 3600);
    await first.close();
    const second = new SqliteStore(path);
    expect(await second.adapter('pg', 'Grant').find('g1')).toMatchObject({ accountId: 'alice' });
    expect(second.persistent).toBe(true);
    await second.close();
  });
});

describe('access token verifier', () => {
  const issuer = 'https://data.example.com/pg';
  const resource = 'https://data.example.com/pg/mcp';
  const alice: User = {
    username: 'alice',
    passwordHash: 'x',
    environments: ['pg'],
    scopes: ['sql:read'],
    disabled: false,
    attributes: {}
  };

  async function fixture(users: User[] = [alice]) {
    const key = await newSigningKey();
    const store = new MemoryStore();
    await store.adapter('pg', 'Grant').upsert('grant-1', { accountId: 'alice' }, 3600);
    let now = Date.now();
    const directory = new UserDirectory(users);
    const verifier = new AccessTokenVerifier({
      environment: 'pg',
      issuer,
      resource,
      keys: publicKeys([key]),
      store,
      users: directory,
      grantCheckMs: 5000,
      now: () => now
    });
    const sign = async (claims: Record<string, unknown>, signingKey: JWK = key): Promise<string> =>
      new SignJWT({
        client_id: 'c1',
        scope: 'sql:read',
        gid: 'grant-1',
        jti: 'j1',
        iss: issuer,
        aud: resource,
        ...claims
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: signingKey.kid ?? '' })
        .setSubject('alice')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(await importJWK(signingKey, 'ES256'));
    return { verifier, sign, store, advance: (ms: number) => (now += ms), key, directory };
  }

  it('accepts a token of this environment and returns who it is for', async () => {
    const { verifier, sign } = await fixture();
    const info = await verifier.verifyAccessToken(await sign({}));
    expect(info).toMatchObject({ clientId: 'c1', scopes: ['sql:read'], extra: { sub: 'alice', grantId: 'grant-1' } });
    expect(info.resource?.href).toBe(resource);
  });

  it.each([
    ['another audience', { aud: 'https://data.example.com/demo/mcp' }],
    ['another issuer', { iss: 'https://data.example.com/demo' }],
    ['no grant id', { gid: undefined }],
    ['a grant that does not exist', { gid: 'grant-404' }]
  ])('refuses a token with %s', async (_label, claims) => {
    const { verifier, sign } = await fixture();
    await expect(verifier.verifyAccessToken(await sign(claims))).rejects.toBeInstanceOf(OAuthError);
  });

  it('refuses a token signed by another key, and one with the signature of another payload', async () => {
    const { verifier, sign, key } = await fixture();
    const stranger = { ...(await newSigningKey()), kid: key.kid };
    await expect(verifier.verifyAccessToken(await sign({}, stranger))).rejects.toBeInstanceOf(OAuthError);
    const [header, , signature] = (await sign({})).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'root', scope: 'sql:read sql:write' })).toString('base64url');
    await expect(verifier.verifyAccessToken(`${header}.${forged}.${signature}`)).rejects.toBeInstanceOf(OAuthError);
  });

  it('stops accepting a revoked grant once its check is older than grantCheckMs', async () => {
    const { verifier, sign, store, advance } = await fixture();
    const token = await sign({});
    await verifier.verifyAccessToken(token);
    await store.adapter('pg', 'Grant').destroy('grant-1');
    await expect(verifier.verifyAccessToken(token)).resolves.toBeDefined();
    advance(5001);
    await expect(verifier.verifyAccessToken(token)).rejects.toThrow('revoked');
  });

  it('keeps refusing a token it verified before once it expires, and any altered copy of it', async () => {
    const { verifier, sign, advance } = await fixture();
    const token = await sign({});
    await expect(verifier.verifyAccessToken(token)).resolves.toBeDefined();
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'sql:read sql:write' })).toString('base64url');
    await expect(verifier.verifyAccessToken(`${header}.${widened}.${signature}`)).rejects.toBeInstanceOf(OAuthError);
    advance(3_600_000 + 4_000);
    await expect(verifier.verifyAccessToken(token)).resolves.toBeDefined();
    advance(2_000);
    await expect(verifier.verifyAccessToken(token)).rejects.toThrow('expired');
  });

  it('derives what a token grants once, and shares it, frozen, between the calls that use it', async () => {
    const { verifier, sign, directory } = await fixture();
    const allowed = vi.spyOn(directory, 'allowed');
    const token = await sign({});
    const first = await verifier.verifyAccessToken(token);
    const second = await verifier.verifyAccessToken(token);
    expect(second).toBe(first);
    expect(allowed).toHaveBeenCalledTimes(1);
    expect(Object.isFrozen(first) && Object.isFrozen(first.scopes) && Object.isFrozen(first.extra)).toBe(true);
    expect(() => first.scopes.push('sql:write')).toThrow(TypeError);
  });

  it('applies a change to the users to the very next call with a token it already verified', async () => {
    const { verifier, sign, directory } = await fixture();
    const token = await sign({ scope: 'sql:read sql:write' });
    const writer = { ...alice, scopes: ['sql:read', 'sql:write'] as User['scopes'], attributes: { region: 'eu' } };
    directory.replace([writer]);
    const before = await verifier.verifyAccessToken(token);
    expect(before.scopes).toEqual(['sql:read', 'sql:write']);
    expect(before.extra?.['attributes']).toEqual({ region: 'eu' });
    // Demoted, moved: the same token now grants only what the user may do now.
    directory.replace([{ ...writer, scopes: ['sql:read'], attributes: { region: 'us' } }]);
    const after = await verifier.verifyAccessToken(token);
    expect(after.scopes).toEqual(['sql:read']);
    expect(after.extra?.['attributes']).toEqual({ region: 'us' });
    directory.setDisabled(['alice']);
    await expect(verifier.verifyAccessToken(token)).rejects.toThrow('no longer');
    directory.setDisabled([]);
    directory.setUpstreamGroups([['alice', ['analysts']]]);
    expect((await verifier.verifyAccessToken(token)).extra?.['groups']).toEqual(['analysts']);
    directory.replace([]);
    await expect(verifier.verifyAccessToken(token)).rejects.toThrow('no longer');
  });

  it('refuses the token of a disabled user or one no longer allowed here', async () => {
    for (const user of [
      { ...alice, disabled: true },
      { ...alice, environments: ['demo'] }
    ]) {
      const { verifier, sign } = await fixture([user]);
      await expect(verifier.verifyAccessToken(await sign({}))).rejects.toThrow('no longer');
    }
  });
});
