import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import { createApp, type App } from '../../src/app.ts';
import { AuthorizationServers } from '../../src/auth/authorization-servers.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createHttpServer, type HttpServer } from '../../src/http-server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { authorizationUrl, pkce, registerClient } from '../helpers/oauth-client.ts';
import { CookieJar } from '../helpers/oauth-login.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * The sign-in page of an environment whose people sign in through identity providers only
 * (`auth.federation.localUsers: false`), against real authorization servers: what the page offers,
 * the password form refused even when posted by hand, and the federated steps refusing what is not
 * theirs. The providers are on loopback ports nothing listens on, so discovery fails (a warning, not
 * a crash) and a sign-in through them says the provider cannot be reached.
 */

const ENV = 'lab';
const silent = createLogger('silent');

for (const localUsers of [false, true]) {
  describe(`the sign-in page with localUsers: ${localUsers}`, () => {
    let app: App;
    let servers: AuthorizationServers;
    let http: HttpServer;
    let base: string;
    const audit: AuditRecord[] = [];

    beforeAll(async () => {
      const dir = emptyDir('federation-page-');
      const file = join(dir, 'sqlbridge.yaml');
      writeFileSync(
        file,
        [
          'environments:',
          `  ${ENV}: { database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} } }`,
          `  elsewhere: { database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} } }`,
          'auth:',
          '  storage: memory',
          '  federation:',
          `    localUsers: ${localUsers}`,
          '    providers:',
          '      - { id: corp, name: Corp <Directory>, issuer: "http://127.0.0.1:9/corp", clientId: sqlbridge }',
          '      - { id: other, name: Other, issuer: "http://127.0.0.1:9/other", clientId: sqlbridge, environments: [elsewhere] }',
          '  users:',
          `    - { username: ana, passwordHash: "${await hashPassword('ana-correct-horse')}", environments: ["*"], scopes: [sql:read] }`,
          ''
        ].join('\n')
      );
      const { config } = loadConfig({ cli: { config: file, dataDir: dir }, env: {}, cwd: dir });
      app = createApp(config, silent);
      app.audit.onRecord(record => audit.push(record));
      servers = await AuthorizationServers.create({ config, environments: app.environments, logger: silent });
      http = await createHttpServer(config, app.environments, silent, '0.0.0-test', servers);
      await http.app.listen({ host: '127.0.0.1', port: 0 });
      const address = http.app.server.address();
      base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
      servers.start(base);
    }, 60_000);

    afterAll(async () => {
      await http.app.close();
      await servers.close();
      await app.close();
    });

    /** An authorization request brought to its sign-in page: the page, its URL and the browser's cookies. */
    async function signInPage(): Promise<{ html: string; url: URL; jar: CookieJar; headers: Headers }> {
      const client = await registerClient(base, ENV, 'none');
      const jar = new CookieJar();
      const start = await fetch(authorizationUrl(base, ENV, client, pkce().challenge), { redirect: 'manual' });
      jar.store(start);
      const url = new URL(start.headers.get('location') ?? '', base);
      const page = await fetch(url, { headers: { cookie: jar.header() } });
      jar.store(page);
      expect(page.status).toBe(200);
      return { html: await page.text(), url, jar, headers: page.headers };
    }

    const post = (url: URL | string, jar: CookieJar, fields: Record<string, string>) =>
      fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', origin: base },
        body: new URLSearchParams(fields)
      });

    const csrfOf = (html: string): string => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

    it('offers a button per provider of this environment, escaped, and the password form only with local users', async () => {
      const { html } = await signInPage();
      expect(html).toContain('Sign in with Corp &lt;Directory&gt;');
      expect(html).toMatch(/<button type="submit" name="provider" value="corp">/);
      expect(html).not.toContain('Sign in with Other');
      expect(html.includes('name="password"')).toBe(localUsers);
    });

    it('lets the page’s forms go to the providers (CSP form-action), and nowhere else', async () => {
      const { headers } = await signInPage();
      const csp = headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/form-action 'self' http:\/\/127\.0\.0\.1:9 http:\/\/127\.0\.0\.1:9(;| )/);
      expect(csp).toContain("frame-ancestors 'none'");
    });

    it(localUsers ? 'accepts the password form' : 'refuses a password posted by hand', async () => {
      const { html, url, jar } = await signInPage();
      const response = await post(`${url.href}/login`, jar, {
        csrf: csrfOf(html),
        username: 'ana',
        password: 'ana-correct-horse'
      });
      if (localUsers) {
        expect(response.status).toBe(303);
      } else {
        expect(response.status).toBe(403);
        expect(await response.text()).toContain('not offered here');
        expect(audit.at(-1)).toMatchObject({ event: 'auth.login_failed', errorClass: 'local_users_disabled' });
        expect(audit.some(r => r.event === 'auth.login_succeeded')).toBe(false);
      }
    });

    it('refuses a provider button posted without the page’s CSRF token', async () => {
      const { url, jar } = await signInPage();
      const response = await post(`${url.href}/federate`, jar, { csrf: 'forged', provider: 'corp' });
      expect(response.status).toBe(403);
      expect(response.headers.get('location')).toBeNull();
    });

    it('refuses a provider not offered in this environment', async () => {
      const { html, url, jar } = await signInPage();
      for (const provider of ['other', 'nobody', '']) {
        const response = await post(`${url.href}/federate`, jar, { csrf: csrfOf(html), provider });
        expect(response.status).toBe(400);
        expect(response.headers.get('location')).toBeNull();
      }
    });

    it('says so when the provider cannot be reached, and audits it', async () => {
      const { html, url, jar } = await signInPage();
      const response = await post(`${url.href}/federate`, jar, { csrf: csrfOf(html), provider: 'corp' });
      expect(response.status).toBe(502);
      expect(await response.text()).toContain('cannot be reached');
      expect(audit.at(-1)).toMatchObject({
        event: 'auth.login_failed',
        errorClass: 'upstream_unavailable',
        environment: ENV,
        detail: { provider: 'corp' }
      });
    });

    it('refuses a callback whose state is unknown, and one with no binding cookie', async () => {
      const state = 'A'.repeat(43);
      const response = await fetch(`${base}/auth/federation/callback?code=abc&state=${state}`, { redirect: 'manual' });
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(text).toContain('Sign-in refused');
      expect(text).not.toContain(state);
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(audit.at(-1)).toMatchObject({ event: 'auth.login_failed', errorClass: 'state_invalid' });
    });

    it('refuses a ticket that was never issued', async () => {
      const { url, jar } = await signInPage();
      const response = await fetch(`${url.href}/federated?ticket=${'B'.repeat(43)}`, {
        redirect: 'manual',
        headers: { cookie: jar.header() }
      });
      expect(response.status).toBe(400);
      expect(audit.at(-1)).toMatchObject({ event: 'auth.login_failed', errorClass: 'state_invalid', environment: ENV });
    });
  });
}
