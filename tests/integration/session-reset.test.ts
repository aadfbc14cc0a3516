import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../src/config/schema.ts';
import { createDialect } from '../../src/db/registry.ts';
import { DatabaseRuntime } from '../../src/db/runtime.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { MYSQL, createMysqlDatabases, mysqlAdmin } from '../dialects/engines/mysql.ts';
import { POSTGRES, createPostgresDatabase, pgAdmin } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';

/**
 * Behind the statement guard, nothing one call leaves in a database session reaches the next
 * caller: PostgreSQL sessions are discarded after every call, MySQL connections that wrote are
 * closed. Proven with the guard switched off, so that the statements reach the engine.
 */

const LIMITS = {
  maxRows: 100,
  maxResultChars: 50_000,
  queryTimeoutMs: 20_000,
  maxStatements: 1,
  binaryPreviewBytes: 48
};

function engineOnly(database: DatabaseConfig, readOnly: boolean): DatabaseRuntime {
  return new DatabaseRuntime({
    environment: 'reset',
    dialect: createDialect(
      { readOnly, database, limits: { ...LIMITS, maxSampleRows: 10 } },
      { environment: 'reset', dataDir: emptyDir(), logger: createLogger('silent') }
    ),
    readOnly,
    limits: LIMITS,
    statementGuard: false
  });
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
