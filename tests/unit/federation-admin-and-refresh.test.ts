import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import { createApp, type App } from '../../src/app.ts';
import { AuthorizationServers } from '../../src/auth/authorization-servers.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createHttpServer, type HttpServer } from '../../src/http-server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { freeLoopbackPort } from '../helpers/nginx.ts';
import { CookieJar } from '../helpers/oauth-login.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';
import { startUpstreamIdp, type UpstreamIdp } from '../helpers/upstream-idp.ts';

/**
 * The FederatedSignIn API the admin console codes against, over real HTTP with a real upstream
 * OpenID provider: a sign-in begun for purpose `admin` reaches the handler registered with
 * `onComplete('admin')` with the user and provider; `refreshUser` reads the groups again at the
 * provider (with the sealed refresh token kept at sign-in), audits a change, and answers false once
 * the provider refuses.
 */

const silent = createLogger('silent');
const PERSON = {
  login: 'dana',
  password: 'dana-correct-horse',
  sub: 'dana-0001',
  email: 'dana@corp.example',
  name: 'Dana',
  groups: ['corp-admins', 'corp-analysts']
};

describe('federated sign-in for the admin console, and refresh', () => {
  let app: App;
  let servers: AuthorizationServers;
  let http: HttpServer;
  let idp: UpstreamIdp;
  let base: string;
  const audit: AuditRecord[] = [];

  beforeAll(async () => {
    const port = await freeLoopbackPort();
    base = `http://127.0.0.1:${port}`;
    idp = await startUpstreamIdp({ redirectUri: `${base}/auth/federation/callback`, people: [PERSON] });
    const dir = emptyDir('federation-admin-');
    const file = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      file,
      [
        'environments:',
        `  lab: { database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} } }`,
        'auth:',
        '  storage: memory',
        '  groups:',
        '    admins: { environments: ["*"], scopes: [sql:read, sqlbridge:admin] }',
        '    analysts: { environments: [lab], scopes: [sql:read] }',
        '  federation:',
        '    providers:',
        `      - id: corp`,
        `        name: Corp`,
        `        issuer: "${idp.issuer}"`,
        `        clientId: ${idp.clientId}`,
        `        clientSecret: "${idp.clientSecret}"`,
        '        scopes: [openid, profile, email, groups, offline_access]',
        '        groupMap: { corp-admins: admins, corp-analysts: analysts }',
        '        justInTime: { enabled: true }',
        ''
      ].join('\n')
    );
    const { config } = loadConfig({ cli: { config: file, dataDir: dir }, env: {}, cwd: dir });
    app = createApp(config, silent);
    app.audit.onRecord(record => audit.push(record));
    servers = await AuthorizationServers.create({ config, environments: app.environments, logger: silent });
    http = await createHttpServer(config, app.environments, silent, '0.0.0-test', servers);
    // What the console's sign-in button does, without the console.
    http.app.post('/test/admin-sign-in', async (request, reply) =>
      servers.federation.begin(request, reply, 'corp', { kind: 'admin' })
    );
    servers.federation.onComplete('admin', async (_request, reply, done) =>
      reply.code(200).send({ user: done.user.username, provider: done.provider, scopes: done.user.scopes })
    );
    await http.app.listen({ host: '127.0.0.1', port });
    servers.start(base);
  }, 60_000);

  afterAll(async () => {
    await http.app.close();
    await servers.close();
    await app.close();
    await idp.close();
  });

  /** One browser: sqlbridge and the provider, cookies kept apart by name (both on 127.0.0.1). */
  async function signInAsAdmin(jar: CookieJar): Promise<Response> {
    const send = async (
      url: URL,
      init: { method?: string; headers?: Record<string, string>; body?: URLSearchParams } = {}
    ): Promise<Response> => {
      const response = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { ...init.headers, cookie: jar.header() }
      });
      jar.store(response);
      return response;
    };
    let response = await send(new URL('/test/admin-sign-in', base), { method: 'POST' });
    let url = new URL('/test/admin-sign-in', base);
    for (let hop = 0; hop < 12; hop++) {
      if (response.status >= 300 && response.status < 400) {
        url = new URL(response.headers.get('location') ?? '', url);
        response = await send(url);
        continue;
      }
      if (url.origin === idp.issuer && url.pathname.startsWith('/interaction/')) {
        response = await send(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ login: PERSON.login, password: PERSON.password })
        });
        continue;
      }
      return response;
    }
    throw new Error('too many redirects');
  }

  it('hands the signed-in user to the handler registered for admin, and audits the sign-in', async () => {
    const response = await signInAsAdmin(new CookieJar());
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toEqual({
      user: 'corp:dana-0001',
      provider: 'corp',
      scopes: expect.arrayContaining(['sqlbridge:admin'])
    });
    expect(audit.find(r => r.event === 'user.created')).toMatchObject({ user: 'corp:dana-0001' });
    expect(audit.find(r => r.event === 'auth.login_succeeded')).toMatchObject({
      user: 'corp:dana-0001',
      detail: { provider: 'corp', purpose: 'admin' }
    });
    const row = await servers.records.row('corp:dana-0001');
    expect(row).toMatchObject({ issuer: idp.issuer, subject: PERSON.sub, upstreamGroups: ['admins', 'analysts'] });
    expect(row?.upstreamRefreshToken).toBeDefined();
  });

  it('reads the groups again at refresh: a group removed upstream is gone, and the change audited', async () => {
    idp.setGroups(PERSON.login, ['corp-analysts']);
    expect(await servers.federation.refreshUser('corp:dana-0001')).toBe(true);
    const user = servers.users.find('corp:dana-0001');
    expect(user?.groups).toEqual(['analysts']);
    expect(user?.scopes).not.toContain('sqlbridge:admin');
    expect(audit.filter(r => r.event === 'user.groups_changed').at(-1)).toMatchObject({
      user: 'corp:dana-0001',
      detail: { provider: 'corp', before: 'admins analysts', after: 'analysts' }
    });
    // The rotated refresh token was kept: a second refresh works too.
    expect(await servers.federation.refreshUser('corp:dana-0001')).toBe(true);
  });

  it('answers true for a user with nothing kept at a provider', async () => {
    expect(await servers.federation.refreshUser('nobody')).toBe(true);
  });

  it('after the provider refuses the kept token, refuses every refresh without asking it again, until a new sign-in', async () => {
    const name = 'corp:dana-0001';
    const dead = servers.records.sealUpstreamToken(name, 'a-token-the-provider-never-issued');
    await servers.records.update(name, row => ({ ...row, upstreamRefreshToken: dead }));
    const asked = idp.grants.length;
    expect(await servers.federation.refreshUser(name)).toBe(false);
    const row = await servers.records.row(name);
    expect(row?.upstreamRefusedAt).toEqual(expect.any(Number));
    expect(row?.upstreamRefreshToken).toBeUndefined();
    expect(await servers.federation.refreshUser(name)).toBe(false);
    // The refused token reached no successful grant, and the second refusal did not ask at all.
    expect(idp.grants.length).toBe(asked);
    // Signing in through the provider again clears the refusal and keeps a fresh token.
    expect((await signInAsAdmin(new CookieJar())).status).toBeLessThan(500);
    expect((await servers.records.row(name))?.upstreamRefusedAt).toBeUndefined();
    expect(await servers.federation.refreshUser(name)).toBe(true);
  });

  it('refuses the refresh when the provider cannot be reached', async () => {
    await idp.close();
    expect(await servers.federation.refreshUser('corp:dana-0001')).toBe(false);
  });
});
