import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AdminError } from '../../src/admin/admin-error.ts';
import { AdminService } from '../../src/admin/admin-service.ts';
import type { App } from '../../src/app.ts';
import type { AdminActor } from '../../src/admin/admin-types.ts';
import { AuthorizationServers } from '../../src/auth/authorization-servers.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createLogger } from '../../src/observability/logger.ts';
import {
  authorizationUrl,
  pkce,
  redeemCode,
  refresh,
  registerClient,
  type OAuthClient
} from '../helpers/oauth-client.ts';
import { jwtClaims, signIn, type Credentials } from '../helpers/oauth-login.ts';
import { deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';
import { startAuthStack, type AuthStack } from '../helpers/auth-stack.ts';

/**
 * Administration against real authorization servers: clients registered by DCR and grants given
 * through the real sign-in and consent pages, then listed, revoked, deleted and disabled through
 * AdminService, with the effect checked where it matters (the resource server's token verifier, the
 * token endpoint) and the audit record of every action. Once over the SQLite store, once over Redis,
 * where a second set of authorization servers plays another replica. The grant check is cached for a
 * minute here, so a refusal "at once" cannot come from the cache running out.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const BOB: Credentials = { username: 'bob', password: 'bob-correct-horse-battery' };
const ENV = 'lab';
const ADMIN: AdminActor = { username: 'alice', requestId: 'req-admin-1', remoteAddress: '192.0.2.7' };
const silent = createLogger('silent');

interface Tokens {
  client: OAuthClient;
  accessToken: string;
  refreshToken: string;
  grantId: string;
}

for (const storage of ['sqlite', 'redis'] as const) {
  describe(`administration over the ${storage} store`, () => {
    const prefix = uniquePrefix('admin');
    let stack: AuthStack;
    let app: App;
    let servers: AuthorizationServers;
    let base: string;
    let admin: AdminService;

    beforeAll(async () => {
      const database = createSqliteFixture();
      stack = await startAuthStack('admin-', [
        'environments:',
        `  ${ENV}: { database: { engine: sqlite, path: ${JSON.stringify(database)} } }`,
        `  other: { database: { engine: sqlite, path: ${JSON.stringify(database)} } }`,
        'auth:',
        `  storage: ${storage === 'redis' ? JSON.stringify(redisUrl(prefix)) : 'sqlite'}`,
        '  grantCheckMs: 60000',
        '  clients:',
        '    - { clientId: configured-app, name: Configured app, redirectUris: ["https://app.example.com/cb"] }',
        '  users:',
        `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: ["*"], scopes: [sql:read, sqlbridge:admin] }`,
        `    - { username: bob, passwordHash: "${await hashPassword(BOB.password)}", environments: [${ENV}], scopes: [sql:read] }`
      ]);
      ({ app, servers, base } = stack);
      admin = AdminService.forServers(servers, app.audit);
    }, 60_000);

    afterAll(async () => {
      await stack.close();
      if (storage === 'redis') await deletePrefix(prefix);
    });

    /** A client registered by DCR, a user's consent through the real pages, the tokens. */
    async function grant(user: Credentials): Promise<Tokens> {
      const client = await registerClient(base, ENV, 'none');
      expect(client.answer.status).toBe(201);
      const { verifier, challenge } = pkce();
      const callback = await signIn(authorizationUrl(base, ENV, client, challenge, 'sql:read offline_access'), user);
      const code = callback.searchParams.get('code');
      if (code === null) throw new Error(`no code: ${callback.href}`);
      const tokens = await redeemCode(base, ENV, client, code, verifier);
      expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
      const accessToken = String(tokens.body['access_token']);
      return {
        client,
        accessToken,
        refreshToken: String(tokens.body['refresh_token']),
        grantId: String(jwtClaims(accessToken)['gid'])
      };
    }

    const verify = async (token: string) => servers.active(ENV)?.verifiers.mcp.verifyAccessToken(token);

    it('lists the registered clients, the grants and the users', async () => {
      const tokens = await grant(ALICE);
      await vi.waitFor(async () => {
        const clients = await admin.clients({ environment: ENV });
        const registered = clients.find(client => client.clientId === tokens.client.clientId);
        expect(registered).toMatchObject({
          environment: ENV,
          kind: 'dynamic',
          name: 'secrets test (none)',
          redirectHosts: ['127.0.0.1:9']
        });
        expect(registered?.registeredAt).toBeGreaterThan(Date.now() - 60_000);
        expect(registered?.lastUsedAt).toBeGreaterThanOrEqual(registered?.registeredAt ?? Infinity);
      });
      const everywhere = await admin.clients();
      expect(
        everywhere
          .filter(client => client.clientId === 'configured-app')
          .map(client => client.environment)
          .sort()
      ).toEqual([ENV, 'other']);
      expect(everywhere.find(client => client.clientId === 'configured-app')).toMatchObject({
        kind: 'static',
        name: 'Configured app',
        redirectHosts: ['app.example.com']
      });
      expect((await admin.clients({ q: 'CONFIGURED' })).every(client => client.clientId === 'configured-app')).toBe(
        true
      );
      expect(await admin.clients({ environment: 'other', q: tokens.client.clientId })).toEqual([]);

      await vi.waitFor(async () => {
        const grants = await admin.grants({ user: 'ALICE' });
        expect(grants.map(g => g.grantId)).toContain(tokens.grantId);
      });
      const [listed] = await admin.grants({ clientId: tokens.client.clientId });
      expect(listed).toMatchObject({
        environment: ENV,
        grantId: tokens.grantId,
        user: 'alice',
        clientId: tokens.client.clientId,
        clientName: 'secrets test (none)'
      });
      expect(listed?.scope.split(' ')).toContain('sql:read');
      expect(listed?.expiresAt).toBeGreaterThan(Date.now() + 86_400_000);
      expect(await admin.grants({ environment: 'other' })).toEqual([]);
      expect(await admin.grants({ user: 'bob' })).toEqual([]);

      const users = await admin.users();
      expect(users.find(user => user.username === 'alice')).toMatchObject({
        origin: 'config',
        disabled: false,
        scopes: expect.arrayContaining(['sql:read', 'sqlbridge:admin']),
        grants: 1,
        // Signed in with a password through the real flow a moment ago.
        lastSignInAt: expect.any(Number)
      });
      expect(Date.now() - (users.find(user => user.username === 'alice')?.lastSignInAt ?? 0)).toBeLessThan(60_000);
      expect(users.find(user => user.username === 'bob')).toMatchObject({ grants: 0, environments: [ENV] });
      expect(users.find(user => user.username === 'bob')?.lastSignInAt).toBeUndefined();
      expect((await admin.users({ active: true })).map(user => user.username)).toEqual(['alice']);
      expect((await admin.users({ q: 'BO' })).map(user => user.username)).toEqual(['bob']);
    });

    it('revokes a grant: its access token is refused on the very next call, its refresh token too', async () => {
      const tokens = await grant(BOB);
      // Remembered as valid by the verifier for a minute from here.
      await expect(verify(tokens.accessToken)).resolves.toMatchObject({ clientId: tokens.client.clientId });
      await vi.waitFor(async () => expect((await admin.grants({ user: 'bob' })).length).toBe(1));

      expect(await admin.revokeGrant(ENV, tokens.grantId, ADMIN)).toBe(true);
      await expect(verify(tokens.accessToken)).rejects.toThrow(/revoked/);
      const refreshed = await refresh(base, ENV, tokens.client, tokens.refreshToken);
      expect(refreshed.status).toBe(400);
      expect(refreshed.body['error']).toBe('invalid_grant');
      expect(await admin.grants({ user: 'bob' })).toEqual([]);
      // Gone: a second revocation finds nothing, nor does a grant id that never was, nor one of another environment.
      expect(await admin.revokeGrant(ENV, tokens.grantId, ADMIN)).toBe(false);
      expect(await admin.revokeGrant(ENV, 'no-such-grant', ADMIN)).toBe(false);
      await expect(admin.revokeGrant('nowhere', tokens.grantId, ADMIN)).rejects.toThrow(AdminError);

      const [record] = await admin.audit({ event: 'admin.grant_revoked', limit: 1 });
      expect(record).toMatchObject({
        event: 'admin.grant_revoked',
        outcome: 'ok',
        environment: ENV,
        user: 'alice',
        clientId: tokens.client.clientId,
        requestId: 'req-admin-1',
        remoteAddress: '192.0.2.7',
        detail: { grantId: tokens.grantId, account: 'bob' }
      });
    });

    it('drops the record of a grant oidc-provider revokes itself (a replayed refresh token)', async () => {
      const tokens = await grant(BOB);
      await vi.waitFor(async () => expect((await admin.grants({ user: 'bob' })).length).toBe(1));
      expect((await refresh(base, ENV, tokens.client, tokens.refreshToken)).status).toBe(200);
      expect((await refresh(base, ENV, tokens.client, tokens.refreshToken)).status).toBe(400);
      await vi.waitFor(async () => expect(await admin.grants({ user: 'bob' })).toEqual([]));
    });

    it('deletes a client: it can neither refresh nor call, and the configured ones cannot be deleted', async () => {
      const tokens = await grant(BOB);
      await expect(verify(tokens.accessToken)).resolves.toBeDefined();
      await vi.waitFor(async () =>
        expect((await admin.clients({ q: tokens.client.clientId })).map(c => c.clientId)).toEqual([
          tokens.client.clientId
        ])
      );

      expect(await admin.deleteClient(ENV, tokens.client.clientId, ADMIN)).toBe(true);
      await expect(verify(tokens.accessToken)).rejects.toThrow(/revoked/);
      const refreshed = await refresh(base, ENV, tokens.client, tokens.refreshToken);
      expect(refreshed.status).toBe(401);
      expect(refreshed.body['error']).toBe('invalid_client');
      expect(await admin.clients({ q: tokens.client.clientId })).toEqual([]);
      expect(await admin.grants({ clientId: tokens.client.clientId })).toEqual([]);
      expect(await admin.deleteClient(ENV, tokens.client.clientId, ADMIN)).toBe(false);

      await expect(admin.deleteClient(ENV, 'configured-app', ADMIN)).rejects.toThrow(/auth\.clients/);
      const [record] = await admin.audit({ event: 'admin.client_deleted' });
      expect(record).toMatchObject({
        environment: ENV,
        user: 'alice',
        clientId: tokens.client.clientId,
        detail: { clientId: tokens.client.clientId, grantsRevoked: 1 }
      });
    });

    it('disables a user at once, and enables them again', async () => {
      const tokens = await grant(BOB);
      await expect(verify(tokens.accessToken)).resolves.toBeDefined();

      expect(await admin.setUserDisabled('Bob', true, ADMIN)).toBe(true);
      await expect(verify(tokens.accessToken)).rejects.toThrow(/no longer/);
      expect((await admin.users({ q: 'bob' }))[0]?.disabled).toBe(true);
      // The refresh token is refused too: the account is not there for the authorization server.
      expect((await refresh(base, ENV, tokens.client, tokens.refreshToken)).status).toBe(400);

      expect(await admin.setUserDisabled('bob', false, ADMIN)).toBe(true);
      await expect(verify(tokens.accessToken)).resolves.toBeDefined();
      expect(await admin.setUserDisabled('nobody', true, ADMIN)).toBe(false);
      await expect(admin.setUserDisabled('ALICE', true, ADMIN)).rejects.toThrow(/your own account/);

      const records = await admin.audit({ event: 'admin', user: 'alice', limit: 2 });
      expect(records.map(record => [record.event, record.detail?.['username']])).toEqual([
        ['admin.user_enabled', 'bob'],
        ['admin.user_disabled', 'bob']
      ]);
    });

    it('rotates the signing keys: new tokens are signed with the new key, old ones still verify', async () => {
      const before = await grant(ALICE);
      const oldKid = JSON.parse(Buffer.from(before.accessToken.split('.')[0] ?? '', 'base64url').toString()) as {
        kid: string;
      };
      expect(await admin.rotateKeys([ENV], ADMIN)).toEqual([ENV]);
      const after = await grant(ALICE);
      const newKid = JSON.parse(Buffer.from(after.accessToken.split('.')[0] ?? '', 'base64url').toString()) as {
        kid: string;
      };
      expect(newKid.kid).not.toBe(oldKid.kid);
      await expect(verify(before.accessToken)).resolves.toBeDefined();
      await expect(verify(after.accessToken)).resolves.toBeDefined();
      await expect(admin.rotateKeys(['nowhere'], ADMIN)).rejects.toThrow(/no environment named "nowhere"/);
      const [record] = await admin.audit({ event: 'admin.keys_rotated' });
      expect(record).toMatchObject({ user: 'alice', detail: { environments: ENV } });
    });

    it('reads the audit trail newest first, filtered, and refuses an unknown event by name', async () => {
      const records = await admin.audit({ event: 'admin' });
      expect(records.length).toBeGreaterThanOrEqual(5);
      const times = records.map(record => Date.parse(record.time));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      expect(records.every(record => record.event.startsWith('admin.'))).toBe(true);
      expect(await admin.audit({ event: 'admin', environment: 'other' })).toEqual([]);
      expect(await admin.audit({ since: Date.now() + 60_000 })).toEqual([]);
      expect((await admin.audit({ limit: 3 })).length).toBe(3);
      await expect(admin.audit({ event: 'admin.nothing' })).rejects.toThrow(/admin\.nothing/);
      await expect(admin.audit({ outcome: 'maybe' })).rejects.toThrow(/maybe/);
    });

    if (storage === 'redis') {
      it('reaches another replica at once: a revoked grant and a disabled user are refused there', async () => {
        const replica = await AuthorizationServers.create({
          config: servers.config,
          environments: app.environments,
          logger: silent
        });
        try {
          replica.start(base);
          const there = async (token: string) => replica.active(ENV)?.verifiers.mcp.verifyAccessToken(token);
          const revoked = await grant(BOB);
          const disabled = await grant(BOB);
          await expect(there(revoked.accessToken)).resolves.toBeDefined();
          await expect(there(disabled.accessToken)).resolves.toBeDefined();

          expect(await admin.revokeGrant(ENV, revoked.grantId, ADMIN)).toBe(true);
          await vi.waitFor(() => expect(there(revoked.accessToken)).rejects.toThrow(/revoked/), { timeout: 2000 });
          // Only that grant: the other one still works there.
          await expect(there(disabled.accessToken)).resolves.toBeDefined();

          expect(await admin.setUserDisabled('bob', true, ADMIN)).toBe(true);
          await vi.waitFor(() => expect(there(disabled.accessToken)).rejects.toThrow(/no longer/), { timeout: 2000 });
          expect(await admin.setUserDisabled('bob', false, ADMIN)).toBe(true);
          await vi.waitFor(() => expect(there(disabled.accessToken)).resolves.toBeDefined(), { timeout: 2000 });
        } finally {
          await replica.close();
        }
      });
    }
  });
}
