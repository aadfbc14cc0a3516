import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { CookieJar, jwtClaims, readForm, signIn, type Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * The authorization and resource servers under attack, over real HTTP, behind a (simulated)
 * TLS-terminating proxy: the public URL is https://sqlbridge.test while requests reach the bind
 * address. Every attack is refused with the error the specifications name, and each group has a
 * control showing the same request succeeds when only the attacked detail is put right.
 */

const PUBLIC = 'https://sqlbridge.test';
const CALLBACK = 'http://127.0.0.1:9/callback';
const SECRET = 'a-confidential-client-secret-of-40-characters';

const USERS = {
  alice: { password: 'alice-correct-horse-battery', environments: ['ro', 'rw'], scopes: ['sql:read', 'sql:write'] },
  reader: { password: 'reader-correct-horse-battery', environments: ['ro', 'rw'], scopes: ['sql:read'] },
  bob: { password: 'bob-correct-horse-battery', environments: ['ro'], scopes: ['sql:read'] },
  carol: { password: 'carol-correct-horse-battery', environments: ['ro'], scopes: ['sql:read'] },
  dave: { password: 'dave-correct-horse-battery', environments: ['ro'], scopes: ['sql:read'], disabled: true },
  eve: { password: 'eve-correct-horse-battery', environments: ['ro'], scopes: ['sql:read'] },
  frank: { password: 'frank-correct-horse-battery', environments: ['ro'], scopes: ['sql:read'] }
} as const;
type UserName = keyof typeof USERS;
const login = (name: UserName): Credentials => ({ username: name, password: USERS[name].password });

let server: RunningServer;
let dir: string;
let configPath: string;
let trusted: Server;
let untrusted: Server;
let trustedOrigin: string;
let untrustedOrigin: string;
let untrustedHits = 0;

interface Changes {
  disabled?: readonly UserName[];
  /** Users whose scopes become just sql:read. */
  demoted?: readonly UserName[];
  trustProxy?: string;
  maxRegistrationsPerHour?: number;
}

async function configYaml(changes: Changes = {}): Promise<string> {
  const users: string[] = [];
  for (const [name, user] of Object.entries(USERS)) {
    const off = ('disabled' in user && user.disabled) || (changes.disabled ?? []).includes(name as UserName);
    const scopes = (changes.demoted ?? []).includes(name as UserName) ? ['sql:read'] : user.scopes;
    users.push(
      `    - { username: ${name}, passwordHash: "${await hashPassword(user.password)}", environments: [${user.environments.join(', ')}], scopes: [${scopes.join(', ')}], disabled: ${String(off)} }`
    );
  }
  return [
    'server:',
    `  publicUrl: ${PUBLIC}`,
    ...(changes.trustProxy === undefined ? [] : [`  trustProxy: ["${changes.trustProxy}"]`]),
    'environments:',
    '  ro:',
    `    database: { engine: sqlite, path: ${JSON.stringify(join(dir, 'ro.db'))} }`,
    '  rw:',
    '    readOnly: false',
    `    database: { engine: sqlite, path: ${JSON.stringify(join(dir, 'rw.db'))} }`,
    'auth:',
    '  grantCheckMs: 0',
    `  maxRegistrationsPerHour: ${String(changes.maxRegistrationsPerHour ?? 1000)}`,
    '  login: { maxFailuresPerUser: 3, maxFailuresPerAddress: 1000 }',
    '  users:',
    ...users,
    '  clients:',
    `    - { clientId: confidential-app, clientSecret: ${SECRET}, name: Confidential app, redirectUris: ["${CALLBACK}"] }`,
    '  clientIdMetadataDocuments:',
    `    trustedOrigins: ["${trustedOrigin}"]`,
    `    caFile: ${join(dir, 'cert.pem')}`,
    ''
  ].join('\n');
}

function metadataDocument(clientId: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    client_id: clientId,
    client_name: 'Metadata document client',
    redirect_uris: [CALLBACK],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...overrides
  });
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; origin: string }> {
  const https = createServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    handler
  );
  await new Promise<void>(resolve => https.listen(0, '127.0.0.1', resolve));
  const address = https.address();
  return {
    server: https,
    origin: `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  };
}

beforeAll(async () => {
  dir = emptyDir('oauth-attacks-');
  for (const name of ['ro.db', 'rw.db']) {
    const db = new DatabaseSync(join(dir, name));
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes VALUES (1, 'kept')");
    db.close();
  }
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']
    ],
    { stdio: 'ignore' }
  );
  // A trusted origin (as a development machine would configure) serving good and bad documents.
  ({ server: trusted, origin: trustedOrigin } = await listen((req, res) => {
    const url = `${trustedOrigin}${req.url ?? ''}`;
    const json = (body: string) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    switch (req.url) {
      case '/good.json':
        return json(metadataDocument(url));
      case '/redirect.json':
        return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      case '/big.json':
        return json(metadataDocument(url, { padding: 'x'.repeat(64 * 1024) }));
      case '/mismatch.json':
        return json(metadataDocument(`${trustedOrigin}/good.json`));
      case '/evil-redirect.json':
        return json(metadataDocument(url, { redirect_uris: ['https://evil.example/callback'] }));
      default:
        return res.writeHead(404).end();
    }
  }));
  // An https server on loopback that is not trusted: it must never be contacted.
  ({ server: untrusted, origin: untrustedOrigin } = await listen((req, res) => {
    untrustedHits++;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(metadataDocument(`${untrustedOrigin}${req.url ?? ''}`));
  }));
  configPath = join(dir, 'sqlbridge.yaml');
  writeFileSync(configPath, await configYaml());
  server = await startServer({ args: ['serve', '--config', configPath, '--data-dir', dir] });
}, 60_000);

afterAll(async () => {
  await server.stop();
  trusted.close();
  untrusted.close();
});

// ---------------------------------------------------------------------------------------------
// A client's side of the protocol, by hand.

const at = (path: string): string => `${server.baseUrl}${path}`;

/** A URL the server gave out (public origin) as reachable here. */
function local(url: string): URL {
  const parsed = new URL(url, server.baseUrl);
  return parsed.origin === PUBLIC ? new URL(parsed.pathname + parsed.search, server.baseUrl) : parsed;
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function register(environment: string, metadata: Record<string, unknown>): Promise<Response> {
  return fetch(at(`/${environment}/register`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Attack tests',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...metadata
    })
  });
}

async function publicClient(environment = 'ro', redirectUris = [CALLBACK]): Promise<string> {
  const response = await register(environment, { redirect_uris: redirectUris });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { client_id: string }).client_id;
}

interface AuthorizeOptions {
  environment?: string;
  clientId: string;
  challenge?: string;
  params?: Record<string, string | undefined>;
}

function authorizeUrl(options: AuthorizeOptions): URL {
  const environment = options.environment ?? 'ro';
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: options.clientId,
    redirect_uri: CALLBACK,
    code_challenge: options.challenge ?? pkce().challenge,
    code_challenge_method: 'S256',
    state: 'state-123',
    scope: 'sql:read offline_access',
    resource: `${PUBLIC}/${environment}/mcp`,
    ...options.params
  };
  const url = new URL(at(`/${environment}/authorize`));
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url;
}

async function getManual(url: URL | string, jar?: CookieJar): Promise<Response> {
  const response = await fetch(url, { redirect: 'manual', headers: jar === undefined ? {} : { cookie: jar.header() } });
  jar?.store(response);
  return response;
}

/** Signs in and consents; the redirect back to the client. */
async function authorize(user: UserName, options: AuthorizeOptions & { jar?: CookieJar }): Promise<URL> {
  return signIn(authorizeUrl(options), login(user), {
    publicOrigin: PUBLIC,
    ...(options.jar === undefined ? {} : { jar: options.jar })
  });
}

async function tokenRequest(
  environment: string,
  body: Record<string, string>,
  headers: Record<string, string> = {}
): Promise<Response> {
  return fetch(at(`/${environment}/token`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body)
  });
}

/** The code exchange (the token endpoint's authorization_code grant); a verifier of undefined is left out. */
async function exchange(
  environment: string,
  grant: { code: string; verifier: string | undefined; clientId: string; redirectUri?: string }
): Promise<Response> {
  return tokenRequest(environment, {
    grant_type: 'authorization_code',
    code: grant.code,
    redirect_uri: grant.redirectUri ?? CALLBACK,
    client_id: grant.clientId,
    ...(grant.verifier === undefined ? {} : { code_verifier: grant.verifier })
  });
}

async function refresh(environment: string, refreshToken: string, clientId: string): Promise<Response> {
  return tokenRequest(environment, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  scope: string;
}

/** The whole dance: a public client, sign-in, consent, code exchange. */
async function tokensFor(
  user: UserName,
  options: { environment?: string; clientId?: string; scope?: string } = {}
): Promise<Tokens & { clientId: string }> {
  const environment = options.environment ?? 'ro';
  const clientId = options.clientId ?? (await publicClient(environment));
  const { verifier, challenge } = pkce();
  const callback = await authorize(user, {
    environment,
    clientId,
    challenge,
    params: options.scope === undefined ? {} : { scope: options.scope }
  });
  const code = callback.searchParams.get('code');
  expect(code, callback.href).not.toBeNull();
  const response = await exchange(environment, { code: code ?? '', verifier, clientId });
  expect(response.status, await response.clone().text()).toBe(200);
  return { ...((await response.json()) as Tokens), clientId };
}

async function mcp(
  environment: string,
  headers: Record<string, string>,
  body: unknown = { jsonrpc: '2.0', id: 1, method: 'ping' },
  query = ''
): Promise<Response> {
  return fetch(at(`/${environment}/mcp${query}`), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      ...headers
    },
    body: JSON.stringify(body)
  });
}

async function mcpStatus(token: string, environment = 'ro'): Promise<number> {
  const response = await mcp(environment, { authorization: `Bearer ${token}` });
  await response.body?.cancel();
  return response.status;
}

/** Calls execute_write_sql in the rw environment with a token; the HTTP response of the call. */
async function writeAttempt(token: string): Promise<Response> {
  const seen: Response[] = [];
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    seen.push(response.clone());
    return response;
  };
  const client = new Client(
    { name: 'oauth-attacks', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } }
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(at('/rw/mcp')), {
      fetch: recording,
      requestInit: { headers: { authorization: `Bearer ${token}` } }
    })
  );
  const { tools } = await client.listTools();
  expect(tools.map(tool => tool.name)).toContain('execute_write_sql');
  await client
    .callTool({ name: 'execute_write_sql', arguments: { query: "INSERT INTO notes VALUES (2, 'written')" } })
    .catch(() => undefined);
  await client.close();
  const last = seen.at(-1);
  if (last === undefined) throw new Error('no response');
  return last;
}

function notesInRw(): unknown {
  const db = new DatabaseSync(join(dir, 'rw.db'), { readOnly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM notes').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function oauthError(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { error?: string }).error;
}

// ---------------------------------------------------------------------------------------------

describe('PKCE', () => {
  it('refuses an authorization request without a code challenge, telling the client at its redirect URI', async () => {
    const clientId = await publicClient();
    const response = await getManual(
      authorizeUrl({ clientId, params: { code_challenge: undefined, code_challenge_method: undefined } })
    );
    const location = local(response.headers.get('location') ?? '');
    expect(location.href.startsWith(CALLBACK)).toBe(true);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(location.searchParams.get('iss')).toBe(`${PUBLIC}/ro`);
    expect(location.searchParams.has('code')).toBe(false);
  });

  it.each([
    ['the plain method', { code_challenge_method: 'plain' }],
    ['a challenge without a method (plain by default)', { code_challenge_method: undefined }],
    ['an unknown method', { code_challenge_method: 'S512' }]
  ])('refuses %s', async (_name, params) => {
    const clientId = await publicClient();
    const response = await getManual(authorizeUrl({ clientId, params }));
    const location = new URL(response.headers.get('location') ?? '', server.baseUrl);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.has('code')).toBe(false);
  });

  async function codeFor(clientId: string, challenge: string): Promise<string> {
    const callback = await authorize('bob', { clientId, challenge });
    return callback.searchParams.get('code') ?? '';
  }

  it.each([
    ['a wrong verifier', (_verifier: string) => pkce().verifier],
    ['no verifier', (_verifier: string) => undefined],
    [
      'the challenge sent as the verifier',
      (verifier: string) => createHash('sha256').update(verifier).digest('base64url')
    ]
  ])(
    'refuses the code with %s, and the code is spent: the right verifier cannot use it afterwards',
    async (_name, wrong) => {
      const clientId = await publicClient();
      const { verifier, challenge } = pkce();
      const code = await codeFor(clientId, challenge);
      const response = await exchange('ro', { code, verifier: wrong(verifier), clientId });
      expect(response.status).toBe(400);
      expect(['invalid_grant', 'invalid_request']).toContain(await oauthError(response));
      const retry = await exchange('ro', { code, verifier, clientId });
      expect(retry.status).toBe(400);
      expect(await oauthError(retry)).toBe('invalid_grant');
    }
  );

  it('control: the right verifier gets tokens', async () => {
    const clientId = await publicClient();
    const { verifier, challenge } = pkce();
    const code = await codeFor(clientId, challenge);
    const response = await exchange('ro', { code, verifier, clientId });
    expect(response.status).toBe(200);
  });
});

describe('authorization codes', () => {
  async function freshCode(clientId: string): Promise<{ code: string; verifier: string }> {
    const { verifier, challenge } = pkce();
    const callback = await authorize('bob', { clientId, challenge });
    return { code: callback.searchParams.get('code') ?? '', verifier };
  }

  it('refuses a replayed code and revokes the tokens its first use issued', async () => {
    const clientId = await publicClient();
    const { code, verifier } = await freshCode(clientId);
    const first = await exchange('ro', { code, verifier, clientId });
    expect(first.status).toBe(200);
    const tokens = (await first.json()) as Tokens;
    expect(await mcpStatus(tokens.access_token)).toBe(200);
    const replay = await exchange('ro', { code, verifier, clientId });
    expect(replay.status).toBe(400);
    expect(await oauthError(replay)).toBe('invalid_grant');
    expect(await mcpStatus(tokens.access_token)).toBe(401);
    const refreshed = await refresh('ro', tokens.refresh_token, clientId);
    expect(await oauthError(refreshed)).toBe('invalid_grant');
  });

  it('refuses a code presented by another client, and the code is spent', async () => {
    const owner = await publicClient();
    const thief = await publicClient();
    const { code, verifier } = await freshCode(owner);
    const response = await exchange('ro', { code, verifier, clientId: thief });
    expect(response.status).toBe(400);
    expect(await oauthError(response)).toBe('invalid_grant');
    expect((await exchange('ro', { code, verifier, clientId: owner })).status).toBe(400);
  });

  it('refuses a code with a redirect URI other than the one it was issued for', async () => {
    const other = 'http://127.0.0.1:9/other';
    const clientId = await publicClient('ro', [CALLBACK, other]);
    const { code, verifier } = await freshCode(clientId);
    const response = await exchange('ro', { code, verifier, clientId, redirectUri: other });
    expect(response.status).toBe(400);
    expect(await oauthError(response)).toBe('invalid_grant');
    expect((await exchange('ro', { code, verifier, clientId })).status).toBe(400);
  });

  it("refuses a code at another environment's token endpoint", async () => {
    const clientId = await publicClient();
    const { code, verifier } = await freshCode(clientId);
    const response = await exchange('rw', { code, verifier, clientId });
    expect(response.status).toBe(401);
    expect(await oauthError(response)).toBe('invalid_client');
  });

  it('refuses the implicit flow, without any token in the redirect', async () => {
    const clientId = await publicClient();
    const response = await getManual(authorizeUrl({ clientId, params: { response_type: 'token' } }));
    const location = new URL(response.headers.get('location') ?? '', server.baseUrl);
    const fragment = new URLSearchParams(location.hash.slice(1));
    expect(fragment.get('error')).toBe('unsupported_response_type');
    expect(fragment.has('access_token')).toBe(false);
    expect(location.searchParams.has('code')).toBe(false);
  });
});

describe('redirect URIs', () => {
  async function refusedWithoutRedirect(url: URL): Promise<string> {
    const response = await getManual(url);
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    return response.text();
  }

  it.each([
    ['an unregistered URI on the same host', 'http://127.0.0.1:9/elsewhere'],
    ['an extra path segment', `${CALLBACK}/extra`],
    ['an extra query', `${CALLBACK}?next=https://evil.example`],
    ['another port', 'http://127.0.0.1:10/callback'],
    ['another host', 'https://evil.example/callback'],
    ['a javascript: URI', 'javascript:alert(document.cookie)'],
    ['a data: URI', 'data:text/html,<script>alert(1)</script>'],
    ['a trailing slash', `${CALLBACK}/`],
    ['upper-case host spelling', 'http://LOCALHOST:9/callback']
  ])('refuses %s with an error page and no redirect', async (_name, redirectUri) => {
    const clientId = await publicClient();
    const html = await refusedWithoutRedirect(authorizeUrl({ clientId, params: { redirect_uri: redirectUri } }));
    expect(html).toContain('has not registered');
    expect(html).not.toContain('evil.example');
    expect(html).not.toContain('<script>alert');
  });

  it('sends no one to an attacker through the error paths of an unknown client', async () => {
    const html = await refusedWithoutRedirect(
      authorizeUrl({ clientId: 'no-such-client', params: { redirect_uri: 'https://evil.example/callback' } })
    );
    expect(html).not.toContain('evil.example');
  });

  it('sends no one to an unregistered URI when the request is also broken in other ways', async () => {
    const clientId = await publicClient();
    await refusedWithoutRedirect(
      authorizeUrl({
        clientId,
        params: {
          redirect_uri: 'https://evil.example/callback',
          response_type: 'token',
          code_challenge: undefined,
          scope: 'nonsense'
        }
      })
    );
  });

  it('refuses a request without redirect_uri from a client that registered several', async () => {
    const clientId = await publicClient('ro', [CALLBACK, 'http://127.0.0.1:9/other']);
    await refusedWithoutRedirect(authorizeUrl({ clientId, params: { redirect_uri: undefined } }));
  });
});

describe('the token endpoint and clients', () => {
  it('answers an unknown client with 401 invalid_client (a client then registers again)', async () => {
    const response = await exchange('ro', { code: 'x', verifier: pkce().verifier, clientId: 'never-registered' });
    expect(response.status).toBe(401);
    expect(await oauthError(response)).toBe('invalid_client');
  });

  const basic = (id: string, secret: string) => ({
    authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`
  });
  const grant = { grant_type: 'authorization_code', code: 'x', code_verifier: pkce().verifier, redirect_uri: CALLBACK };

  it.each([
    ['a wrong secret (basic)', {}, basic('confidential-app', `${SECRET}x`)],
    ['a wrong secret (post)', { client_id: 'confidential-app', client_secret: 'wrong' }, {}],
    ['no secret at all', { client_id: 'confidential-app' }, {}]
  ])('refuses a confidential client with %s', async (_name, body, headers) => {
    const response = await tokenRequest('ro', { ...grant, ...body }, headers);
    expect(response.status).toBe(401);
    expect(await oauthError(response)).toBe('invalid_client');
  });

  it('refuses an empty secret as a malformed request', async () => {
    const response = await tokenRequest('ro', grant, basic('confidential-app', ''));
    expect(response.status).toBe(400);
    expect(await oauthError(response)).toBe('invalid_request');
  });

  it('control: the confidential client with its secret, in the header or the body, gets past client authentication', async () => {
    const inHeader = await tokenRequest('ro', grant, basic('confidential-app', SECRET));
    expect(inHeader.status).toBe(400);
    expect(await oauthError(inHeader)).toBe('invalid_grant');
    const inBody = await tokenRequest('ro', { ...grant, client_id: 'confidential-app', client_secret: SECRET });
    expect(await oauthError(inBody)).toBe('invalid_grant');
  });
});

describe('access tokens at the MCP endpoint', () => {
  let real: Tokens & { clientId: string };
  let claims: JWTPayload;
  let signingKey: JWK;

  beforeAll(async () => {
    real = await tokensFor('bob');
    claims = jwtClaims(real.access_token);
    const stored = JSON.parse(readFileSync(join(dir, 'auth', 'ro.keys.json'), 'utf8')) as { signing: JWK[] };
    signingKey = stored.signing[0] ?? {};
  });

  /** A token signed with the environment's real key (as only someone holding it could). */
  async function signed(changes: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
    const payload = Object.fromEntries(
      Object.entries({ ...claims, ...changes }).filter(([, value]) => value !== undefined)
    ) as JWTPayload;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: String(signingKey.kid), ...header })
      .sign(await importJWK(signingKey, 'ES256'));
  }

  it('control: the issued token works, and so does the same claims set signed with the real key', async () => {
    expect(await mcpStatus(real.access_token)).toBe(200);
    expect(await mcpStatus(await signed({}))).toBe(200);
  });

  it('answers a missing token with 401 and a challenge naming the resource metadata and scope', async () => {
    const response = await mcp('ro', {});
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(`resource_metadata="${PUBLIC}/.well-known/oauth-protected-resource/ro/mcp"`);
    expect(challenge).toContain('scope="sql:read"');
  });

  const now = () => Math.floor(Date.now() / 1000);
  const forged: [string, () => Promise<string>][] = [
    ['expired', () => signed({ iat: now() - 7200, exp: now() - 60 })],
    ['issued in the future', () => signed({ iat: now() + 3600, nbf: now() + 3600, exp: now() + 7200 })],
    ['for another issuer', () => signed({ iss: `${PUBLIC}/rw` })],
    ['for another audience', () => signed({ aud: `${PUBLIC}/rw/mcp` })],
    ['for no audience', () => signed({ aud: undefined })],
    ['without a grant id', () => signed({ gid: undefined })],
    ['naming a grant that does not exist', () => signed({ gid: 'no-such-grant' })],
    ['for a user who does not exist', () => signed({ sub: 'mallory' })],
    ['for a disabled user', () => signed({ sub: 'dave' })],
    [
      'for a user not allowed in the environment',
      async () => (await tokensFor('alice', { environment: 'rw' })).access_token
    ],
    ['that is not an access token (typ JWT)', () => signed({}, { typ: 'JWT' })]
  ];
  it.each(forged)('refuses a token %s', async (_name, make) => {
    expect(await mcpStatus(await make())).toBe(401);
  });

  it('refuses a tampered token (claims changed, signature kept)', async () => {
    const [header, , signature] = real.access_token.split('.');
    const payload = Buffer.from(JSON.stringify({ ...claims, sub: 'alice', scope: 'sql:read sql:write' })).toString(
      'base64url'
    );
    expect(await mcpStatus(`${header}.${payload}.${signature}`)).toBe(401);
  });

  it('refuses an unsigned token (alg none)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    expect(await mcpStatus(`${header}.${payload}.`)).toBe(401);
  });

  it('refuses a token signed with another key claiming the real key id', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: String(signingKey.kid) })
      .sign(privateKey);
    expect(await mcpStatus(token)).toBe(401);
  });

  it('refuses a token MACed with the public key (HS256 key confusion)', async () => {
    const { d: _private, ...publicJwk } = signingKey;
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(secret);
    expect(await mcpStatus(token)).toBe(401);
  });

  it('refuses a token with an embedded key of its own (jwk header)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk: await exportJWK(publicKey) })
      .sign(privateKey);
    expect(await mcpStatus(token)).toBe(401);
  });

  it("refuses a token from another environment's authorization server", async () => {
    const other = await tokensFor('reader', { environment: 'rw' });
    expect(await mcpStatus(other.access_token, 'rw')).toBe(200);
    expect(await mcpStatus(other.access_token, 'ro')).toBe(401);
  });

  it.each([
    ['in the query string', false],
    ['in the query string as well as the header', true]
  ])('refuses a token %s with 400', async (_name, inHeader) => {
    const query = `?access_token=${encodeURIComponent(real.access_token)}`;
    const headers: Record<string, string> = inHeader ? { authorization: `Bearer ${real.access_token}` } : {};
    const response = await mcp('ro', headers, undefined, query);
    expect(response.status).toBe(400);
    expect(await oauthError(response)).toBe('invalid_request');
  });

  it('refuses a token sent in a form body instead of the header', async () => {
    const response = await fetch(at('/ro/mcp'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json, text/event-stream' },
      body: new URLSearchParams({ access_token: real.access_token })
    });
    expect(response.status).toBe(401);
  });

  it.each([
    ['garbage', 'Bearer not-a-jwt'],
    ['another scheme', 'Basic Ym9iOmJvYi1jb3JyZWN0LWhvcnNlLWJhdHRlcnk='],
    ['an empty bearer', 'Bearer ']
  ])('refuses an Authorization header with %s', async (_name, header) => {
    const response = await mcp('ro', { authorization: header });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });
});

describe('refresh tokens', () => {
  it('refuses a spent refresh token and revokes the grant', async () => {
    const tokens = await tokensFor('bob');
    const rotated = await refresh('ro', tokens.refresh_token, tokens.clientId);
    expect(rotated.status).toBe(200);
    const second = (await rotated.json()) as Tokens;
    expect(second.refresh_token).not.toBe(tokens.refresh_token);
    const replay = await refresh('ro', tokens.refresh_token, tokens.clientId);
    expect(replay.status).toBe(400);
    expect(await oauthError(replay)).toBe('invalid_grant');
    expect(await mcpStatus(second.access_token)).toBe(401);
    const after = await refresh('ro', second.refresh_token, tokens.clientId);
    expect(await oauthError(after)).toBe('invalid_grant');
  });

  it('refuses a refresh token presented by another client', async () => {
    const tokens = await tokensFor('bob');
    const thief = await publicClient();
    const response = await refresh('ro', tokens.refresh_token, thief);
    expect(response.status).toBe(400);
    expect(await oauthError(response)).toBe('invalid_grant');
  });

  it("refuses a refresh token at another environment's token endpoint", async () => {
    const tokens = await tokensFor('alice', { environment: 'rw' });
    const response = await refresh('ro', tokens.refresh_token, tokens.clientId);
    expect(response.status).toBe(401);
    expect(await oauthError(response)).toBe('invalid_client');
  });

  it('revocation by another client does nothing; by the owner, ends the grant', async () => {
    const tokens = await tokensFor('bob');
    const thief = await publicClient();
    const revoke = (clientId: string) =>
      fetch(at('/ro/revoke'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token: tokens.refresh_token,
          token_type_hint: 'refresh_token',
          client_id: clientId
        })
      });
    expect((await revoke(thief)).status).toBe(200);
    expect(await mcpStatus(tokens.access_token)).toBe(200);
    expect((await revoke(tokens.clientId)).status).toBe(200);
    expect(await mcpStatus(tokens.access_token)).toBe(401);
  });
});

describe('sign-in and consent forms', () => {
  interface Started {
    jar: CookieJar;
    page: string;
    pageUrl: URL;
    headers: Headers;
  }

  /** Starts an authorization request and lands on the sign-in page. */
  async function start(clientId: string, jar = new CookieJar()): Promise<Started> {
    const first = await getManual(authorizeUrl({ clientId }), jar);
    expect(first.status).toBe(303);
    const pageUrl = local(first.headers.get('location') ?? '');
    const page = await getManual(pageUrl, jar);
    expect(page.status).toBe(200);
    return { jar, page: await page.text(), pageUrl, headers: page.headers };
  }

  async function post(url: URL | string, fields: Record<string, string>, jar?: CookieJar): Promise<Response> {
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(jar === undefined ? {} : { cookie: jar.header() })
      },
      body: new URLSearchParams(fields)
    });
    jar?.store(response);
    return response;
  }

  /** Signs in on a started request and follows on to the consent page. */
  async function toConsent(started: Started, user: UserName): Promise<{ action: URL; fields: Record<string, string> }> {
    const form = readForm(started.page);
    let response = await post(local(form.action), { ...form.fields, ...login(user) }, started.jar);
    for (let i = 0; i < 5 && response.status === 303; i++) {
      response = await getManual(local(response.headers.get('location') ?? ''), started.jar);
    }
    const html = await response.text();
    expect(html).toContain('name="decision"');
    const consent = readForm(html);
    return { action: local(consent.action), fields: consent.fields };
  }

  it('refuses a sign-in without the CSRF token', async () => {
    const started = await start(await publicClient());
    const form = readForm(started.page);
    const response = await post(local(form.action), { ...login('bob') }, started.jar);
    expect(response.status).toBe(403);
    expect(response.headers.get('location')).toBeNull();
  });

  it("refuses a sign-in carrying another request's CSRF token", async () => {
    const clientId = await publicClient();
    const victim = await start(clientId);
    const attacker = await start(clientId);
    const form = readForm(victim.page);
    const response = await post(
      local(form.action),
      { csrf: readForm(attacker.page).fields['csrf'] ?? '', ...login('bob') },
      victim.jar
    );
    expect(response.status).toBe(403);
  });

  it('refuses a sign-in posted without the interaction cookie (another browser)', async () => {
    const started = await start(await publicClient());
    const form = readForm(started.page);
    const response = await post(local(form.action), { ...form.fields, ...login('bob') });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['an opaque origin (sandboxed frame, data: page)', 'null']
  ])('refuses a sign-in form posted from %s, though token and cookies are right', async (_name, origin) => {
    const started = await start(await publicClient());
    const form = readForm(started.page);
    const response = await fetch(local(form.action), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: started.jar.header(), origin },
      body: new URLSearchParams({ ...form.fields, ...login('bob') })
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('location')).toBeNull();
  });

  it('refuses consent without the CSRF token, and issues no code', async () => {
    const started = await start(await publicClient());
    const consent = await toConsent(started, 'bob');
    const response = await post(consent.action, { decision: 'allow' }, started.jar);
    expect(response.status).toBe(403);
    expect(response.headers.get('location')).toBeNull();
  });

  it('refuses consent with a forged CSRF token', async () => {
    const started = await start(await publicClient());
    const consent = await toConsent(started, 'bob');
    const response = await post(
      consent.action,
      { csrf: randomBytes(32).toString('base64url'), decision: 'allow' },
      started.jar
    );
    expect(response.status).toBe(403);
  });

  it('refuses consent posted from another browser (no cookies), though the CSRF token is right', async () => {
    const started = await start(await publicClient());
    const consent = await toConsent(started, 'bob');
    const response = await post(consent.action, { ...consent.fields, decision: 'allow' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('control: consent with its token and cookies sends the code to the client', async () => {
    const started = await start(await publicClient());
    const consent = await toConsent(started, 'bob');
    let response = await post(consent.action, { ...consent.fields, decision: 'allow' }, started.jar);
    expect(response.status).toBe(303);
    response = await getManual(local(response.headers.get('location') ?? ''), started.jar);
    const callback = new URL(response.headers.get('location') ?? '');
    expect(callback.href.startsWith(CALLBACK)).toBe(true);
    expect(callback.searchParams.get('code')).not.toBeNull();
  });

  it('forbids framing of every page: sign-in, consent, errors, metadata', async () => {
    const started = await start(await publicClient());
    const consent = await getManual(authorizeUrl({ clientId: 'unknown-client' }));
    const pages: [string, Headers][] = [
      ['sign-in', started.headers],
      ['error', consent.headers],
      ['metadata', (await fetch(at('/.well-known/oauth-authorization-server/ro'))).headers]
    ];
    const failed = await post(
      local(readForm(started.page).action),
      { ...readForm(started.page).fields, username: 'bob', password: 'wrong' },
      started.jar
    );
    pages.push(['failed sign-in', failed.headers]);
    const second = await start(await publicClient());
    const toConsentPage = await toConsent(second, 'bob');
    const consentPage = await getManual(local(toConsentPage.action.pathname.replace(/\/confirm$/, '')), second.jar);
    pages.push(['consent', consentPage.headers]);
    for (const [name, headers] of pages) {
      expect(headers.get('content-security-policy'), name).toMatch(/frame-ancestors 'none'/);
      expect(headers.get('x-frame-options'), name).toBe('DENY');
    }
    expect(started.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(started.headers.get('content-security-policy')).not.toContain('unsafe-inline');
  });

  it('sets __Host- session cookies that are Secure, HttpOnly and SameSite=Lax', async () => {
    const jar = new CookieJar();
    const callback = await authorize('bob', { clientId: await publicClient(), jar });
    expect(callback.searchParams.get('code')).not.toBeNull();
    expect(jar.received.length).toBeGreaterThan(0);
    for (const line of jar.received) {
      expect(line, line).toMatch(/;\s*secure/i);
      expect(line, line).toMatch(/;\s*httponly/i);
      expect(line, line).toMatch(/;\s*samesite=lax/i);
      expect(line, line).toMatch(/^__(Host|Secure)-/);
    }
    const session = jar.received.filter(line => line.startsWith('__Host-sqlbridge-ro-session='));
    expect(session.length).toBeGreaterThan(0);
    for (const line of session) {
      expect(line).toMatch(/;\s*path=\/(;|$)/i);
      expect(line).not.toMatch(/;\s*domain=/i);
    }
  });
});

describe('sign-in', () => {
  async function attempt(user: string, password: string, environment = 'ro'): Promise<Response> {
    const clientId = await publicClient(environment);
    const jar = new CookieJar();
    const first = await getManual(authorizeUrl({ environment, clientId }), jar);
    const page = await getManual(local(first.headers.get('location') ?? ''), jar);
    const form = readForm(await page.text());
    return fetch(local(form.action), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
      body: new URLSearchParams({ ...form.fields, username: user, password })
    });
  }

  const alertOf = (html: string): string | undefined => /role="alert"[^>]*>([^<]*)</.exec(html)?.[1];

  it.each([
    ['a wrong password', 'bob', 'wrong-password'],
    ['an unknown user', 'nobody', 'whatever-password'],
    ['a disabled user with the right password', 'dave', USERS.dave.password],
    ['a user not allowed in this environment', 'bob', USERS.bob.password, 'rw']
  ])('refuses %s with the same generic message', async (_name, user, password, environment = 'ro') => {
    const response = await attempt(user, password, environment);
    expect(response.status).toBe(401);
    expect(response.headers.get('location')).toBeNull();
    expect(alertOf(await response.text())).toBe('Wrong user name or password.');
  });

  it('throttles repeated failures for a user, even with the right password, and says when to retry', async () => {
    for (let i = 0; i < 3; i++) expect((await attempt('eve', 'wrong-password')).status).toBe(401);
    const throttled = await attempt('eve', USERS.eve.password);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(alertOf(await throttled.text())).toMatch(/Too many failed sign-ins/);
    // Another user from the same address is not locked out by eve's failures.
    expect((await attempt('bob', USERS.bob.password)).status).toBe(303);
  });

  it('counts concurrent attempts: a burst of guesses gets no more tries than the limit', async () => {
    const clientId = await publicClient();
    const jar = new CookieJar();
    const first = await getManual(authorizeUrl({ clientId }), jar);
    const page = await getManual(local(first.headers.get('location') ?? ''), jar);
    const form = readForm(await page.text());
    const guess = (password: string) =>
      fetch(local(form.action), {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
        body: new URLSearchParams({ ...form.fields, username: 'frank', password })
      });
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => guess(`guess-${String(i)}`)));
    const statuses = burst.map(response => response.status);
    expect(statuses.filter(status => status === 401)).toHaveLength(3);
    expect(statuses.filter(status => status === 429)).toHaveLength(9);
    expect((await guess(USERS.frank.password)).status).toBe(429);
  });

  it('refuses openid (no ID tokens here)', async () => {
    const clientId = await publicClient();
    const response = await getManual(authorizeUrl({ clientId, params: { scope: 'openid sql:read' } }));
    const location = new URL(response.headers.get('location') ?? '', server.baseUrl);
    expect(location.searchParams.get('error')).toBe('invalid_scope');
  });
});

describe('scopes', () => {
  it('never grants sql:write in a read-only environment, nor offers it on the consent page', async () => {
    const clientId = await publicClient();
    const { verifier, challenge } = pkce();
    const pages: string[] = [];
    const callback = await signIn(
      authorizeUrl({ clientId, challenge, params: { scope: 'sql:read sql:write offline_access' } }),
      login('alice'),
      { publicOrigin: PUBLIC, onPage: page => pages.push(page.html) }
    );
    const consent = pages.find(html => html.includes('name="decision"')) ?? '';
    expect(consent).toContain('(sql:read)');
    expect(consent).not.toContain('sql:write');
    const response = await exchange('ro', { code: callback.searchParams.get('code') ?? '', verifier, clientId });
    const tokens = (await response.json()) as Tokens;
    expect(tokens.scope.split(' ')).not.toContain('sql:write');
    expect(String(jwtClaims(tokens.access_token)['scope'])).toBe('sql:read');
  });

  it('grants sql:write only to a user allowed it', async () => {
    const reader = await tokensFor('reader', { environment: 'rw', scope: 'sql:read sql:write offline_access' });
    expect(String(jwtClaims(reader.access_token)['scope']).split(' ')).not.toContain('sql:write');
    const alice = await tokensFor('alice', { environment: 'rw', scope: 'sql:read sql:write offline_access' });
    expect(String(jwtClaims(alice.access_token)['scope']).split(' ')).toContain('sql:write');
  });

  it('answers execute_write_sql without sql:write with 403 insufficient_scope naming the scope', async () => {
    const { access_token: token } = await tokensFor('reader', { environment: 'rw' });
    const refusal = await writeAttempt(token);
    expect(refusal.status).toBe(403);
    const challenge = refusal.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toMatch(/scope="[^"]*sql:write/);
    expect(notesInRw()).toBe(1);
  });

  it('refuses a resource indicator naming another environment', async () => {
    const clientId = await publicClient();
    const response = await getManual(authorizeUrl({ clientId, params: { resource: `${PUBLIC}/rw/mcp` } }));
    const location = new URL(response.headers.get('location') ?? '', server.baseUrl);
    expect(location.searchParams.get('error')).toBe('invalid_target');
  });
});

describe('client registration', () => {
  it.each([
    ['a host not on the allowed list', ['https://evil.example/callback']],
    ['plain http beyond loopback', ['http://claude.ai/api/mcp/auth_callback']],
    ['a near miss of an allowed URL', ['https://claude.ai/api/mcp/auth_callback/../../evil']],
    ['a javascript: URI', ['javascript:alert(1)']],
    ['a fragment', [`${CALLBACK}#fragment`]],
    ['credentials in the URI', ['http://user:pass@127.0.0.1:9/callback']],
    ['one good and one bad URI', [CALLBACK, 'https://evil.example/callback']],
    ['more than ten URIs', Array.from({ length: 11 }, (_, i) => `http://127.0.0.1:${String(9000 + i)}/callback`)],
    ['a URI longer than 2000 characters', [`${CALLBACK}?${'a'.repeat(2000)}`]],
    ['no redirect URI', []]
  ])('refuses %s with invalid_redirect_uri', async (_name, uris) => {
    const response = await register('ro', { redirect_uris: uris });
    expect(response.status).toBe(400);
    expect(await oauthError(response)).toMatch(/^invalid_(redirect_uri|client_metadata)$/);
  });

  it.each([
    ['a jwks_uri (a private address to fetch)', { jwks_uri: 'https://10.0.0.1/jwks' }],
    ['a sector_identifier_uri', { sector_identifier_uri: 'https://10.0.0.1/sector' }]
  ])('refuses %s, which it would only ever fetch', async (_name, extra) => {
    const response = await register('ro', { redirect_uris: [CALLBACK], ...extra });
    expect(response.status).toBe(400);
    expect(await oauthError(response)).toBe('invalid_client_metadata');
  });

  it('issues no registration access token (registration management is off), and keeps no request_uris', async () => {
    const response = await register('ro', { redirect_uris: [CALLBACK], request_uris: ['https://10.0.0.1/request'] });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body['request_uris']).toBeUndefined();
    expect(body['registration_access_token']).toBeUndefined();
    expect(body['registration_client_uri']).toBeUndefined();
  });

  it("control: Claude's callback registers", async () => {
    const response = await register('ro', { redirect_uris: ['https://claude.ai/api/mcp/auth_callback'] });
    expect(response.status).toBe(201);
  });
});

describe('Client ID Metadata Documents', () => {
  async function refused(clientId: string): Promise<void> {
    const response = await getManual(authorizeUrl({ clientId }));
    expect(response.status, clientId).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  }

  it('refuses a document on a loopback address, without connecting to it', async () => {
    const before = untrustedHits;
    await refused(`${untrustedOrigin}/client.json`);
    expect(untrustedHits).toBe(before);
  });

  it.each([
    ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data/client.json'],
    ['a private address', 'https://10.0.0.1/client.json'],
    ['an IPv6 loopback address', 'https://[::1]/client.json'],
    ['a name resolving to loopback', 'https://localhost/client.json'],
    ['plain http', 'http://example.com/client.json'],
    ['a non-default port', 'https://example.com:8443/client.json']
  ])('refuses a document at %s', async (_name, clientId) => {
    await refused(clientId);
  });

  it.each([
    ['redirects (to the cloud metadata address)', '/redirect.json'],
    ['is larger than the size limit', '/big.json'],
    ['names another client_id', '/mismatch.json'],
    ['redirects users to a host not allowed', '/evil-redirect.json']
  ])('refuses a document that %s', async (_name, path) => {
    await refused(`${trustedOrigin}${path}`);
  });

  it('control: a well-formed document on the trusted origin starts a sign-in', async () => {
    const response = await getManual(authorizeUrl({ clientId: `${trustedOrigin}/good.json` }));
    expect(response.status).toBe(303);
    expect(local(response.headers.get('location') ?? '').pathname).toMatch(/^\/ro\/interaction\//);
  });
});

describe('after a restart', () => {
  async function restart(changes: Changes): Promise<void> {
    await server.stop();
    writeFileSync(configPath, await configYaml(changes));
    server = await startServer({ args: ['serve', '--config', configPath, '--data-dir', dir] });
  }

  it("ends a disabled user's tokens and keeps everyone else's", async () => {
    const carol = await tokensFor('carol');
    const bob = await tokensFor('bob');
    expect(await mcpStatus(carol.access_token)).toBe(200);
    await restart({ disabled: ['carol'] });
    expect(await mcpStatus(carol.access_token)).toBe(401);
    const refreshed = await refresh('ro', carol.refresh_token, carol.clientId);
    expect(refreshed.status).toBe(400);
    expect(await oauthError(refreshed)).toBe('invalid_grant');
    expect(await mcpStatus(bob.access_token)).toBe(200);
    const renewed = await refresh('ro', bob.refresh_token, bob.clientId);
    expect(renewed.status).toBe(200);
  }, 60_000);

  it('stops writing for a user whose sql:write was taken away, in old tokens, refreshed ones and new consent', async () => {
    const alice = await tokensFor('alice', { environment: 'rw', scope: 'sql:read sql:write offline_access' });
    expect(String(jwtClaims(alice.access_token)['scope']).split(' ')).toContain('sql:write');
    await restart({ demoted: ['alice'] });
    expect((await writeAttempt(alice.access_token)).status).toBe(403);
    const refreshed = (await (await refresh('rw', alice.refresh_token, alice.clientId)).json()) as Tokens;
    expect((await writeAttempt(refreshed.access_token)).status).toBe(403);
    // Remembered consent held sql:write: it is not reused, the user is asked again and gets reading.
    const pages: string[] = [];
    const { verifier, challenge } = pkce();
    const callback = await signIn(
      authorizeUrl({ environment: 'rw', clientId: alice.clientId, challenge, params: { scope: 'sql:read sql:write' } }),
      login('alice'),
      { publicOrigin: PUBLIC, onPage: page => pages.push(page.html) }
    );
    const consent = pages.find(html => html.includes('name="decision"')) ?? '';
    expect(consent).toContain('(sql:read)');
    expect(consent).not.toContain('sql:write');
    const fresh = (await (
      await exchange('rw', { code: callback.searchParams.get('code') ?? '', verifier, clientId: alice.clientId })
    ).json()) as Tokens;
    expect(String(jwtClaims(fresh.access_token)['scope']).split(' ')).not.toContain('sql:write');
    expect((await writeAttempt(fresh.access_token)).status).toBe(403);
    expect(notesInRw()).toBe(1);
  }, 60_000);

  it('limits dynamic registrations per address', async () => {
    await restart({ maxRegistrationsPerHour: 2 });
    expect((await register('ro', { redirect_uris: [CALLBACK] })).status).toBe(201);
    expect((await register('rw', { redirect_uris: [CALLBACK] })).status).toBe(201);
    const third = await register('ro', { redirect_uris: [CALLBACK] });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 60_000);

  it('takes the client address from X-Forwarded-For only when the proxy is trusted', async () => {
    const failedFrom = async (forwardedFor: string): Promise<unknown> => {
      const clientId = await publicClient();
      const jar = new CookieJar();
      const first = await getManual(authorizeUrl({ clientId }), jar);
      const page = await getManual(local(first.headers.get('location') ?? ''), jar);
      const form = readForm(await page.text());
      const before = server.logs.length;
      await fetch(local(form.action), {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: jar.header(),
          'x-forwarded-for': forwardedFor
        },
        body: new URLSearchParams({ ...form.fields, username: 'bob', password: 'wrong-password' })
      });
      return (await server.logLine(entry => entry['msg'] === 'sign-in failed', { from: before }))['address'];
    };
    await restart({});
    expect(await failedFrom('203.0.113.7')).toBe('127.0.0.1');
    await restart({ trustProxy: '127.0.0.1' });
    expect(await failedFrom('203.0.113.7')).toBe('203.0.113.7');
  }, 60_000);
});
