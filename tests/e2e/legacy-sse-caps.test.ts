import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createPostgresDatabase, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import type { Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { requestStream, tokensFor, type EventStreamReader } from '../helpers/sse.ts';

/**
 * The caps on open legacy event streams (`server.legacySse`), per user and in total, with two
 * signed-in users: a refused stream gets 429 or 503 with a JSON-RPC error naming the setting, and
 * closing a stream frees its place.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const BOB: Credentials = { username: 'bob', password: 'bob-correct-horse-battery' };

let server: RunningServer;
let dropDatabase: () => Promise<void>;
let aliceToken: string;
let bobToken: string;
const open: EventStreamReader[] = [];

beforeAll(async () => {
  const dir = emptyDir('legacy-sse-caps-');
  const database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
  dropDatabase = database.drop;
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'server:',
      '  legacySse: { maxStreams: 3, maxStreamsPerUser: 2 }',
      'environments:',
      '  pg:',
      `    database: ${postgresDatabaseYaml(database.name)}`,
      'auth:',
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: [pg] }`,
      `    - { username: bob, passwordHash: "${await hashPassword(BOB.password)}", environments: [pg] }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
  aliceToken = (await tokensFor(`${server.baseUrl}/pg/sse`, ALICE)).access_token;
  bobToken = (await tokensFor(`${server.baseUrl}/pg/sse`, BOB)).access_token;
}, 60_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map(stream => stream.close()));
  // Every place is free again before the next test (the server notices closed sockets by itself).
  await waitUntilOpens([aliceToken, aliceToken, bobToken]);
});

afterAll(async () => {
  await server.stop();
  await dropDatabase();
});

/** GET /pg/sse with the token; the stream whatever the answer (closed by the caller or afterEach). */
async function get(token: string): Promise<EventStreamReader> {
  const { stream } = await requestStream(`${server.baseUrl}/pg/sse`, { authorization: `Bearer ${token}` });
  return stream;
}

/** Opens a stream that must be accepted, and keeps it open until the test ends. */
async function hold(token: string): Promise<EventStreamReader> {
  const stream = await get(token);
  open.push(stream);
  expect(stream.response.status).toBe(200);
  expect((await stream.nextEvent())?.event).toBe('endpoint');
  return stream;
}

async function refusal(token: string): Promise<{ status: number; message: string; retryAfter: string | null }> {
  const stream = await get(token);
  try {
    const body = (await stream.response.json()) as { jsonrpc: string; error: { code: number; message: string } };
    expect(body).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    const { status, headers } = stream.response;
    return { status, message: body.error.message, retryAfter: headers.get('retry-after') };
  } finally {
    await stream.close();
  }
}

/** Retries until a stream for the token opens (bounded); it is kept open until the test ends. */
async function holdOnceFree(token: string): Promise<EventStreamReader> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const stream = await get(token);
    if (stream.response.status === 200) {
      open.push(stream);
      return stream;
    }
    await stream.close();
    if (Date.now() > deadline) throw new Error(`the stream was still refused: ${stream.response.status}`);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

/** Opens a stream for each token as soon as places are free (bounded), then closes them. */
async function waitUntilOpens(tokens: string[]): Promise<void> {
  for (const token of tokens) await holdOnceFree(token);
  await Promise.all(open.splice(0).map(stream => stream.close()));
}

describe('legacy event stream caps', () => {
  it("refuses a user's third stream with 429 naming server.legacySse.maxStreamsPerUser", async () => {
    const first = await hold(aliceToken);
    await hold(aliceToken);
    const refused = await refusal(aliceToken);
    expect(refused.status).toBe(429);
    expect(refused.message).toContain('server.legacySse.maxStreamsPerUser');
    expect(refused.retryAfter).not.toBeNull();
    // Another user is not affected by alice's count.
    await hold(bobToken);
    // Closing one of alice's streams gives her place back.
    await first.close();
    await holdOnceFree(aliceToken);
  });

  it("counts a user's streams whichever OAuth client opened them", async () => {
    // Another sign-in registers another client: the same user, a token of another client.
    const otherClient = (await tokensFor(`${server.baseUrl}/pg/sse`, ALICE)).access_token;
    await hold(aliceToken);
    await hold(aliceToken);
    expect((await refusal(otherClient)).status).toBe(429);
  });

  it('refuses a stream beyond the total with 503 naming server.legacySse.maxStreams', async () => {
    const first = await hold(aliceToken);
    await hold(aliceToken);
    await hold(bobToken);
    // Bob holds one stream of his two, but the server holds its three.
    const refused = await refusal(bobToken);
    expect(refused.status).toBe(503);
    expect(refused.message).toContain('(server.legacySse.maxStreams)');
    expect(refused.retryAfter).not.toBeNull();
    await first.close();
    await holdOnceFree(bobToken);
    expect((await refusal(aliceToken)).status).toBe(503);
  });
});
