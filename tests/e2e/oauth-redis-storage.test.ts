import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { POSTGRES, createPostgresDatabase } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { jwtClaims, signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import { deletePrefix, keysUnder, rawRedis, redisUrl, uniquePrefix } from '../helpers/redis.ts';
import { runCli, startServer, type RunningServer } from '../helpers/server-process.ts';
import { tokensFor } from '../helpers/sse.ts';

/**
 * OAuth state in Redis, end to end: a server with `auth.storage: redis://…` completes the whole flow
 * and runs a tool call, with its clients, grants and tokens in Redis and nothing in its data directory
 * but what the database needs. A second server process, with a data directory of its own and the same
 * Redis (reached as a user with a password read from REDIS_PASSWORD_FILE), shares the store key and
 * the signing keys through it: it accepts the first one's access token, runs a tool call with it, and
 * rotates the first one's refresh token. A third server on another key prefix shares nothing and
 * accepts nothing.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const prefix = uniquePrefix('e2e');
const strangerPrefix = uniquePrefix('e2e-stranger');
const redisUser = `${prefix}-user`;
const redisPassword = `redis-${randomBytes(16).toString('hex')}`;

let first: RunningServer;
let second: RunningServer;
let stranger: RunningServer;
let raw: Redis;
let firstDir: string;
let firstConfig: string;
let dropDatabase: () => Promise<void> = async () => undefined;
/** Every server started, to stop. */
const started: RunningServer[] = [];

/** The port a server listens on (its log line; the base URL of one behind a public URL is not its own). */
const portOf = (server: RunningServer): number => {
  const port = server.logs.find(entry => typeof entry['port'] === 'number')?.['port'];
  if (typeof port !== 'number') throw new Error('the server never said its port');
  return port;
};

beforeAll(async () => {
  raw = rawRedis();
  await raw.connect();
  await raw.call('ACL', 'SETUSER', redisUser, 'on', `>${redisPassword}`, `~${prefix}:*`, `&${prefix}:*`, '+@all');
  const database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1)');
  dropDatabase = database.drop;
  const aliceHash = await hashPassword(ALICE.password);
  const config = (dir: string, lines: string[]): string => {
    const path = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      path,
      [
        ...lines,
        'environments:',
        '  pg:',
        `    database: { engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${POSTGRES.user}, database: ${database.name}, tls: disable }`,
        `    rateLimits: { toolCalls: { perUser: { limit: ${String(CALLS_PER_USER)}, windowSeconds: 600 } } }`,
        'auth:',
        '  grantCheckMs: 0',
        '  users:',
        `    - { username: alice, passwordHash: "${aliceHash}", environments: [pg] }`,
        ...(lines.length === 0 ? [`  storage: "${redisUrl(prefix)}"`] : []),
        ''
      ].join('\n')
    );
    return path;
  };
  firstDir = emptyDir('redis-e2e-a-');
  firstConfig = config(firstDir, []);
  first = await startServer({ args: ['serve', '--config', firstConfig, '--data-dir', firstDir] });
  // The second and third answer for the first one's public URL, as replicas behind one proxy do.
  const publicUrl = [`server: { publicUrl: "${first.baseUrl}" }`];
  const secondDir = emptyDir('redis-e2e-b-');
  const passwordFile = join(secondDir, 'redis-password');
  writeFileSync(passwordFile, `${redisPassword}\n`, { mode: 0o600 });
  const asUser = new URL(redisUrl(prefix));
  asUser.username = redisUser;
  started.push(first);
  second = await startServer({
    args: ['serve', '--config', config(secondDir, publicUrl), '--data-dir', secondDir],
    env: { SQLBRIDGE_AUTH_STORAGE: asUser.toString(), REDIS_PASSWORD_FILE: passwordFile }
  });
  started.push(second);
  const strangerDir = emptyDir('redis-e2e-c-');
  stranger = await startServer({
    args: ['serve', '--config', config(strangerDir, publicUrl), '--data-dir', strangerDir],
    env: { SQLBRIDGE_AUTH_STORAGE: redisUrl(strangerPrefix) }
  });
  started.push(stranger);
}, 90_000);

afterAll(async () => {
  await Promise.all(started.map(async server => server.stop()));
  await raw.call('ACL', 'DELUSER', redisUser);
  raw.disconnect();
  await Promise.all([deletePrefix(prefix), deletePrefix(strangerPrefix)]);
  await dropDatabase();
});

async function subjectThrough(client: Client): Promise<unknown> {
  const result = await client.callTool({
    name: 'execute_sql',
    arguments: { query: "SELECT current_setting('sqlbridge.subject', true) AS subject" }
  });
  expect(result.isError, JSON.stringify(result.content)).not.toBe(true);
  return (result.structuredContent as { rows: unknown[][] }).rows[0]?.[0];
}

/** Tool calls one user may make per window, over every replica sharing the Redis. */
const CALLS_PER_USER = 8;

/** The status of a tools/call with `token`, sent straight to a server's port. */
async function toolCallStatus(port: number, token: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/pg/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25'
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'list_tables', arguments: {} }
    })
  });
  await response.body?.cancel();
  return response.status;
}

/** The status of an MCP ping with `token`, sent straight to a server's port. */
async function pingStatus(port: number, token: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/pg/mcp`, {
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

const withToken = (port: number, token: string): StreamableHTTPClientTransport =>
  new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/pg/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } }
  });

it('signs in and calls a tool through one server; a second one sharing the Redis accepts its tokens', async () => {
  const mcpUrl = new URL(`${first.baseUrl}/pg/mcp`);
  const provider = new TestOAuthProvider(url => signIn(url, ALICE));
  await expect(
    new Client({ name: 'redis-e2e', version: '1' }).connect(
      new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })
    )
  ).rejects.toBeInstanceOf(UnauthorizedError);
  if (provider.callback === undefined) throw new Error('the client was never sent to sign in');
  await new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }).finishAuth(
    provider.callback.searchParams
  );
  const client = new Client({ name: 'redis-e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
  expect(await subjectThrough(client)).toBe('alice');
  await client.close();

  // The state is in Redis, under the prefix, and not in the data directory.
  const keys = await keysUnder(raw, prefix);
  expect(keys).toEqual(
    expect.arrayContaining([
      expect.stringMatching(new RegExp(`^${prefix}:oauth:pg:Client:`)),
      expect.stringMatching(new RegExp(`^${prefix}:oauth:pg:RefreshToken:`)),
      `${prefix}:shared:store-key`,
      `${prefix}:shared:keys:pg`
    ])
  );
  for (const file of ['auth.sqlite', 'store.key', 'pg.keys.json'])
    expect(existsSync(join(firstDir, 'auth', file))).toBe(false);

  // The second server: the same token runs a tool call there.
  const tokens = provider.tokens();
  const accessToken = tokens?.access_token ?? '';
  const onSecond = new Client({ name: 'redis-e2e-second', version: '1' });
  await onSecond.connect(withToken(portOf(second), accessToken));
  expect(await subjectThrough(onSecond)).toBe('alice');
  await onSecond.close();

  // … and rotates the refresh token the first one issued.
  const refreshed = await fetch(`http://127.0.0.1:${portOf(second)}/pg/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: tokens?.refresh_token ?? '',
      client_id: provider.clientInformation()?.client_id ?? ''
    })
  });
  expect(refreshed.status).toBe(200);
  const renewed = (await refreshed.json()) as { access_token: string; refresh_token: string };
  expect(renewed.refresh_token).not.toBe(tokens?.refresh_token);
  const backOnFirst = new Client({ name: 'redis-e2e-back', version: '1' });
  await backOnFirst.connect(withToken(portOf(first), renewed.access_token));
  expect(await subjectThrough(backOnFirst)).toBe('alice');
  await backOnFirst.close();

  // A server on another prefix shares neither keys nor grants: the token means nothing to it.
  expect(await pingStatus(portOf(second), accessToken)).toBe(200);
  expect(await pingStatus(portOf(stranger), accessToken)).toBe(401);

  // The Redis password, read from a file, never reached the second server's log.
  await second.logsWritten();
  expect(second.stderr()).not.toContain(redisPassword);

  // Rate limits count in the same Redis: alice's calls through either server add up. Three calls so
  // far (one on the second, two on the first); alternating between the two, exactly the rest of her
  // window is accepted, then both refuse. Counting per process, each would have accepted more.
  const statuses: number[] = [];
  for (let call = 0; call < CALLS_PER_USER; call++) {
    statuses.push(await toolCallStatus(portOf(call % 2 === 0 ? first : second), renewed.access_token));
  }
  const madeBefore = 3;
  expect(statuses).toEqual([
    ...Array.from({ length: CALLS_PER_USER - madeBefore }, () => 200),
    ...Array.from({ length: madeBefore }, () => 429)
  ]);
  expect(await toolCallStatus(portOf(first), renewed.access_token)).toBe(429);
  expect(await toolCallStatus(portOf(second), renewed.access_token)).toBe(429);
  expect(await keysUnder(raw, `${prefix}:ratelimit`)).not.toEqual([]);
});

/** The `kid` in a JWT's header: which key signed it. */
const signingKey = (jwt: string): unknown =>
  (JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: unknown }).kid;

/** Waits (bounded) for a server's log line. */
async function logged(server: RunningServer, message: string): Promise<void> {
  await server.logLine(entry => entry['msg'] === message, { timeoutMs: 10_000 });
}

it('rotate-keys reaches the running servers: both sign with the new key at once, and earlier tokens still verify', async () => {
  const before = await tokensFor(`${first.baseUrl}/pg/mcp`, ALICE);
  const oldKid = signingKey(before.access_token);
  const rotated = await runCli(['rotate-keys', '--config', firstConfig, '--data-dir', firstDir]);
  expect(rotated, rotated.stderr).toMatchObject({ code: 0 });
  expect(rotated.stdout).toMatch(/^pg: new signing key ([\w-]{43}); the running replicas sign with it now\n$/);
  const newKid = /new signing key ([\w-]{43})/.exec(rotated.stdout)?.[1];
  await Promise.all([logged(first, 'signing with the rotated keys'), logged(second, 'signing with the rotated keys')]);

  const after = await tokensFor(`${first.baseUrl}/pg/mcp`, ALICE);
  expect(signingKey(after.access_token)).toBe(newKid);
  expect(newKid).not.toBe(oldKid);
  // A refresh through the second server is signed with the new key too.
  const refreshed = await fetch(`http://127.0.0.1:${portOf(second)}/pg/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: after.refresh_token ?? '',
      client_id: jwtClaims(after.access_token)['client_id'] as string
    })
  });
  expect(refreshed.status).toBe(200);
  const renewed = (await refreshed.json()) as { access_token: string };
  expect(signingKey(renewed.access_token)).toBe(newKid);
  // Tokens the previous key signed keep working on both until they expire.
  expect(await pingStatus(portOf(first), before.access_token)).toBe(200);
  expect(await pingStatus(portOf(second), before.access_token)).toBe(200);
  expect(await pingStatus(portOf(second), after.access_token)).toBe(200);
}, 60_000);

it('refuses to start when the Redis of auth.storage cannot be reached, without showing its password', async () => {
  const dir = emptyDir('redis-e2e-down-');
  const secret = `pw-${randomBytes(8).toString('hex')}`;
  await expect(
    startServer({
      args: ['serve', '--data-dir', dir],
      env: {
        SQLBRIDGE_SQLITE_PATH: join(dir, 'db.sqlite'),
        SQLBRIDGE_AUTH_STORAGE: `redis://someone:${secret}@127.0.0.1:1/0`
      }
    })
  ).rejects.toThrow(/auth\.storage: Redis at redis:\/\/127\.0\.0\.1:1\/0 cannot be reached(?![^]*pw-)/);
});
