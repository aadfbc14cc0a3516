import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Agent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWithOAuth, disconnect } from '../helpers/mcp-connect.ts';
import { refresh, registerClient, authorizationUrl, pkce, type OAuthClient } from '../helpers/oauth-client.ts';
import { CookieJar, readForm, signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import {
  authorizeOn,
  deployReplicas,
  logsWith,
  requestsLogged,
  type Replica,
  type ScaleOut,
  type ScaleOutUser
} from '../helpers/scale-out.ts';
import { eventMessage, openEventStream } from '../helpers/sse.ts';
import { callToolRaw, postJson } from '../helpers/tool-calls.ts';

/**
 * Issue 10's scale-out claims, end to end: Redis, two sqlbridge replicas (A and B) reading one configuration file,
 * and nginx round robin in front of them. Each claim is shown by sending requests to a chosen replica's own port
 * (or through nginx where the round robin is the point) and fails when the replicas stop sharing that state.
 */

const user = (username: string): ScaleOutUser => ({ username, password: `${username}-correct-horse-battery` });
const ALICE = user('alice');
/** Streamable HTTP sessions through nginx. */
const SUE = user('sue');
/** Legacy HTTP+SSE. */
const SAM = user('sam');
/** Tries to use the others' sessions. */
const MALLORY = user('mallory');
/** Rate limits. */
const RITA = user('rita');
/** Sign-in throttle. */
const TESS = user('tess');
/** Disabled by a configuration reload. */
const DAVE = user('dave');
const USERS = [ALICE, SUE, SAM, MALLORY, RITA, TESS, DAVE];

const GRANT_CHECK_MS = 1000;
const CALLS_PER_USER = 30;
const MAX_FAILURES_PER_USER = 3;

let deployment: ScaleOut;
let a: Replica;
let b: Replica;
let previousDispatcher: Dispatcher;

beforeAll(async () => {
  deployment = await deployReplicas({
    label: 'scale-out',
    users: USERS,
    sql: 'CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)',
    grantCheckMs: GRANT_CHECK_MS,
    toolCallsPerUser: CALLS_PER_USER,
    maxFailuresPerUser: MAX_FAILURES_PER_USER
  });
  [a, b] = deployment.replicas;
  // The SDK client and the sign-in pages reach nginx with fetch: trust its self-signed certificate.
  previousDispatcher = getGlobalDispatcher();
  setGlobalDispatcher(new Agent({ connect: { ca: deployment.ca } }));
}, 60_000);

afterAll(async () => {
  setGlobalDispatcher(previousDispatcher);
  await deployment.stop();
}, 30_000);

const SUBJECT = "SELECT current_setting('sqlbridge.subject', true) AS subject";

/** The status of a tool call with `token` sent to one replica's own port (stateless, 2026-07-28). */
async function callStatus(replica: Replica, token: string): Promise<number> {
  return (await callToolRaw(replica.baseUrl, 'pg', 'list_tables', {}, { token })).status;
}

/** Polls until `check` holds or `ms` have passed; how long it took, or undefined. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number | undefined> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > ms) return undefined;
    await new Promise(resolve => setTimeout(resolve, 200));
  }
}

/** An SDK client (2025-11-25, with a session) on one replica's own port, carrying a bearer token. */
async function sdkClientOn(replica: Replica, token: string): Promise<Client> {
  const client = new Client({ name: 'scale-out', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${replica.baseUrl}/pg/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } }
    })
  );
  return client;
}

describe('OAuth state shared by the replicas', () => {
  it('accepts on B the token of a client registered and authorized on A', async () => {
    const grant = await authorizeOn(a, deployment.publicOrigin, ALICE);
    const client = await sdkClientOn(b, grant.accessToken);
    try {
      const result = await client.callTool({ name: 'execute_sql', arguments: { query: SUBJECT } });
      expect(result.isError, JSON.stringify(result.content)).not.toBe(true);
      expect((result.structuredContent as { rows: unknown[][] }).rows).toEqual([['alice']]);
    } finally {
      await disconnect(client);
    }
    // Only A saw the client's registration, sign-in and token requests. A replica writes its log
    // lines in batches: B's are complete up to its line for the call it served.
    await within(
      5_000,
      async () => requestsLogged(a, 'POST', '/pg/register') > 0 && requestsLogged(b, 'POST', '/pg/mcp') > 0
    );
    expect(requestsLogged(a, 'POST', '/pg/register')).toBeGreaterThan(0);
    expect(requestsLogged(b, 'POST', '/pg/register')).toBe(0);
  });

  it("rotates through B the refresh token A issued, and then refuses A's", async () => {
    const grant = await authorizeOn(a, deployment.publicOrigin, ALICE);
    const rotated = await refresh(b.baseUrl, 'pg', grant.client, grant.refreshToken);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const renewed = rotated.body as { access_token: string; refresh_token: string };
    expect(renewed.refresh_token).not.toBe(grant.refreshToken);
    expect(await callStatus(a, renewed.access_token)).toBe(200);
    // The new refresh token works on A; the one it replaced is refused there.
    const again = await refresh(a.baseUrl, 'pg', grant.client, renewed.refresh_token);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    const stale = await refresh(a.baseUrl, 'pg', grant.client, grant.refreshToken);
    expect(stale).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('revokes the grant on A when B sees a rotated refresh token again', async () => {
    const grant = await authorizeOn(a, deployment.publicOrigin, ALICE);
    const rotated = await refresh(a.baseUrl, 'pg', grant.client, grant.refreshToken);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const newest = rotated.body as { access_token: string; refresh_token: string };
    expect(await callStatus(a, newest.access_token)).toBe(200);
    expect(await callStatus(a, grant.accessToken)).toBe(200);

    const replayed = await refresh(b.baseUrl, 'pg', grant.client, grant.refreshToken);
    expect(replayed).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    const refusedAfter = await within(
      GRANT_CHECK_MS + 1_500,
      async () => (await callStatus(a, newest.access_token)) === 401
    );
    expect(refusedAfter, 'the newest access token still accepted on A').toBeDefined();
    expect(await callStatus(a, grant.accessToken)).toBe(401);
    expect(await callStatus(b, newest.access_token)).toBe(401);
    const newestRefresh = await refresh(a.baseUrl, 'pg', grant.client, newest.refresh_token);
    expect(newestRefresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});

describe('limits shared by the replicas', () => {
  it('accepts exactly the per-user tool-call limit over both replicas together', async () => {
    const grant = await authorizeOn(b, deployment.publicOrigin, RITA);
    let accepted = 0;
    let refused = 0;
    const other: unknown[] = [];
    for (let call = 0; call < 3 * CALLS_PER_USER; call++) {
      const answer = await callToolRaw(
        call % 2 === 0 ? a.baseUrl : b.baseUrl,
        'pg',
        'list_tables',
        {},
        {
          token: grant.accessToken,
          id: call
        }
      );
      const message = answer.message as { result?: unknown; error?: { message?: string } } | undefined;
      if (answer.status === 200 && message?.result !== undefined) accepted++;
      else if (answer.status === 429 || /rate/i.test(message?.error?.message ?? '')) refused++;
      else other.push({ status: answer.status, message });
    }
    expect(other).toEqual([]);
    // Counted per process, each replica would have accepted CALLS_PER_USER: 2 × the limit.
    expect(accepted).toBe(CALLS_PER_USER);
    expect(refused).toBe(2 * CALLS_PER_USER);
  });

  it("throttles a user's sign-in on either replica after failures spread over both", async () => {
    const client = await registerClient(a.baseUrl, 'pg', 'none');
    const wrong = { ...TESS, password: 'not-the-password' };
    const statuses: number[] = [];
    for (let attempt = 0; attempt < MAX_FAILURES_PER_USER; attempt++) {
      statuses.push((await signInAttempt(attempt % 2 === 0 ? a : b, client, wrong)).status);
    }
    expect(statuses).toEqual(Array.from({ length: MAX_FAILURES_PER_USER }, () => 401));
    // Even the right password is refused now, on either replica.
    for (const replica of [b, a]) {
      const throttled = await signInAttempt(replica, client, TESS);
      expect(throttled.status, `${replica.name}: ${throttled.status}`).toBe(429);
      expect(throttled.html).toMatch(/Too many failed sign-ins/);
    }
  });
});

/** One sign-in on a replica's own pages: the authorize redirect, the form, the POST; what the POST answered. */
async function signInAttempt(
  replica: Replica,
  client: OAuthClient,
  credentials: Credentials
): Promise<{ status: number; html: string }> {
  const jar = new CookieJar();
  const url = authorizationUrl(replica.baseUrl, 'pg', client, pkce().challenge);
  url.searchParams.set('resource', `${deployment.publicOrigin}/pg/mcp`);
  const onReplica = (location: string, base: URL): URL => {
    const target = new URL(location, base);
    return new URL(target.pathname + target.search, replica.baseUrl);
  };
  const authorize = await fetch(url, { redirect: 'manual' });
  jar.store(authorize);
  const page = await fetch(onReplica(authorize.headers.get('location') ?? '', url), {
    headers: { cookie: jar.header() }
  });
  jar.store(page);
  const form = readForm(await page.text());
  const posted = await fetch(onReplica(form.action, url), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ ...form.fields, username: credentials.username, password: credentials.password })
  });
  return { status: posted.status, html: await posted.text() };
}

describe('sessions any replica serves', () => {
  it('serves a 2025 Streamable HTTP session through nginx round robin on both replicas, to its owner only', async () => {
    const provider = new TestOAuthProvider(url => signIn(url, SUE));
    const client = await connectWithOAuth(deployment.publicOrigin, 'pg', provider);
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId;
    expect(sessionId).toBeDefined();
    const before = { a: requestsLogged(a, 'POST', '/pg/mcp'), b: requestsLogged(b, 'POST', '/pg/mcp') };
    const CALLS = 12;
    const failures: string[] = [];
    try {
      for (let call = 0; call < CALLS; call++) {
        try {
          const result = await client.callTool({ name: 'execute_sql', arguments: { query: SUBJECT } });
          if (result.isError === true) failures.push(JSON.stringify(result.content));
          else expect((result.structuredContent as { rows: unknown[][] }).rows).toEqual([['sue']]);
        } catch (error) {
          failures.push(String(error));
        }
      }
      expect(failures).toEqual([]);
      // A request's log line is written after its answer, in a batch (at most 250 ms later).
      const servedAll = async () =>
        requestsLogged(a, 'POST', '/pg/mcp') - before.a + requestsLogged(b, 'POST', '/pg/mcp') - before.b >= CALLS;
      await within(2_000, servedAll);
      const served = {
        a: requestsLogged(a, 'POST', '/pg/mcp') - before.a,
        b: requestsLogged(b, 'POST', '/pg/mcp') - before.b
      };
      expect(served.a + served.b).toBeGreaterThanOrEqual(CALLS);
      expect(served.a, JSON.stringify(served)).toBeGreaterThan(0);
      expect(served.b, JSON.stringify(served)).toBeGreaterThan(0);

      // Someone else's session id, on either replica, is no session at all; nor is one nobody opened.
      const mallory = await authorizeOn(b, deployment.publicOrigin, MALLORY);
      const sueToken = provider.tokens()?.access_token ?? '';
      for (const replica of [a, b]) {
        for (const [token, id] of [
          [mallory.accessToken, sessionId ?? ''],
          [sueToken, crypto.randomUUID()]
        ] as const) {
          const answer = await postJson(
            `${replica.baseUrl}/pg/mcp`,
            { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_tables', arguments: {} } },
            { token, headers: { 'mcp-protocol-version': '2025-11-25', 'mcp-session-id': id } }
          );
          expect(answer.status, `${replica.name}: ${answer.text}`).toBe(404);
          expect(answer.text).toMatch(/Session not found/);
        }
      }
    } finally {
      await disconnect(client);
    }
  });

  it('delivers on the legacy SSE stream opened on A the answers to messages posted to B', async () => {
    const sam = await authorizeOn(a, deployment.publicOrigin, SAM, 'sse');
    const { stream } = await openEventStream(`${a.baseUrl}/pg/sse`, { authorization: `Bearer ${sam.accessToken}` });
    try {
      const endpoint = await stream.nextEvent();
      expect(endpoint?.event).toBe('endpoint');
      const messages = endpoint?.data ?? '';
      expect(messages).toMatch(/^\/pg\/messages\?sessionId=/);
      const post = (path: string, token: string, body: unknown) =>
        fetch(`${b.baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body)
        });
      const initialize = {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'scale-out', version: '1' } }
      };
      expect((await post(messages, sam.accessToken, initialize)).status).toBe(202);
      const initialized = eventMessage(await stream.nextEvent(5_000));
      expect(initialized).toMatchObject({ id: 1, result: { protocolVersion: '2024-11-05' } });
      expect(
        (await post(messages, sam.accessToken, { jsonrpc: '2.0', method: 'notifications/initialized' })).status
      ).toBe(202);
      const call = {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'execute_sql', arguments: { query: SUBJECT } }
      };
      expect((await post(messages, sam.accessToken, call)).status).toBe(202);
      const answer = eventMessage(await stream.nextEvent(5_000));
      expect(answer).toMatchObject({ id: 2, result: { structuredContent: { rows: [['sam']] } } });

      // A session nobody opened, and Sam's session posted by someone else: 404 on B.
      const guessed = await post(`/pg/messages?sessionId=${crypto.randomUUID()}`, sam.accessToken, call);
      expect(guessed.status).toBe(404);
      const mallory = await authorizeOn(b, deployment.publicOrigin, MALLORY, 'sse');
      const stolen = await post(messages, mallory.accessToken, call);
      expect(stolen.status).toBe(404);
      // Nothing reached Sam's stream for them.
      const more = await stream.collect(500);
      expect(more.filter(frame => frame.data !== undefined)).toEqual([]);
    } finally {
      await stream.close();
    }
  });
});

describe('configuration reload', () => {
  it('refuses on B, then on A, a user disabled in the file that only A was told to reload', async () => {
    const grant = await authorizeOn(a, deployment.publicOrigin, DAVE);
    expect(await callStatus(b, grant.accessToken)).toBe(200);
    await deployment.writeConfig(USERS.map(u => (u === DAVE ? { ...u, disabled: true } : u)));
    a.server.process.kill('SIGHUP');

    const refusedOnB = await within(
      GRANT_CHECK_MS + 2_000,
      async () => (await callStatus(b, grant.accessToken)) === 401
    );
    expect(a.server.process.signalCode, 'A was ended by the SIGHUP').toBeNull();
    expect(refusedOnB, 'B still accepts the disabled user').toBeDefined();
    expect(await callStatus(a, grant.accessToken)).toBe(401);
    expect(logsWith(a, 'configuration reloaded')).toEqual([expect.objectContaining({ trigger: 'SIGHUP' })]);
    expect(logsWith(b, 'configuration reloaded')).toEqual([expect.objectContaining({ trigger: 'replica' })]);
    // The others are untouched.
    const alice = await authorizeOn(b, deployment.publicOrigin, ALICE);
    expect(await callStatus(a, alice.accessToken)).toBe(200);
  });
});
