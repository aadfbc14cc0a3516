import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { auth, Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { POSTGRES, createPostgresDatabase } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { authorizationUrl, pkce, registerClient } from '../helpers/oauth-client.ts';
import { jwtClaims, signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * OAuth end to end, as an MCP client does it: the official client SDK's OAuth support against the
 * running server. Discovery from a 401, registration (dynamic, or a Client ID Metadata Document
 * served over https on loopback), sign-in and consent, the token, a tool call that runs as the
 * signed-in user, refresh with rotation, a replayed refresh token revoking the grant, revocation.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };

interface Setup {
  server: RunningServer;
  dir: string;
  cimdOrigin: string;
}

let setup: Setup;
let https: Server;
let dropDatabase: () => Promise<void>;

beforeAll(async () => {
  const dir = emptyDir('oauth-');
  const database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1)');
  dropDatabase = database.drop;
  // An https origin on loopback serving the Client ID Metadata Document, trusted by configuration (with its CA).
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1'
    ],
    { stdio: 'ignore' }
  );
  let documentUrl = '';
  https = createServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (req, res) => {
      if (req.url !== '/client.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          client_id: documentUrl,
          client_name: 'Metadata document client',
          redirect_uris: ['http://127.0.0.1:9/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none'
        })
      );
    }
  );
  await new Promise<void>(resolve => https.listen(0, '127.0.0.1', resolve));
  const address = https.address();
  const cimdOrigin = `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  documentUrl = `${cimdOrigin}/client.json`;
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      '  pg:',
      `    database: { engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${POSTGRES.user}, database: ${database.name}, tls: disable }`,
      '  other:',
      `    database: { engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${POSTGRES.user}, database: ${database.name}, tls: disable }`,
      'auth:',
      '  grantCheckMs: 0',
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: [pg, other] }`,
      '  clientIdMetadataDocuments:',
      `    trustedOrigins: ["${cimdOrigin}"]`,
      `    caFile: ${join(dir, 'cert.pem')}`,
      ''
    ].join('\n')
  );
  const server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
  setup = { server, dir, cimdOrigin };
}, 60_000);

afterAll(async () => {
  await setup.server.stop();
  https.close();
  await dropDatabase();
});

const mcpUrl = (environment = 'pg'): URL => new URL(`${setup.server.baseUrl}/${environment}/mcp`);

async function connected(provider: TestOAuthProvider, environment = 'pg'): Promise<Client> {
  const first = new StreamableHTTPClientTransport(mcpUrl(environment), { authProvider: provider });
  await expect(new Client({ name: 'oauth-e2e', version: '1' }).connect(first)).rejects.toBeInstanceOf(
    UnauthorizedError
  );
  const callback = provider.callback;
  if (callback === undefined) throw new Error('the client was never sent to sign in');
  expect(callback.searchParams.get('state')).toBe(provider.lastState);
  expect(callback.searchParams.get('iss')).toBe(`${setup.server.baseUrl}/${environment}`);
  await first.finishAuth(callback.searchParams);
  const client = new Client({ name: 'oauth-e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl(environment), { authProvider: provider }));
  return client;
}

async function subjectInSession(client: Client): Promise<unknown> {
  const result = await client.callTool({
    name: 'execute_sql',
    arguments: { query: "SELECT current_setting('sqlbridge.subject', true) AS subject" }
  });
  expect(result.isError, JSON.stringify(result.content)).not.toBe(true);
  return (result.structuredContent as { rows: unknown[][] }).rows[0]?.[0];
}

async function tokenRequest(environment: string, body: Record<string, string>): Promise<Response> {
  return fetch(`${setup.server.baseUrl}/${environment}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body)
  });
}

async function mcpStatus(token: string, environment = 'pg'): Promise<number> {
  const response = await fetch(mcpUrl(environment), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25'
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
  });
  await response.body?.cancel();
  return response.status;
}

describe('with dynamic client registration', () => {
  it('signs in, calls a tool as the signed-in user, and issues an audience-bound ES256 token', async () => {
    const provider = new TestOAuthProvider(url => signIn(url, ALICE));
    const client = await connected(provider);
    expect(await subjectInSession(client)).toBe('alice');
    const tokens = provider.tokens();
    expect(tokens?.refresh_token).toEqual(expect.any(String));
    const [header = ''] = (tokens?.access_token ?? '').split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const claims = jwtClaims(tokens?.access_token ?? '');
    expect(claims).toMatchObject({
      iss: `${setup.server.baseUrl}/pg`,
      aud: `${setup.server.baseUrl}/pg/mcp`,
      sub: 'alice',
      scope: 'sql:read'
    });
    expect(Number(claims['exp']) - Number(claims['iat'])).toBe(3600);
    await client.close();
  });

  it('rotates the refresh token, and a replayed one revokes the whole grant', async () => {
    const provider = new TestOAuthProvider(url => signIn(url, ALICE));
    const client = await connected(provider);
    const first = provider.tokens();
    const clientId = provider.clientInformation()?.client_id ?? '';
    expect(await auth(provider, { serverUrl: mcpUrl() })).toBe('AUTHORIZED');
    const second = provider.tokens();
    expect(second?.refresh_token).not.toBe(first?.refresh_token);
    expect(await mcpStatus(second?.access_token ?? '')).toBe(200);
    // The spent refresh token, presented again: refused, and everything from its grant stops working.
    const replay = await tokenRequest('pg', {
      grant_type: 'refresh_token',
      refresh_token: first?.refresh_token ?? '',
      client_id: clientId
    });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await mcpStatus(second?.access_token ?? '')).toBe(401);
    const renewal = await tokenRequest('pg', {
      grant_type: 'refresh_token',
      refresh_token: second?.refresh_token ?? '',
      client_id: clientId
    });
    expect(renewal.status).toBe(400);
    await client.close();
  });

  it('revokes a grant through the revocation endpoint', async () => {
    const provider = new TestOAuthProvider(url => signIn(url, ALICE));
    const client = await connected(provider);
    const tokens = provider.tokens();
    expect(await mcpStatus(tokens?.access_token ?? '')).toBe(200);
    const revoked = await fetch(`${setup.server.baseUrl}/pg/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: tokens?.refresh_token ?? '',
        token_type_hint: 'refresh_token',
        client_id: provider.clientInformation()?.client_id ?? ''
      })
    });
    expect(revoked.status).toBe(200);
    expect(await mcpStatus(tokens?.access_token ?? '')).toBe(401);
    await client.close();
  });

  it('refuses a token from one environment at another', async () => {
    const provider = new TestOAuthProvider(url => signIn(url, ALICE));
    const client = await connected(provider, 'other');
    const token = provider.tokens()?.access_token ?? '';
    expect(await mcpStatus(token, 'other')).toBe(200);
    expect(await mcpStatus(token, 'pg')).toBe(401);
    await client.close();
  });
});

describe('with a Client ID Metadata Document', () => {
  it('uses the https URL as client_id, signs in and calls a tool', async () => {
    const clientMetadataUrl = `${setup.cimdOrigin}/client.json`;
    const provider = new TestOAuthProvider(url => signIn(url, ALICE), { clientMetadataUrl });
    const client = await connected(provider);
    expect(jwtClaims(provider.tokens()?.access_token ?? '')['client_id']).toBe(clientMetadataUrl);
    expect(provider.clientInformation()?.client_id).toBe(clientMetadataUrl);
    expect(await subjectInSession(client)).toBe('alice');
    await client.close();
  });
});

describe('what the sign-in and consent pages say of the application', () => {
  const pagesOf = async (url: URL | string): Promise<string> => {
    const pages: string[] = [];
    await signIn(url, ALICE, { onPage: page => pages.push(page.html) });
    return pages.join('\n');
  };

  it('a registered client by the name it gave itself, without control or formatting characters', async () => {
    const name = '\u202eedualC\u202c Desktop\u200b\nfor you';
    const client = await registerClient(setup.server.baseUrl, 'pg', 'none', undefined, name);
    const pages = await pagesOf(authorizationUrl(setup.server.baseUrl, 'pg', client, pkce().challenge));
    expect(pages).toContain('<strong>edualC Desktop for you</strong> wants to use');
    expect(pages).toContain('edualC Desktop for you <span class="note">(the name it gave itself when it registered)');
    expect(pages).not.toMatch(/[\u200b\u202a-\u202e\u2066-\u2069]/);
  });

  it('a metadata-document client with the host its id is published at', async () => {
    const clientMetadataUrl = `${setup.cimdOrigin}/client.json`;
    const pages: string[] = [];
    const provider = new TestOAuthProvider(url => signIn(url, ALICE, { onPage: page => pages.push(page.html) }), {
      clientMetadataUrl
    });
    await (await connected(provider)).close();
    const host = new URL(setup.cimdOrigin).host;
    expect(pages.join('\n')).toContain(
      `<strong>Metadata document client</strong> (from <strong>${host}</strong>) wants to use`
    );
    expect(pages.join('\n')).toMatch(new RegExp(`<dt>Published by</dt>\\s*<dd>${host.replaceAll('.', '\\.')}</dd>`));
  });
});

describe('metadata documents', () => {
  const issuer = () => `${setup.server.baseUrl}/pg`;
  const origin = 'http://localhost:6274';

  it.each([
    ['RFC 8414, path inserted', '/.well-known/oauth-authorization-server/pg'],
    ['RFC 8414, under the issuer', '/pg/.well-known/oauth-authorization-server'],
    ['OpenID discovery, path inserted', '/.well-known/openid-configuration/pg'],
    ['OpenID discovery, under the issuer', '/pg/.well-known/openid-configuration']
  ])('serves the authorization server metadata (%s) to any origin', async (_name, path) => {
    const response = await fetch(`${setup.server.baseUrl}${path}`, { headers: { origin } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/localhost:6274)$/);
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: issuer(),
      authorization_endpoint: `${issuer()}/authorize`,
      token_endpoint: `${issuer()}/token`,
      registration_endpoint: `${issuer()}/register`,
      revocation_endpoint: `${issuer()}/revoke`,
      jwks_uri: `${issuer()}/jwks`,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
      response_types_supported: ['code']
    });
    expect(metadata['token_endpoint_auth_methods_supported']).toEqual(
      expect.arrayContaining(['none', 'client_secret_post', 'client_secret_basic'])
    );
    // The pg environment is read-only: writing is not even offered.
    expect([...(metadata['scopes_supported'] as string[])].sort()).toEqual(['offline_access', 'sql:read']);
    expect(metadata['grant_types_supported']).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    const preflight = await fetch(`${setup.server.baseUrl}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET' }
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/localhost:6274)$/);
  });

  it.each([
    ['path inserted', '/.well-known/oauth-protected-resource/pg/mcp'],
    ['under the environment', '/pg/.well-known/oauth-protected-resource']
  ])('serves the protected resource metadata (%s) naming the endpoint exactly', async (_name, path) => {
    const response = await fetch(`${setup.server.baseUrl}${path}`, { headers: { origin } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(await response.json()).toEqual({
      resource: `${setup.server.baseUrl}/pg/mcp`,
      authorization_servers: [issuer()],
      scopes_supported: ['sql:read'],
      bearer_methods_supported: ['header'],
      resource_name: 'sqlbridge — pg'
    });
    const preflight = await fetch(`${setup.server.baseUrl}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET' }
    });
    expect(preflight.status).toBe(204);
  });

  it('answers browser preflights for the token, registration and revocation endpoints', async () => {
    for (const endpoint of ['token', 'register', 'revoke']) {
      const preflight = await fetch(`${setup.server.baseUrl}/pg/${endpoint}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
      });
      expect(preflight.status, endpoint).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin'), endpoint).toMatch(/^(\*|http:\/\/localhost:6274)$/);
    }
  });

  it('lets an allowed browser origin reach the MCP endpoint and read its challenge (CORS)', async () => {
    const preflight = await fetch(mcpUrl(), {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, mcp-protocol-version'
      }
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const unauthorized = await fetch(mcpUrl(), { method: 'POST', headers: { origin } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(origin);
    expect(unauthorized.headers.get('access-control-expose-headers')).toContain('www-authenticate');
    const refused = await fetch(mcpUrl(), {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' }
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps the Origin check on the MCP endpoint and the sign-in pages', async () => {
    const evil = { origin: 'https://evil.example' };
    expect((await fetch(`${setup.server.baseUrl}/pg/mcp`, { method: 'POST', headers: evil })).status).toBe(403);
    expect((await fetch(`${setup.server.baseUrl}/pg/authorize?client_id=x`, { headers: evil })).status).toBe(403);
    expect(
      (await fetch(`${setup.server.baseUrl}/.well-known/oauth-protected-resource/pg/mcp`, { headers: evil })).status
    ).toBe(200);
  });
});
