import type mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../src/config/schema.ts';
import { STOP_GRACE_MS as MYSQL_STOP_GRACE_MS } from '../../src/db/dialects/mysql/mysql-driver.ts';
import { STOP_GRACE_MS as POSTGRES_STOP_GRACE_MS } from '../../src/db/dialects/postgres/postgres-borrow.ts';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { CONNECTION_LOST } from '../../src/errors/connection-error.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { randomId } from '../dialects/engine.ts';
import { MYSQL, createMysqlDatabases, mysqlAdmin, mysqlEngine } from '../dialects/engines/mysql.ts';
import { POSTGRES, createPostgresDatabase, pgAdmin, postgres } from '../dialects/engines/postgres.ts';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.ts';
import { until } from '../helpers/shutdown.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * The database ends a session sqlbridge is using, or stops answering altogether: the call on it
 * fails with a safe error, soon, and nothing else does (not the process, not the next call, which
 * runs on a new session). PostgreSQL and MariaDB; SQL Server's case is
 * mssql-connection-killed.test.ts, and a database that restarts is tests/recovery.
 */

/** The deadline of calls to a database that stops answering. */
const SHORT_TIMEOUT_MS = 500;

/** The failure of a call that must fail, and when it came. */
async function failureOf(call: Promise<unknown>): Promise<{ error: SqlbridgeError; at: number }> {
  const error = await call.then(
    () => undefined,
    (failure: unknown) => failure
  );
  const at = Date.now();
  expect(error).toBeInstanceOf(SqlbridgeError);
  const message = (error as SqlbridgeError).message;
  // Nothing of the connection's settings or the code's insides reaches the caller.
  expect(message).not.toMatch(/password|127\.0\.0\.1|:\d{4}\b|\bat \S+\.(js|ts)/i);
  return { error: error as SqlbridgeError, at };
}

const CASES = [
  {
    name: 'PostgreSQL',
    engine: 'postgres',
    target: POSTGRES,
    grace: POSTGRES_STOP_GRACE_MS,
    create: () => createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1), (2);'),
    slow: (marker: string) => postgres.sleep(marker),
    running: (database: string, marker: string) =>
      postgres.running!({ database: { engine: 'postgres', database } } as never, marker),
    sessionId: 'SELECT pg_backend_pid()',
    /** Ends the sessions running a statement tagged `marker`, as an administrator or a failover would. */
    endSessions: (marker: string) =>
      pgAdmin('test', async client => {
        const ended = await client.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()',
          [`%${marker}%`]
        );
        return ended.rowCount ?? 0;
      })
  },
  {
    name: 'MariaDB',
    engine: 'mysql',
    target: MYSQL,
    grace: MYSQL_STOP_GRACE_MS,
    create: () =>
      createMysqlDatabases('CREATE TABLE {main}.t (id int PRIMARY KEY);\nINSERT INTO {main}.t VALUES (1), (2);\n').then(
        ({ main, drop }) => ({ name: main, drop })
      ),
    slow: (marker: string) => mysqlEngine.sleep(marker),
    running: (_database: string, marker: string) => mysqlEngine.running!({} as never, marker),
    sessionId: 'SELECT CONNECTION_ID()',
    endSessions: (marker: string) =>
      mysqlAdmin(async connection => {
        const [rows] = await connection.query<mysql.RowDataPacket[]>(
          'SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()',
          [`%${marker}%`]
        );
        for (const row of rows) await connection.query('KILL CONNECTION ?', [row['ID']]);
        return rows.length;
      })
  }
] as const;

describe.each(CASES)('$name', ({ engine, target, grace, create, slow, running, sessionId, endSessions }) => {
  let drop: () => Promise<void>;
  let name: string;
  let proxy: CountingProxy;
  /** Straight to the database, one connection: the session ended is the one the next call would be lent. */
  const direct: Record<'read' | 'write', DatabaseRuntime> = {} as never;
  /** Through a relay that can stop relaying, as a database that hangs would, with a short deadline. */
  const relayed: Record<'read' | 'write', DatabaseRuntime> = {} as never;

  beforeAll(async () => {
    ({ name, drop } = await create());
    proxy = await startCountingProxy(target, 'KILL');
    const database = (port: number): DatabaseConfig => ({
      engine,
      host: target.host,
      port,
      user: target.user,
      database: name,
      tls: 'disable',
      connectTimeoutMs: 5000,
      pool: { max: 1, idleTimeoutMs: 60_000 }
    });
    for (const mode of ['read', 'write'] as const) {
      // The subject is the driver: statements reach the engine as written.
      const options = { readOnly: mode === 'read', statementGuard: false };
      direct[mode] = testRuntime(database(target.port), options);
      relayed[mode] = testRuntime(database(proxy.port), { ...options, limits: { queryTimeoutMs: SHORT_TIMEOUT_MS } });
    }
  }, 60_000);

  afterEach(() => proxy.resume());

  afterAll(async () => {
    for (const db of [...Object.values(direct), ...Object.values(relayed)]) await db.close();
    await proxy.close();
    await drop();
  });

  async function session(db: DatabaseRuntime): Promise<unknown> {
    return (await db.query(sessionId)).rows[0]?.[0];
  }

  it.each(['read', 'write'] as const)(
    'a %s whose session the database ends fails at once with a safe error; the next call runs on a new session',
    async mode => {
      const db = direct[mode];
      const before = await session(db);
      const marker = `sqlbridge-lost-${randomId()}`;
      const call = failureOf(db.query(slow(marker)));
      expect(await until(async () => (await running(name, marker)) > 0, 5000)).toBe(true);
      const endedAt = Date.now();
      expect(await endSessions(marker)).toBe(1);
      const { error, at } = await call;
      // The database said the session is gone: no waiting for the 20-second deadline.
      expect(error.code).toBe('connection_failed');
      expect(error.message).toBe(CONNECTION_LOST.message);
      expect(error.hint).toBe(CONNECTION_LOST.hint);
      expect(at - endedAt).toBeLessThan(5000);
      // Gone from the server too (an ended session may linger there for a moment).
      expect(await until(async () => (await running(name, marker)) === 0, 5000)).toBe(true);
      const after = await db.query('SELECT id FROM t ORDER BY id');
      expect(after.rows).toEqual([[1], [2]]);
      const now = await session(db);
      expect(now).toEqual(expect.any(Number));
      expect(now).not.toBe(before);
    },
    30_000
  );

  it.each(['read', 'write'] as const)(
    'a %s on a database that stops answering is answered once its deadline and the grace to stop it have passed, saying the statement may still run; calls work again once it answers',
    async mode => {
      const db = relayed[mode];
      expect((await db.query('SELECT id FROM t ORDER BY id')).rows).toEqual([[1], [2]]);
      proxy.stall();
      const started = Date.now();
      const { error, at } = await failureOf(db.query('SELECT id FROM t ORDER BY id'));
      expect(error.code).toBe('query_timeout');
      expect(error.message).toContain('may still run');
      // Not before the grace after the deadline (the stop was awaited), and not long after it.
      expect(at - started).toBeGreaterThanOrEqual(SHORT_TIMEOUT_MS + grace - 50);
      expect(at - started).toBeLessThan(SHORT_TIMEOUT_MS + grace + 3000);
      proxy.resume();
      expect((await db.query('SELECT id FROM t ORDER BY id')).rows).toEqual([[1], [2]]);
    },
    30_000
  );
});
