import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, UnauthorizedError, type StoredOAuthTokens } from '@modelcontextprotocol/client';
import { importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createPostgresDatabase, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { jwtClaims, signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import {
  eventMessage,
  legacySseTransport,
  openEventStream,
  tokensFor,
  type EventStreamReader
} from '../helpers/sse.ts';

/**
 * The legacy HTTP+SSE transport behind OAuth: its own protected resource (`/<env>/sse`, with its own
 * metadata and token audience), the SDK's SSE client doing the whole OAuth flow, sessions bound to
 * the user who opened them, and streams that end when the token that opened them expires.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const BOB: Credentials = { username: 'bob', password: 'bob-correct-horse-battery' };

let server: RunningServer;
let dir: string;
let dropDatabase: () => Promise<void>;

beforeAll(async () => {
  dir = emptyDir('legacy-sse-auth-');
  const database = await createPostgresDatabase(
    "CREATE TABLE regions (id integer PRIMARY KEY, name text); INSERT INTO regions VALUES (1, 'EMEA'), (2, 'APAC'), (3, 'AMER')"
  );
  dropDatabase = database.drop;
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      '  pg:',
      `    database: ${postgresDatabaseYaml(database.name)}`,
      'auth:',
      '  grantCheckMs: 0',
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: [pg] }`,
      `    - { username: bob, passwordHash: "${await hashPassword(BOB.password)}", environments: [pg] }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
}, 60_000);

afterAll(async () => {
  await server.stop();
  await dropDatabase();
});

const at = (path: string): string => `${server.baseUrl}${path}`;
const bearer = (tokens: StoredOAuthTokens): Record<string, string> => ({
  authorization: `Bearer ${tokens.access_token}`
});

/** Opens /pg/sse with a token; the stream after its endpoint event, and the path to post to. */
async function session(token: string): Promise<{ stream: EventStreamReader; messages: string }> {
  const { stream } = await openEventStream(at('/pg/sse'), { authorization: `Bearer ${token}` });
  const endpoint = await stream.nextEvent();
  expect(endpoint?.event).toBe('endpoint');
  return { stream, messages: endpoint?.data ?? '' };
}

async function postMessage(path: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return fetch(at(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body)
  });
}

async function mcpPing(headers: Record<string, string>): Promise<number> {
  const response = await fetch(at('/pg/mcp'), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      ...headers
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
  });
  await response.body?.cancel();
  return response.status;
}

let aliceSse: StoredOAuthTokens;
let bobSse: StoredOAuthTokens;
let aliceMcp: StoredOAuthTokens;

beforeAll(async () => {
  aliceSse = await tokensFor(at('/pg/sse'), ALICE);
  bobSse = await tokensFor(at('/pg/sse'), BOB);
  aliceMcp = await tokensFor(at('/pg/mcp'), ALICE);
});

describe('discovery', () => {
  it('answers GET /pg/sse without a token with 401 naming the /sse resource metadata and sql:read', async () => {
    const response = await fetch(at('/pg/sse'), { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(`resource_metadata="${at('/.well-known/oauth-protected-resource/pg/sse')}"`);
    expect(challenge).toContain('scope="sql:read"');
    await response.text();
    const metadata = await fetch(at('/.well-known/oauth-protected-resource/pg/sse'));
    expect(metadata.status).toBe(200);
    expect(await metadata.json()).toMatchObject({ resource: at('/pg/sse'), authorization_servers: [at('/pg')] });
  });

  it('lets the SDK SSE client sign in, list and call tools as the user, with a token for /pg/sse', async () => {
    const provider = new TestOAuthProvider(url => signIn(url, ALICE));
    const first = legacySseTransport(at('/pg/sse'), provider);
    await expect(new Client({ name: 'legacy-sse-auth', version: '1' }).connect(first)).rejects.toBeInstanceOf(
      UnauthorizedError
    );
    const callback = provider.callback;
    if (callback === undefined) throw new Error('the client was never sent to sign in');
    expect(callback.searchParams.get('state')).toBe(provider.lastState);
    await first.finishAuth(callback.searchParams);
    expect(jwtClaims(provider.tokens()?.access_token ?? '')).toMatchObject({
      aud: at('/pg/sse'),
      iss: at('/pg'),
      sub: 'alice'
    });
    const client = new Client({ name: 'legacy-sse-auth', version: '1' });
    await client.connect(legacySseTransport(at('/pg/sse'), provider));
    try {
      expect((await client.listTools()).tools.map(tool => tool.name)).toContain('execute_sql');
      const result = await client.callTool({
        name: 'execute_sql',
        arguments: {
          query:
            "SELECT current_setting('sqlbridge.subject', true) AS subject, string_agg(name, ',' ORDER BY id) FROM regions"
        }
      });
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      expect((result.structuredContent as { rows: unknown[][] }).rows).toEqual([['alice', 'EMEA,APAC,AMER']]);
    } finally {
      await client.close();
    }
  });
});

describe('tokens and sessions', () => {
  it('accepts at each endpoint only the tokens issued for it', async () => {
    expect(jwtClaims(aliceMcp.access_token)['aud']).toBe(at('/pg/mcp'));
    expect(jwtClaims(aliceSse.access_token)['aud']).toBe(at('/pg/sse'));
    // An /mcp token at the SSE endpoints.
    const stream = await fetch(at('/pg/sse'), { headers: { accept: 'text/event-stream', ...bearer(aliceMcp) } });
    expect(stream.status).toBe(401);
    await stream.text();
    const messages = await postMessage(`/pg/messages?sessionId=${crypto.randomUUID()}`, bearer(aliceMcp), {
      jsonrpc: '2.0',
      id: 1,
      method: 'ping'
    });
    expect(messages.status).toBe(401);
    await messages.text();
    expect(await mcpPing(bearer(aliceMcp))).toBe(200);
    // An /sse token at /mcp.
    expect(await mcpPing(bearer(aliceSse))).toBe(401);
    const control = await session(aliceSse.access_token);
    await control.stream.close();
  });

  it("keeps bob's valid token out of alice's session, and makes a guessed session id useless", async () => {
    const alice = await session(aliceSse.access_token);
    const bob = await session(bobSse.access_token);
    try {
      const intruding = await postMessage(alice.messages, bearer(bobSse), {
        jsonrpc: '2.0',
        id: 'bob-1',
        method: 'ping'
      });
      expect(intruding.status).toBe(404);
      expect(await intruding.json()).toMatchObject({ error: { message: 'Session not found' } });
      const guessed = await postMessage(`/pg/messages?sessionId=${crypto.randomUUID()}`, bearer(aliceSse), {
        jsonrpc: '2.0',
        id: 'guess-1',
        method: 'ping'
      });
      expect(guessed.status).toBe(404);
      // Alice's own ping is answered on her stream, and nothing of bob's came before it.
      expect(
        (await postMessage(alice.messages, bearer(aliceSse), { jsonrpc: '2.0', id: 'alice-1', method: 'ping' })).status
      ).toBe(202);
      expect(eventMessage(await alice.stream.nextEvent())).toMatchObject({ id: 'alice-1', result: {} });
      // Control: bob's token works in bob's own session.
      expect(
        (await postMessage(bob.messages, bearer(bobSse), { jsonrpc: '2.0', id: 'bob-2', method: 'ping' })).status
      ).toBe(202);
      expect(eventMessage(await bob.stream.nextEvent())).toMatchObject({ id: 'bob-2', result: {} });
    } finally {
      await alice.stream.close();
      await bob.stream.close();
    }
  });

  it('ends a stream by itself when the token that opened it expires', async () => {
    const stored = JSON.parse(readFileSync(join(dir, 'auth', 'pg.keys.json'), 'utf8')) as { signing: JWK[] };
    const key = stored.signing[0] ?? {};
    const claims = jwtClaims(aliceSse.access_token) as JWTPayload;
    const expiresAt = Math.floor(Date.now() / 1000) + 4;
    const shortLived = await new SignJWT({ ...claims, exp: expiresAt })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: String(key.kid) })
      .sign(await importJWK(key, 'ES256'));
    const short = await session(shortLived);
    const long = await session(aliceSse.access_token);
    try {
      await short.stream.ended(15_000);
      const endedAt = Date.now();
      expect(endedAt).toBeGreaterThanOrEqual(expiresAt * 1000 - 250);
      expect(endedAt).toBeLessThan(expiresAt * 1000 + 3000);
      // Control: the stream opened with the long-lived token is still open, and its session alive.
      expect(long.stream.isDone).toBe(false);
      expect(
        (await postMessage(long.messages, bearer(aliceSse), { jsonrpc: '2.0', id: 'still', method: 'ping' })).status
      ).toBe(202);
      expect(eventMessage(await long.stream.nextEvent())).toMatchObject({ id: 'still' });
      // The ended session is gone.
      const late = await postMessage(short.messages, bearer(aliceSse), { jsonrpc: '2.0', id: 'late', method: 'ping' });
      expect(late.status).toBe(404);
    } finally {
      await short.stream.close();
      await long.stream.close();
    }
  });
  it("ends a 2025-era session's GET stream when the token that opened it expires, and the session lives on", async () => {
    const stored = JSON.parse(readFileSync(join(dir, 'auth', 'pg.keys.json'), 'utf8')) as { signing: JWK[] };
    const key = stored.signing[0] ?? {};
    const expiresAt = Math.floor(Date.now() / 1000) + 4;
    const shortLived = await new SignJWT({ ...(jwtClaims(aliceMcp.access_token) as JWTPayload), exp: expiresAt })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: String(key.kid) })
      .sign(await importJWK(key, 'ES256'));
    const headers = { ...bearer(aliceMcp), accept: 'application/json, text/event-stream' };
    const opened = await postMessage('/pg/mcp', headers, {
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'expiry', version: '1' } }
    });
    expect(opened.status).toBe(200);
    const sessionId = opened.headers.get('mcp-session-id') ?? '';
    const inSession = { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
    expect(
      (await postMessage('/pg/mcp', inSession, { jsonrpc: '2.0', method: 'notifications/initialized' })).status
    ).toBe(202);
    const { stream } = await openEventStream(at('/pg/mcp'), { ...inSession, authorization: `Bearer ${shortLived}` });
    try {
      await stream.ended(15_000);
      const endedAt = Date.now();
      expect(endedAt).toBeGreaterThanOrEqual(expiresAt * 1000 - 250);
      expect(endedAt).toBeLessThan(expiresAt * 1000 + 3000);
      // The session is not the stream: it answers the long-lived token still.
      const ping = await postMessage('/pg/mcp', inSession, { jsonrpc: '2.0', id: 'after', method: 'ping' });
      expect(ping.status).toBe(200);
    } finally {
      await stream.close();
    }
  });
});
