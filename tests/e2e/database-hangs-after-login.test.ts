import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDatabases, MYSQL } from '../dialects/engines/mysql.ts';
import { auditFileIn, untilAuditFile } from '../helpers/audit-file.ts';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { callTool, connectWithoutAuth, disconnect } from '../helpers/mcp-connect.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { killIfRunning } from '../helpers/shutdown.ts';

/**
 * A MariaDB that takes the login and the session's settings, then answers nothing (a relay in front
 * of the real server holds every connection from its first `SELECT VERSION()` on). The server still
 * starts and serves, a call fails at its time limit saying the connection timed out (recorded in the
 * trail with its statement), and SIGTERM ends the process although its connections never close.
 */

const QUERY_TIMEOUT_MS = 1500;
const CONNECT_TIMEOUT_MS = 1000;

let database: Awaited<ReturnType<typeof createMysqlDatabases>>;
let proxy: CountingProxy;
let server: RunningServer | undefined;
let dir: string;

beforeAll(async () => {
  database = await createMysqlDatabases('CREATE TABLE {main}.t (id int PRIMARY KEY);');
  proxy = await startCountingProxy(MYSQL, 'VERSION()');
  proxy.stallAtNeedle();
  dir = emptyDir('hangs-after-login-');
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      `dataDir: ${dir}`,
      'audit: { flushIntervalMs: 50 }',
      'environments:',
      '  shop:',
      `    database: { engine: mysql, host: 127.0.0.1, port: ${proxy.port}, user: ${MYSQL.user}, database: ${database.main}, tls: disable, connectTimeoutMs: ${CONNECT_TIMEOUT_MS} }`,
      `    limits: { queryTimeoutMs: ${QUERY_TIMEOUT_MS} }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--no-auth', '--config', config], timeoutMs: 20_000 });
}, 60_000);

afterAll(async () => {
  if (server !== undefined) await killIfRunning(server);
  proxy.resume();
  await proxy.close();
  await database.drop();
}, 30_000);

describe('a database that takes the login, then answers nothing', () => {
  it('starts, names the environment as not connected, and its first connection attempt ended', () => {
    // The start-up connection got as far as asking the server what it is.
    expect(proxy.count()).toBeGreaterThanOrEqual(1);
    expect(server?.logs.some(line => line['environment'] === 'shop' && line['level'] === 'error')).toBe(true);
  });

  it('fails a call at its time limit, saying the connection timed out, with a record of the statement', async () => {
    if (server === undefined) throw new Error('the server did not start');
    const client = await connectWithoutAuth(server.baseUrl, 'shop');
    const started = performance.now();
    let answer;
    try {
      answer = await callTool(client, 'execute_sql', { query: 'SELECT id FROM t' });
    } finally {
      await disconnect(client);
    }
    const tookMs = performance.now() - started;
    expect(answer.isError).toBe(true);
    expect(answer.text).toContain('connecting to the database server timed out');
    expect(answer.text).not.toContain('cancelled on the database');
    // The statement's time limit, give or take the call's own round trips, not the connection's 2 s.
    expect(tookMs).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 50);
    expect(tookMs).toBeLessThan(2 * CONNECT_TIMEOUT_MS + 1000);
    const records = await untilAuditFile(auditFileIn(dir), written =>
      written.some(record => record.event.startsWith('query.') && record.statement === 'SELECT id FROM t')
    );
    const query = records.find(record => record.event.startsWith('query.') && record.statement === 'SELECT id FROM t');
    expect(query).toMatchObject({ outcome: 'failed', errorClass: 'connection_failed' });
  });

  it('stops on SIGTERM, exit 0, though its connections never close', async () => {
    if (server === undefined) throw new Error('the server did not start');
    const started = performance.now();
    expect(await server.stop()).toBe(0);
    expect(performance.now() - started).toBeLessThan(15_000);
  }, 30_000);
});
