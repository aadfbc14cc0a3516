import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createPostgresDatabase, pgAdmin, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import type { AuditRecord } from '../../src/audit/record.ts';
import { auditFileIn, untilAuditFile } from '../helpers/audit-file.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { authorizationUrl, pkce, redeemCode, registerClient, type OAuthClient } from '../helpers/oauth-client.ts';
import { signIn, type Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { busyFor, failsAfter } from '../helpers/slow-postgres.ts';
import { callToolRaw, postJson, toolCall, toolResult } from '../helpers/tool-calls.ts';

/**
 * Rate limits with OAuth, against a real server over real HTTP: tool calls per user and per client
 * (HTTP 429, Retry-After and a JSON-RPC error per call naming the limit; others unaffected; the
 * window ends), concurrent queries per user on PostgreSQL (an error result naming the limit while
 * another user's call runs; slots come back however a call ends), and the sign-in and token
 * endpoints per address.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-rate-limit-password' };
const BOB: Credentials = { username: 'bob', password: 'bob-rate-limit-password' };
const CAROL: Credentials = { username: 'carol', password: 'carol-rate-limit-password' };

/** Sign-ins and token redemptions made while setting up (10 tokens); the limits allow two more of each. */
const SETUP_SIGN_INS = 10;
const AUTH_LIMIT = SETUP_SIGN_INS + 2;

let server: RunningServer;
let dataDir: string;
let dropDatabase: () => Promise<void> = async () => undefined;
const tokens: Record<string, string> = {};

async function tokenFor(environment: string, client: OAuthClient, user: Credentials): Promise<string> {
  const { verifier, challenge } = pkce();
  const callback = await signIn(authorizationUrl(server.baseUrl, environment, client, challenge), user);
  const code = callback.searchParams.get('code');
  expect(code, callback.href).not.toBeNull();
  const answer = await redeemCode(server.baseUrl, environment, client, code ?? '', verifier);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return String(answer.body['access_token']);
}

beforeAll(async () => {
  const pg = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
  dropDatabase = pg.drop;
  const dir = emptyDir('rate-limits-');
  dataDir = dir;
  const sqlite = (name: string): string => {
    const path = join(dir, `${name}.db`);
    const db = new DatabaseSync(path);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY)');
    db.close();
    return path;
  };
  const config = join(dir, 'sqlbridge.yaml');
  const user = async (credentials: Credentials) =>
    `    - { username: ${credentials.username}, passwordHash: "${await hashPassword(credentials.password)}", environments: ["*"] }`;
  writeFileSync(
    config,
    [
      'environments:',
      '  users:',
      `    database: { engine: sqlite, path: ${JSON.stringify(sqlite('users'))} }`,
      '    rateLimits: { toolCalls: { perUser: { limit: 3, windowSeconds: 3 } } }',
      '  clients:',
      `    database: { engine: sqlite, path: ${JSON.stringify(sqlite('clients'))} }`,
      '    rateLimits: { toolCalls: { perUser: null, perClient: { limit: 3, windowSeconds: 600 } } }',
      '  shared:',
      `    database: { engine: sqlite, path: ${JSON.stringify(sqlite('shared'))} }`,
      '    rateLimits: { toolCalls: { perUser: { limit: 3, windowSeconds: 600 }, perClient: { limit: 4, windowSeconds: 600 } } }',
      '  pg:',
      `    database: ${postgresDatabaseYaml(pg.name)}`,
      '    limits: { queryTimeoutMs: 20000 }',
      '    rateLimits: { toolCalls: { perUser: null }, maxConcurrentQueriesPerUser: 2 }',
      'auth:',
      '  storage: memory',
      '  rateLimits:',
      `    signIn: { limit: ${AUTH_LIMIT}, windowSeconds: 600 }`,
      `    token: { limit: ${AUTH_LIMIT}, windowSeconds: 600 }`,
      '  users:',
      await user(ALICE),
      await user(BOB),
      await user(CAROL),
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
  const client = (environment: string) => registerClient(server.baseUrl, environment, 'none');
  const usersClient = await client('users');
  tokens['users/alice'] = await tokenFor('users', usersClient, ALICE);
  tokens['users/bob'] = await tokenFor('users', usersClient, BOB);
  const [first, second] = [await client('clients'), await client('clients')];
  tokens['clients/alice'] = await tokenFor('clients', first, ALICE);
  tokens['clients/bob'] = await tokenFor('clients', first, BOB);
  tokens['clients/carol'] = await tokenFor('clients', second, CAROL);
  const sharedClient = await client('shared');
  tokens['shared/alice'] = await tokenFor('shared', sharedClient, ALICE);
  tokens['shared/bob'] = await tokenFor('shared', sharedClient, BOB);
  tokens['shared/carol'] = await tokenFor('shared', sharedClient, CAROL);
  const pgClient = await client('pg');
  tokens['pg/alice'] = await tokenFor('pg', pgClient, ALICE);
  tokens['pg/bob'] = await tokenFor('pg', pgClient, BOB);
  expect(Object.keys(tokens)).toHaveLength(SETUP_SIGN_INS);
}, 120_000);

afterAll(async () => {
  await server.stop();
  await dropDatabase();
});

const token = (key: string): string => tokens[key] ?? '';
const select = (environment: string, who: string, id: number | string = 1) =>
  callToolRaw(
    server.baseUrl,
    environment,
    'execute_sql',
    { query: 'SELECT 1 AS one' },
    { token: token(`${environment}/${who}`), id }
  );

/** A refusal as the limit layer answers it: 429, Retry-After, a JSON-RPC error under the call's id. */
function expectRefusal(
  answer: { status: number; retryAfter: string | undefined; message: unknown },
  id: number | string,
  limit: { kind: string; max: number; windowSeconds: number; environment: string }
): number {
  expect(answer.status, JSON.stringify(answer.message)).toBe(429);
  const seconds = Number(answer.retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(limit.windowSeconds);
  expect(answer.message).toEqual({
    jsonrpc: '2.0',
    id,
    error: {
      code: -32000,
      message: `Rate limit reached: at most ${limit.max} tool calls per ${limit.windowSeconds} s per ${limit.kind} in environment "${limit.environment}"; retry in ${seconds} s`,
      data: {
        reason: 'rate_limited',
        limit: limit.kind,
        maxCalls: limit.max,
        windowSeconds: limit.windowSeconds,
        retryAfterSeconds: seconds
      }
    }
  });
  return seconds;
}

describe('tool calls per user', () => {
  it('refuses the call after the limit with 429, Retry-After and a JSON-RPC error, for that user only, until the window ends', async () => {
    for (let i = 1; i <= 3; i++) {
      const answer = await select('users', 'alice', i);
      expect(answer.status).toBe(200);
      expect(toolResult(answer.message).isError).toBe(false);
    }
    const refused = await select('users', 'alice', 'fourth');
    const seconds = expectRefusal(refused, 'fourth', { kind: 'user', max: 3, windowSeconds: 3, environment: 'users' });

    // Bob signed in through the same client: his own count.
    const bob = await select('users', 'bob');
    expect(bob.status).toBe(200);
    expect(toolResult(bob.message)).toEqual({ isError: false, text: expect.stringContaining('1') });

    await new Promise(resolve => setTimeout(resolve, seconds * 1000 + 200));
    const again = await select('users', 'alice', 'after-the-window');
    expect(again.status).toBe(200);
    expect(toolResult(again.message).isError).toBe(false);

    const warning = await server.logLine(
      line => line['msg'] === 'rate limit reached' && line['rule'] === 'tool calls per user'
    );
    expect(warning).toMatchObject({ level: 'warn', keyKind: 'user', environment: 'users', retryAfterSeconds: seconds });
    await server.logsWritten();
    for (const value of Object.values(tokens)) expect(server.stderr()).not.toContain(value);
  });

  it('counts only tool calls that could run: stubs and notifications naming the method count against nobody', async () => {
    const stubs = [
      ...Array.from({ length: 10 }, () => ({ method: 'tools/call' })),
      { jsonrpc: '2.0', method: 'tools/call', params: { name: 'execute_sql', arguments: { query: 'SELECT 1' } } }
    ];
    const answer = await postJson(`${server.baseUrl}/users/mcp`, stubs, { token: token('users/bob') });
    expect(answer.status).not.toBe(429);
    for (let i = 1; i <= 3; i++) {
      const call = await select('users', 'bob', `after-stubs-${i}`);
      expect(call.status).toBe(200);
      expect(toolResult(call.message).isError).toBe(false);
    }
  });

  it('refuses a whole batch over the limit, with an error under every call id', async () => {
    const batch = [1, 2, 3, 4].map(i => toolCall('execute_sql', { query: 'SELECT 1' }, `b${i}`));
    const answer = await postJson(`${server.baseUrl}/users/mcp`, batch, { token: token('users/bob') });
    expect(answer.status).toBe(429);
    const errors = JSON.parse(answer.text) as { id: string; error: { message: string } }[];
    expect(errors.map(error => error.id)).toEqual(['b1', 'b2', 'b3', 'b4']);
    for (const error of errors) expect(error.error.message).toMatch(/^Rate limit reached: at most 3 tool calls/);
  });

  it('records every refused call in the audit trail as rejected rate_limited, with its user, request and address', async () => {
    const refused = (records: AuditRecord[]) => records.filter(record => record.errorClass === 'rate_limited');
    const records = refused(await untilAuditFile(auditFileIn(dataDir), all => refused(all).length >= 5));
    expect(records.map(record => [record.event, record.outcome, record.environment, record.user, record.tool])).toEqual(
      [
        ['tool.called', 'rejected', 'users', 'alice', 'execute_sql'],
        ...Array.from({ length: 4 }, () => ['tool.called', 'rejected', 'users', 'bob', 'execute_sql'])
      ]
    );
    for (const record of records) {
      expect(record.requestId).toEqual(expect.any(String));
      expect(record.remoteAddress).toBe('127.0.0.1');
      expect(record.detail).toEqual({ limit: 'user' });
    }
    // The four calls of one batch came in one request.
    expect(new Set(records.slice(1).map(record => record.requestId)).size).toBe(1);
  });
});

describe('tool calls per client', () => {
  it('counts every user of a client together, and no other client', async () => {
    expect((await select('clients', 'alice', 1)).status).toBe(200);
    expect((await select('clients', 'alice', 2)).status).toBe(200);
    expect((await select('clients', 'bob', 3)).status).toBe(200);
    const limit = { kind: 'client', max: 3, windowSeconds: 600, environment: 'clients' };
    expectRefusal(await select('clients', 'bob', 4), 4, limit);
    expectRefusal(await select('clients', 'alice', 5), 5, limit);
    const carol = await select('clients', 'carol', 6);
    expect(carol.status).toBe(200);
    expect(toolResult(carol.message).isError).toBe(false);
  });
});

describe('tool calls per user and per client together', () => {
  it("a request the user's limit refuses uses up nothing of the client's, which other users share", async () => {
    // Alice's one request of 10 calls is over her own limit of 3: refused, and counted against her only.
    const batch = Array.from({ length: 10 }, (_, i) => toolCall('execute_sql', { query: 'SELECT 1' }, `a${i}`));
    const refused = await postJson(`${server.baseUrl}/shared/mcp`, batch, { token: token('shared/alice') });
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('per user in environment');
    // The client's 4 calls are all still there: 3 for Bob, 1 for Carol, then the client's limit.
    for (const id of [1, 2, 3]) expect((await select('shared', 'bob', id)).status).toBe(200);
    expect((await select('shared', 'carol', 4)).status).toBe(200);
    expectRefusal(await select('shared', 'carol', 5), 5, {
      kind: 'client',
      max: 4,
      windowSeconds: 600,
      environment: 'shared'
    });
  });
});

describe('concurrent queries per user', () => {
  async function running(marker: string): Promise<number> {
    return pgAdmin('test', async client => {
      const result = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
        [`%${marker}%`]
      );
      return Number(result.rows[0]?.n ?? 0);
    });
  }
  const query = (who: string, sql: string, id: number | string) =>
    callToolRaw(server.baseUrl, 'pg', 'execute_sql', { query: sql }, { token: token(`pg/${who}`), id });

  it("refuses a user's third running query with a clear error while another user's call runs", async () => {
    const marker = `rate-limit-${randomUUID()}`;
    let settled = false;
    const slow = Promise.all([1, 2].map(i => query('alice', `${busyFor(3)} /* ${marker} */`, i))).finally(() => {
      settled = true;
    });
    const deadline = Date.now() + 10_000;
    while ((await running(marker)) < 2) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise(resolve => setTimeout(resolve, 50));
    }

    const third = await query('alice', 'SELECT 1', 3);
    expect(third.status).toBe(200);
    expect(toolResult(third.message)).toEqual({
      isError: true,
      text:
        'Rate limit reached: at most 2 queries may run at once per user in this environment, and 2 of yours are running\n' +
        'Hint: wait for a running query to finish (or cancel one), then try again; run queries one after another'
    });

    const bob = await query('bob', 'SELECT 2 AS two', 4);
    expect(toolResult(bob.message).isError).toBe(false);
    expect(settled).toBe(false);

    for (const answer of await slow) expect(toolResult(answer.message).isError).toBe(false);
    // Logged once, with each field once (a repeated key makes log pipelines such as Elasticsearch drop the line).
    await server.logsWritten();
    const lines = server
      .stderr()
      .split('\n')
      .filter(line => line.includes('"rule":"concurrent queries per user"'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.match(/"environment":/g)).toHaveLength(1);
    // Both slots are back: two more run side by side.
    const next = await Promise.all([5, 6].map(i => query('alice', busyFor(0.3), i)));
    for (const answer of next) expect(toolResult(answer.message).isError).toBe(false);
  });

  it("holds a place for each catalog read too: a user's resources/list is refused while their queries fill their places, another user's is answered", async () => {
    const list = async (who: string, id: string): Promise<Record<string, unknown>> => {
      const answer = await postJson(
        `${server.baseUrl}/pg/mcp`,
        {
          jsonrpc: '2.0',
          id,
          method: 'resources/list',
          params: {
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2026-07-28',
              'io.modelcontextprotocol/clientInfo': { name: 'rate-limit-tests', version: '1' },
              'io.modelcontextprotocol/clientCapabilities': {}
            }
          }
        },
        { token: token(`pg/${who}`), headers: { 'mcp-method': 'resources/list' } }
      );
      const data = answer.text.trimStart().startsWith('{')
        ? answer.text
        : (answer.text
            .split('\n')
            .find(line => line.startsWith('data: '))
            ?.slice(6) ?? '{}');
      return JSON.parse(data) as Record<string, unknown>;
    };
    const marker = `rate-limit-${randomUUID()}`;
    const slow = Promise.all([1, 2].map(i => query('alice', `${busyFor(3)} /* ${marker} */`, `catalog-${i}`)));
    const deadline = Date.now() + 10_000;
    while ((await running(marker)) < 2) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    const refused = await list('alice', 'alice-list');
    expect(refused['error']).toMatchObject({
      message: expect.stringContaining('at most 2 queries may run at once per user')
    });
    const bob = await list('bob', 'bob-list');
    expect(bob['result']).toMatchObject({ resources: expect.any(Array) });
    for (const answer of await slow) expect(toolResult(answer.message).isError).toBe(false);
    expect((await list('alice', 'alice-after'))['result']).toMatchObject({ resources: expect.any(Array) });
  });

  it('gives the slot back when a query fails', async () => {
    const failed = await Promise.all([1, 2].map(i => query('alice', failsAfter(0.5), i)));
    for (const answer of failed) expect(toolResult(answer.message).isError).toBe(true);
    const after = await Promise.all([3, 4].map(i => query('alice', busyFor(0.3), i)));
    for (const answer of after) expect(toolResult(answer.message).isError).toBe(false);
  });
});

describe('sign-in and token endpoints per address', () => {
  it('refuses sign-in submissions past the limit with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${server.baseUrl}/users/interaction/not-an-interaction/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'alice', password: 'wrong' })
      });
      statuses.push(response.status);
      if (response.status === 429) {
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(500);
        expect(await response.json()).toEqual({
          error: 'temporarily_unavailable',
          error_description: 'too many sign-in attempts from this address; try again later'
        });
      } else await response.arrayBuffer();
    }
    // The setup's sign-ins counted: two more were allowed (answered by the sign-in route), then 429.
    expect(statuses.slice(0, 2).every(status => status !== 429)).toBe(true);
    expect(statuses[2]).toBe(429);
    // Other spellings of the same route (the router decodes percent-escapes) count against the same limit, and so
    // does the admin console's sign-in, which checks passwords alike.
    for (const path of [
      '/users/interaction/not-an-interaction/logi%6E',
      '/%75sers/interaction/x/login',
      '/admin/login',
      '/admin/logi%6E'
    ]) {
      const response = await fetch(`${server.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'alice', password: 'wrong' })
      });
      await response.arrayBuffer();
      expect(response.status, path).toBe(429);
    }
  });

  it('refuses token requests past the limit with 429 and Retry-After, in every environment', async () => {
    const post = (environment: string) =>
      fetch(`${server.baseUrl}/${environment}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'nope', client_id: 'nobody' })
      });
    const first = await post('users');
    const second = await post('clients');
    expect([first.status, second.status]).not.toContain(429);
    await Promise.all([first.arrayBuffer(), second.arrayBuffer()]);
    const refused = await post('pg');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(500);
    expect(await refused.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'too many token requests from this address; try again later'
    });
    const warning = await server.logLine(line => line['msg'] === 'rate limit reached' && line['rule'] === 'token');
    expect(warning).toMatchObject({ keyKind: 'address' });
  });
});
