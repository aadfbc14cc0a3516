import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredOAuthTokens } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createPostgresDatabase, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import type { Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { openEventStream, tokensFor, type EventStreamReader } from '../helpers/sse.ts';

/**
 * An event stream once open carries what the server sends for as long as it lives; every request is
 * checked, but a stream would outlive the access it was opened with. A user disabled (or removed, or
 * whose grant is revoked) loses their open streams, legacy /sse and a 2025-era session's GET stream
 * alike, within a keep-alive interval; another user's streams stay open.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const BOB: Credentials = { username: 'bob', password: 'bob-correct-horse-battery' };
const KEEP_ALIVE_MS = 300;

let server: RunningServer;
let config: string;
let users: (aliceDisabled: boolean) => string;
let dropDatabase: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  const dir = emptyDir('stream-revocation-');
  const database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
  dropDatabase = database.drop;
  const hashes = { alice: await hashPassword(ALICE.password), bob: await hashPassword(BOB.password) };
  config = join(dir, 'sqlbridge.yaml');
  users = aliceDisabled =>
    [
      `server: { keepAliveMs: ${KEEP_ALIVE_MS} }`,
      'environments:',
      '  pg:',
      `    database: ${postgresDatabaseYaml(database.name)}`,
      'auth:',
      '  grantCheckMs: 1000',
      '  users:',
      `    - { username: alice, passwordHash: "${hashes.alice}", environments: [pg], disabled: ${aliceDisabled} }`,
      `    - { username: bob, passwordHash: "${hashes.bob}", environments: [pg] }`,
      ''
    ].join('\n');
  writeFileSync(config, users(false));
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
}, 60_000);

afterAll(async () => {
  await server.stop();
  await dropDatabase();
});

const at = (path: string): string => `${server.baseUrl}${path}`;

async function sseStream(tokens: StoredOAuthTokens): Promise<EventStreamReader> {
  const { stream } = await openEventStream(at('/pg/sse'), { authorization: `Bearer ${tokens.access_token}` });
  expect((await stream.nextEvent())?.event).toBe('endpoint');
  return stream;
}

/** Opens a 2025-11-25 session and its GET stream. */
async function sessionStream(tokens: StoredOAuthTokens): Promise<EventStreamReader> {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${tokens.access_token}`
  };
  const opened = await fetch(at('/pg/mcp'), {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'revocation', version: '1' } }
    })
  });
  expect(opened.status).toBe(200);
  await opened.text();
  const inSession = {
    ...headers,
    'mcp-session-id': opened.headers.get('mcp-session-id') ?? '',
    'mcp-protocol-version': '2025-11-25'
  };
  const initialized = await fetch(at('/pg/mcp'), {
    method: 'POST',
    headers: inSession,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })
  });
  expect(initialized.status).toBe(202);
  const { stream } = await openEventStream(at('/pg/mcp'), inSession);
  return stream;
}

describe('open event streams of a user who loses access', () => {
  it('end within a keep-alive interval and the grant check, while other users’ stay open', async () => {
    const aliceSse = await sseStream(await tokensFor(at('/pg/sse'), ALICE));
    const aliceSession = await sessionStream(await tokensFor(at('/pg/mcp'), ALICE));
    const bobSse = await sseStream(await tokensFor(at('/pg/sse'), BOB));
    try {
      writeFileSync(config, users(true));
      const from = server.logs.length;
      server.process.kill('SIGHUP');
      await server.logLine(entry => entry['msg'] === 'configuration reloaded', { from });
      const disabledAt = Date.now();
      await aliceSse.ended(10_000);
      await aliceSession.ended(10_000);
      expect(Date.now() - disabledAt).toBeLessThan(5000);
      // Keep-alives go on on the other user's stream.
      await new Promise(resolve => setTimeout(resolve, 3 * KEEP_ALIVE_MS));
      expect(bobSse.isDone).toBe(false);
    } finally {
      await aliceSse.close();
      await aliceSession.close();
      await bobSse.close();
    }
  }, 60_000);
});
