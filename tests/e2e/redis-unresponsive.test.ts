import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { REDIS_COMMAND_TIMEOUT_MS } from '../../src/auth/storage/redis-store.ts';
import { STORE_RETRY_AFTER_SECONDS, STORE_UNAVAILABLE_MESSAGE } from '../../src/errors/store-unavailable.ts';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import type { Credentials } from '../helpers/oauth-login.ts';
import { deletePrefix, REDIS_URL, redisUrl, uniquePrefix } from '../helpers/redis.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { tokensFor } from '../helpers/sse.ts';
import { callToolRaw } from '../helpers/tool-calls.ts';

/**
 * Redis, the replicas' shared store, accepts the connection and stops answering. A call whose token
 * must be checked against its grant, or whose rate-limit counter must be counted, cannot go on: it is
 * answered 503 with Retry-After and says so, never 401 (a client would throw a good token away and
 * sign in again, which fails too) nor a bare internal error. Once Redis answers, the same token works.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-unresponsive-redis' };
/** How long a token's grant is trusted before the store is asked again. */
const GRANT_CHECK_MS = 1000;

describe('a Redis that stops answering', () => {
  let proxy: CountingProxy;
  let server: RunningServer;
  let token: string;
  const prefix = uniquePrefix('unresponsive');

  beforeAll(async () => {
    const redis = new URL(REDIS_URL);
    proxy = await startCountingProxy({ host: redis.hostname, port: Number(redis.port || 6379) }, 'EVAL');
    const storage = new URL(redisUrl(prefix));
    storage.port = String(proxy.port);
    const dir = emptyDir('redis-unresponsive-');
    const database = join(dir, 'notes.db');
    const db = new DatabaseSync(database);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY)');
    db.close();
    const config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        'environments:',
        '  notes:',
        `    database: { engine: sqlite, path: ${JSON.stringify(database)} }`,
        'auth:',
        `  storage: ${JSON.stringify(storage.toString())}`,
        `  grantCheckMs: ${GRANT_CHECK_MS}`,
        '  users:',
        `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: ["*"] }`,
        ''
      ].join('\n')
    );
    server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
    token = (await tokensFor(`${server.baseUrl}/notes/mcp`, ALICE)).access_token;
  }, 60_000);

  afterAll(async () => {
    proxy.resume();
    await server.stop();
    await proxy.close();
    await deletePrefix(prefix);
  });

  const call = (id: number) =>
    callToolRaw(server.baseUrl, 'notes', 'execute_sql', { query: 'SELECT 1' }, { token, id });

  it('answers 503 with Retry-After while it does not answer, and serves the same token once it does', async () => {
    expect((await call(1)).status).toBe(200);
    proxy.stall();
    // The grant was checked a moment ago; the tool-call limit's counter is what waits on Redis.
    const counted = await call(2);
    expect(counted.status).toBe(503);
    expect(counted.retryAfter).toBe(String(STORE_RETRY_AFTER_SECONDS));
    expect(counted.message).toMatchObject({
      jsonrpc: '2.0',
      id: 2,
      error: { code: -32000, message: STORE_UNAVAILABLE_MESSAGE, data: { reason: 'store_unavailable' } }
    });
    // By now the grant is due to be checked again: the token check itself waits on Redis.
    expect(REDIS_COMMAND_TIMEOUT_MS).toBeGreaterThan(GRANT_CHECK_MS);
    const checked = await call(3);
    expect(checked.status).toBe(503);
    expect(checked.retryAfter).toBe(String(STORE_RETRY_AFTER_SECONDS));
    expect(checked.message).toEqual({ error: 'temporarily_unavailable', error_description: STORE_UNAVAILABLE_MESSAGE });
    proxy.resume();
    const back = await call(4);
    expect(back.status).toBe(200);
    // Logged as the server's failure, not the caller's.
    expect(
      await server.logLine(entry => entry['msg'] === 'a token could not be checked: the store does not answer')
    ).toMatchObject({ level: 'error', environment: 'notes' });
  }, 60_000);
});
