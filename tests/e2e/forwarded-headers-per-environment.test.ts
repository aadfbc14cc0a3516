import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { POSTGRES, createPostgresDatabase } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import {
  ALICE,
  CALLBACK,
  INITIALIZE,
  PKCE,
  PUBLIC,
  authorizeQuery,
  publicDocument,
  rawRequest,
  registerClient,
  withHeaders,
  type RawRequest
} from '../helpers/forwarded.ts';
import { CookieJar, jwtClaims, readForm } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * The guide's one-environment-per-process layout, sqlbridge's side of it: a process configured by
 * environment variables for the environment `production` sits behind an nginx (here: these requests
 * from the trusted 127.0.0.1) that removes `/production` from every path and says so in
 * X-Environment-Path. It must answer exactly as a shared process answers `/production/…`, and a whole
 * OAuth sign-in done through prefix-stripped paths must yield a token that works on `/mcp`.
 */

const PREFIX = '/production';
const HEADER = { 'x-environment-path': PREFIX };

let server: RunningServer;
let dropDatabase = async (): Promise<void> => undefined;

beforeAll(async () => {
  const database = await createPostgresDatabase(
    'CREATE TABLE invoices (id integer PRIMARY KEY, total numeric NOT NULL); INSERT INTO invoices VALUES (1, 9.5)'
  );
  dropDatabase = database.drop;
  const dir = emptyDir('per-environment-');
  // What variables cannot say: the users, and that this PostgreSQL has no TLS.
  const config = join(dir, 'users.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      '  production:',
      '    database: { tls: disable }',
      'auth:',
      '  grantCheckMs: 0',
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: [production] }`,
      ''
    ].join('\n')
  );
  server = await startServer({
    args: ['serve'],
    env: {
      SQLBRIDGE_ENVIRONMENT: 'production',
      POSTGRES_URL: `postgres://${POSTGRES.user}@${POSTGRES.host}:${POSTGRES.port}/${database.name}`,
      SQLBRIDGE_PUBLIC_URL: PUBLIC,
      SQLBRIDGE_TRUST_PROXY: '127.0.0.1',
      SQLBRIDGE_CONFIG: config,
      SQLBRIDGE_DATA_DIR: dir
    }
  });
  expect(server.logs.find(entry => typeof entry['port'] === 'number')?.['url']).toBe(`${PUBLIC}/production/mcp`);
}, 60_000);

afterAll(async () => {
  try {
    await (server as RunningServer | undefined)?.stop();
  } finally {
    await dropDatabase();
  }
});

/** A URL the server handed out, as the per-environment nginx forwards it: without origin and `/production`. */
function stripped(url: string | URL): string {
  const parsed = new URL(url, PUBLIC);
  expect(parsed.origin, parsed.href).toBe(PUBLIC);
  expect(parsed.pathname.startsWith(`${PREFIX}/`), parsed.href).toBe(true);
  return parsed.pathname.slice(PREFIX.length) + parsed.search;
}

/** A request to a URL the server handed out, through the (simulated) nginx. */
const viaProxy = (url: string | URL, init: RawRequest = {}) =>
  rawRequest(server.baseUrl, stripped(url), withHeaders(init, HEADER));

describe('one process per environment, behind a proxy that strips /production', () => {
  it('answers prefix-stripped requests with X-Environment-Path as a shared process answers /production/…', async () => {
    const requests: { path: string; init: RawRequest }[] = [
      { path: '/mcp', init: INITIALIZE },
      { path: '/sse', init: {} },
      { path: '/.well-known/oauth-authorization-server', init: {} },
      { path: '/.well-known/openid-configuration', init: {} },
      { path: '/.well-known/oauth-protected-resource', init: {} },
      { path: '/jwks', init: {} }
    ];
    for (const { path, init } of requests) {
      const direct = await rawRequest(server.baseUrl, `${PREFIX}${path}`, init);
      const forwarded = await viaProxy(`${PUBLIC}${PREFIX}${path}`, init);
      expect(direct.status, `${path}: ${direct.body}`).toBe(path === '/mcp' || path === '/sse' ? 401 : 200);
      expect({
        status: forwarded.status,
        body: forwarded.body,
        challenge: forwarded.headers['www-authenticate']
      }).toEqual({ status: direct.status, body: direct.body, challenge: direct.headers['www-authenticate'] });
      // Without the header nothing is served at the root: the prefix is what routes.
      expect((await rawRequest(server.baseUrl, path, init)).status, path).toBe(404);
    }
    const resource = publicDocument(await viaProxy(`${PUBLIC}${PREFIX}/.well-known/oauth-protected-resource`), 'PRM');
    expect(resource).toMatchObject({
      resource: `${PUBLIC}/production/mcp`,
      authorization_servers: [`${PUBLIC}/production`]
    });
    const issuer = publicDocument(await viaProxy(`${PUBLIC}${PREFIX}/.well-known/oauth-authorization-server`), 'AS');
    expect(issuer['issuer']).toBe(`${PUBLIC}/production`);
    // nginx passes the root-level (path-inserted) metadata on unchanged; it is the same document.
    const rootLevel = await rawRequest(server.baseUrl, '/.well-known/oauth-protected-resource/production/mcp');
    expect(publicDocument(rootLevel, 'root PRM')).toEqual(resource);
    const rootIssuer = await rawRequest(server.baseUrl, '/.well-known/oauth-authorization-server/production');
    expect(publicDocument(rootIssuer, 'root AS')).toEqual(issuer);
  });

  it('signs in entirely through prefix-stripped paths, and the token lists the tables over /mcp', async () => {
    // Discovery, as a client does it from the 401 of the endpoint it was given.
    const challenge = await rawRequest(server.baseUrl, '/mcp', withHeaders(INITIALIZE, HEADER));
    expect(challenge.status).toBe(401);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge.headers['www-authenticate'] ?? '')?.[1];
    expect(metadataUrl).toBe(`${PUBLIC}/.well-known/oauth-protected-resource/production/mcp`);
    const resource = publicDocument(await rawRequest(server.baseUrl, new URL(metadataUrl!).pathname), 'PRM');
    const issuer = (resource['authorization_servers'] as string[])[0]!;
    expect(issuer).toBe(`${PUBLIC}/production`);
    const as = publicDocument(await viaProxy(`${issuer}/.well-known/oauth-authorization-server`), 'AS');
    expect(as['issuer']).toBe(issuer);

    const clientId = await registerClient(server.baseUrl, stripped(as['registration_endpoint'] as string), HEADER);
    const authorization = `${String(as['authorization_endpoint'])}?${authorizeQuery(clientId, `${PUBLIC}/production/mcp`)}`;
    const callback = await signInThroughProxy(authorization);
    expect(callback.searchParams.get('iss')).toBe(issuer);
    expect(callback.searchParams.get('state')).toBe('forwarded-state');

    const token = await viaProxy(as['token_endpoint'] as string, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
        redirect_uri: CALLBACK,
        client_id: clientId,
        code_verifier: PKCE.verifier,
        resource: `${PUBLIC}/production/mcp`
      }).toString()
    });
    expect(token.status, token.body).toBe(200);
    const accessToken = (JSON.parse(token.body) as { access_token: string }).access_token;
    expect(jwtClaims(accessToken)).toMatchObject({ iss: issuer, aud: `${PUBLIC}/production/mcp`, sub: 'alice' });

    const client = new Client({ name: 'forwarded-headers', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.baseUrl}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${accessToken}`, ...HEADER } }
      })
    );
    try {
      const result = await client.callTool({ name: 'list_tables', arguments: {} });
      expect(result.isError, JSON.stringify(result.content)).not.toBe(true);
      const tables = (result.structuredContent as { tables: { name: string }[] }).tables.map(table => table.name);
      expect(tables).toContain('invoices');
    } finally {
      await client.close();
    }
  });
});

/**
 * A person signing in through the proxy: every redirect and form action the server hands out is
 * under the public URL and `/production`, and is requested prefix-stripped with X-Environment-Path.
 * Returns the redirect to the client's callback.
 */
async function signInThroughProxy(authorizationUrl: string): Promise<URL> {
  const jar = new CookieJar();
  const pages: string[] = [];
  let current = new URL(authorizationUrl);
  let request: { method: string; body?: URLSearchParams } = { method: 'GET' };
  for (let step = 0; step < 20; step++) {
    const response = await fetch(`${server.baseUrl}${stripped(current)}`, {
      method: request.method,
      redirect: 'manual',
      headers: {
        ...HEADER,
        cookie: jar.header(),
        ...(request.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' })
      },
      ...(request.body === undefined ? {} : { body: request.body })
    });
    jar.store(response);
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location') ?? '', current);
      if (location.href.startsWith(`${CALLBACK}?`)) {
        expect(pages).toEqual(['sign-in', 'consent']);
        return location;
      }
      current = location;
      request = { method: 'GET' };
      continue;
    }
    const html = await response.text();
    expect(response.status, `${request.method} ${current.pathname}: ${html}`).toBe(200);
    const form = readForm(html);
    const body = new URLSearchParams(form.fields);
    pages.push(html.includes('name="password"') ? 'sign-in' : 'consent');
    if (html.includes('name="password"')) {
      body.set('username', ALICE.username);
      body.set('password', ALICE.password);
    } else {
      body.set('decision', 'allow');
    }
    current = new URL(form.action, current);
    request = { method: 'POST', body };
  }
  throw new Error('too many steps signing in');
}
