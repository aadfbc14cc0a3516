import { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DatabaseConfig } from '../../src/config/schema.ts';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { SERVER_TIMEOUT_MARGIN_MS } from '../../src/db/registry.ts';
import {
  MSSQL_URL,
  createMssqlDatabase,
  mssqlDatabaseConfig,
  type MssqlTestDatabase
} from '../dialects/engines/mssql.ts';
import { MYSQL, createMysqlDatabases, mysqlAdmin } from '../dialects/engines/mysql.ts';
import { POSTGRES, createPostgresDatabase, pgAdmin } from '../dialects/engines/postgres.ts';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.ts';
import { busyFor } from '../helpers/slow-postgres.ts';
import { TEST_LIMITS, testRuntime } from '../helpers/test-runtime.ts';

/**
 * Behind the statement guard, nothing one call leaves in a database session reaches the next
 * caller: PostgreSQL sessions are reset after every call (a failed read's too), MySQL connections that wrote are
 * closed, SQL Server connections are reset (sp_reset_connection) before they are lent again, and a
 * PostgreSQL or MariaDB connection a cancel was sent for is not lent again at all (the cancel could
 * reach it once it serves the next caller). Proven with the guard switched off, so that the
 * statements reach the engine.
 */

/** The engine alone: statements reach it as written. */
function engineOnly(database: DatabaseConfig, readOnly: boolean): DatabaseRuntime {
  return testRuntime(database, { readOnly, statementGuard: false });
}

describe('PostgreSQL', () => {
  let database: { name: string; drop: () => Promise<void> };
  let db: DatabaseRuntime;

  beforeAll(async () => {
    database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
    db = engineOnly(
      {
        engine: 'postgres',
        host: POSTGRES.host,
        port: POSTGRES.port,
        user: POSTGRES.user,
        database: database.name,
        tls: 'disable',
        connectTimeoutMs: 5000,
        // One connection, so the next call gets the same session.
        pool: { max: 1, idleTimeoutMs: 60_000 }
      },
      false
    );
  });

  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  it('releases advisory locks a read took (they outlive its rolled-back transaction)', async () => {
    await db.query('SELECT pg_advisory_lock(471147)');
    const held = await pgAdmin(database.name, client =>
      client.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 471147")
    );
    expect(held.rows[0]).toEqual({ n: 0 });
  });

  it('ends prepared statements a read made (they outlive its rolled-back transaction)', async () => {
    await db.query('PREPARE leak AS SELECT 1');
    const next = await db.query('SELECT count(*)::int FROM pg_prepared_statements');
    expect(next.rows).toEqual([[0]]);
  });

  it.each([
    ['a LISTEN', 'LISTEN leak', 'SELECT count(*)::int FROM pg_listening_channels()', [[0]]],
    [
      'a cursor WITH HOLD',
      'DECLARE leak CURSOR WITH HOLD FOR SELECT 1',
      // The unnamed portal is the checking query's own.
      "SELECT count(*)::int FROM pg_cursors WHERE name <> ''",
      [[0]]
    ],
    [
      'session settings',
      "SELECT set_config('sqlbridge.leak', 'x', false), set_config('search_path', 'pg_catalog', false)",
      "SELECT coalesce(current_setting('sqlbridge.leak', true), ''), current_setting('search_path')",
      [['', '"$user", public']]
    ]
  ])('ends %s a read made with its transaction', async (_what, leak, check, expected) => {
    await db.query(leak);
    expect((await db.query(check)).rows).toEqual(expected);
  });

  it.each([
    [
      'an advisory lock',
      'SELECT pg_advisory_lock(471148), 1 / (g - 1) FROM generate_series(1, 1) AS g',
      "SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND objid = 471148",
      [[0]]
    ],
    [
      'session settings',
      "SELECT set_config('sqlbridge.leak', 'x', false), 1 / (g - 1) FROM generate_series(1, 1) AS g",
      "SELECT coalesce(current_setting('sqlbridge.leak', true), '')",
      [['']]
    ]
  ])('ends %s a failed read made, and lends the same connection again', async (_what, leak, check, expected) => {
    const before = await db.query('SELECT pg_backend_pid()');
    await expect(db.query(leak)).rejects.toThrow(/division by zero/);
    // One connection in the pool: the check runs in the session the failed read used.
    const after = await db.query(`SELECT pg_backend_pid(), (${check})`);
    expect(after.rows).toEqual([[before.rows[0]?.[0], ...expected[0]!]]);
  });

  it.each([
    ['read', (sql: string, signal: AbortSignal) => db.query(sql, { signal })],
    ['write', (sql: string, signal: AbortSignal) => db.write(sql, { signal })]
  ])('never lends again a session a cancel request was sent for, during a %s', async (_what, run) => {
    const before = (await db.query('SELECT pg_backend_pid()')).rows[0]?.[0];
    const controller = new AbortController();
    const cancelled = run(busyFor(10), controller.signal);
    setTimeout(() => controller.abort(new Error('the caller went away')), 200);
    await expect(cancelled).rejects.toThrow(/cancelled by the client/);
    // The request reaches the backend in its own time, maybe once it runs the next caller's statement.
    const after = (await db.query('SELECT pg_backend_pid()')).rows[0]?.[0];
    expect(typeof after).toBe('number');
    expect(after).not.toBe(before);
  });

  it('sends a read, failed or not, and the reset of its session in one write', async () => {
    await db.query('SELECT 1');
    // Socket writes of this process to the server (pg corks a query's messages into one).
    const write = vi.spyOn(Socket.prototype, '_write');
    const writev = vi.spyOn(Socket.prototype, '_writev');
    const writes = (): number =>
      [...write.mock.contexts, ...writev.mock.contexts].filter(
        socket => (socket as Socket).remotePort === POSTGRES.port
      ).length;
    try {
      await db.query('SELECT 1');
      expect(writes()).toBe(1);
      await expect(db.query('SELECT 1 / (g - 1) FROM generate_series(1, 1) AS g')).rejects.toThrow(/division by zero/);
      expect(writes()).toBe(2);
    } finally {
      write.mockRestore();
      writev.mockRestore();
    }
  });

  it('runs every read and write under the statement timeout, which a read cannot change for the next', async () => {
    const timeout = String(TEST_LIMITS.queryTimeoutMs + SERVER_TIMEOUT_MARGIN_MS);
    const setting = "SELECT setting FROM pg_settings WHERE name = 'statement_timeout'";
    expect((await db.query(setting)).rows).toEqual([[timeout]]);
    await db.query("SELECT set_config('statement_timeout', '1', false)");
    expect((await db.query(setting)).rows).toEqual([[timeout]]);
    expect((await db.write(setting)).rows).toEqual([[timeout]]);
    // A write's own SET lasts until the session is reset after it.
    await db.write('SET statement_timeout = 1');
    expect((await db.query(setting)).rows).toEqual([[timeout]]);
  });

  it('drops temporary tables a write created (they would hide real tables from later callers)', async () => {
    await db.write('CREATE TEMP TABLE t AS SELECT 99 AS id');
    const next = await db.query('SELECT count(*)::int FROM t');
    expect(next.rows).toEqual([[0]]);
  });
});

describe('MariaDB', () => {
  let database: { main: string; drop: () => Promise<void> };
  let db: DatabaseRuntime;

  beforeAll(async () => {
    database = await createMysqlDatabases('CREATE TABLE {main}.t (id int PRIMARY KEY);\n');
    db = engineOnly(
      {
        engine: 'mysql',
        host: MYSQL.host,
        port: MYSQL.port,
        user: MYSQL.user,
        database: database.main,
        tls: 'disable',
        connectTimeoutMs: 5000,
        pool: { max: 1, idleTimeoutMs: 60_000 }
      },
      false
    );
  });

  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  it('closes a connection that wrote, so its named locks and variables go with it', async () => {
    await db.write("SELECT GET_LOCK('sqlbridge_reset_test', 0), @leak := 1");
    const free = await mysqlAdmin(async connection => {
      const [rows] = await connection.query("SELECT IS_FREE_LOCK('sqlbridge_reset_test') AS free");
      return rows as { free: number }[];
    });
    expect(free[0]?.free).toBe(1);
    const next = await db.write('SELECT @leak AS leak');
    expect(next.rows[0]?.[0]).toBeNull();
  });
});

describe.each([
  {
    name: 'PostgreSQL',
    engine: 'postgres',
    target: POSTGRES,
    create: () =>
      createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)').then(({ name, drop }) => ({ name, drop })),
    slow: { sql: busyFor(1), rows: [[1]] },
    /** The session's id, once 0.5 s have passed. */
    sessionAfterWork: `SELECT pg_backend_pid(), (${busyFor(0.5)}) AS done`
  },
  {
    name: 'MariaDB',
    engine: 'mysql',
    target: MYSQL,
    create: () =>
      createMysqlDatabases('CREATE TABLE {main}.t (id int PRIMARY KEY);\n').then(({ main, drop }) => ({
        name: main,
        drop
      })),
    slow: { sql: 'SELECT SLEEP(1) AS slept', rows: [[0]] },
    sessionAfterWork: 'SELECT CONNECTION_ID(), SLEEP(0.5) AS slept'
  }
] as const)('$name, with a cancel that is slow to arrive', ({ engine, target, create, slow, sessionAfterWork }) => {
  let drop: () => Promise<void>;
  let proxy: CountingProxy;
  let db: DatabaseRuntime;

  beforeAll(async () => {
    proxy = await startCountingProxy(target, 'KILL');
    const created = await create();
    drop = created.drop;
    // Through the relay, one connection in the pool.
    db = engineOnly(
      {
        engine,
        host: '127.0.0.1',
        port: proxy.port,
        user: target.user,
        database: created.name,
        tls: 'disable',
        connectTimeoutMs: 5000,
        pool: { max: 1, idleTimeoutMs: 60_000 }
      },
      true
    );
  });

  afterEach(() => proxy.resume());

  afterAll(async () => {
    await db.close();
    await proxy.close();
    await drop();
  });

  it('never lends the session to the next caller, whose statement the cancel would stop', async () => {
    const first = (await db.query(sessionAfterWork)).rows[0]?.[0];
    // The cancel (PostgreSQL's cancel request, MariaDB's KILL) goes over a connection of its own,
    // which now waits to reach the server.
    proxy.stallNewConnections();
    const controller = new AbortController();
    const cancelled = db.query(slow.sql, { signal: controller.signal });
    // Well within the statement's second, however busy the machine.
    setTimeout(() => controller.abort(new Error('the caller went away')), 100);
    // The statement finished before the cancel could arrive: its answer stands.
    expect((await cancelled).rows).toEqual(slow.rows);
    const next = db.query(sessionAfterWork);
    // The cancel arrives while the next caller's statement runs.
    setTimeout(() => proxy.resume(), 200);
    const [session] = (await next).rows[0] ?? [];
    expect(typeof session).toBe('number');
    expect(session).not.toBe(first);
  });
});

// SQL Server cannot run on this project's machines; this runs wherever SQLBRIDGE_TEST_MSSQL_URL names one.
describe.skipIf(MSSQL_URL === undefined)('SQL Server', () => {
  let database: MssqlTestDatabase;
  let db: DatabaseRuntime;

  beforeAll(async () => {
    database = await createMssqlDatabase(['CREATE TABLE dbo.t (id int PRIMARY KEY)']);
    // One connection, so the next call gets the same server session.
    db = engineOnly(mssqlDatabaseConfig(database.name, 1), false);
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await database.drop();
  }, 60_000);

  /** The one value `sql` returns. */
  async function value(sql: string): Promise<unknown> {
    return (await db.query(sql)).rows[0]?.[0];
  }

  it('resets SET options one caller chose, on the same server session', async () => {
    const session = await value('SELECT @@SPID');
    await db.write('SET DATEFIRST 3');
    await db.write('SET LANGUAGE Italiano');
    // The login defaults tedious asks for (DATEFIRST 7, us_english), not the previous caller's.
    expect(await value('SELECT @@DATEFIRST')).toBe(7);
    expect(await value('SELECT @@LANGUAGE')).toBe('us_english');
    expect(await value('SELECT @@SPID')).toBe(session);
  });

  it('drops #temp tables a write created', async () => {
    await db.write('SELECT 99 AS id INTO #leak');
    expect(await value("SELECT OBJECT_ID(N'tempdb..#leak')")).toBeNull();
    // The name is free again: the next caller may create it.
    await db.write('SELECT 1 AS id INTO #leak');
  });

  it('clears SESSION_CONTEXT a caller set, even when set read-only', async () => {
    await db.write("EXEC sys.sp_set_session_context @key = N'leak', @value = N'secret', @read_only = 1");
    expect(await value("SELECT CAST(SESSION_CONTEXT(N'leak') AS nvarchar(100))")).toBeNull();
    // A read-only key could not be set again on the same logical connection; after the reset it can.
    await db.write("EXEC sys.sp_set_session_context @key = N'leak', @value = N'again', @read_only = 1");
    expect(await value("SELECT CAST(SESSION_CONTEXT(N'leak') AS nvarchar(100))")).toBeNull();
  });
});
