import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { createMysqlDatabases, mysqlDatabaseConfig } from '../dialects/engines/mysql.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * Every connection of a MariaDB environment's pool in use for longer than a caller may wait for one
 * (mysql2's pool would wait without end; the connect timeout and a second): the call fails saying the database is busy, as on
 * PostgreSQL, instead of waiting out its whole time limit and being told its query was cancelled on
 * the database, which never ran it; the next call, once a connection is free, is served.
 */
describe('MariaDB: a pool whose every connection is in use', () => {
  let drop: () => Promise<void>;
  let db: DatabaseRuntime;

  beforeAll(async () => {
    let main: string;
    ({ main, drop } = await createMysqlDatabases('CREATE TABLE {main}.t (id int PRIMARY KEY);'));
    // The subject is the driver: SLEEP() reaches the engine.
    db = testRuntime(
      { ...mysqlDatabaseConfig(main, { poolMax: 1 }), connectTimeoutMs: 500 },
      { statementGuard: false, limits: { queryTimeoutMs: 10_000 } }
    );
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await drop();
  });

  it('fails a call that waited for a connection as busy, and serves the next', async () => {
    const holding = db.query('SELECT SLEEP(3) AS slept');
    const started = performance.now();
    const error = await db.query('SELECT 1 AS one').then(
      () => undefined,
      (failure: unknown) => failure
    );
    expect(error).toBeInstanceOf(SqlbridgeError);
    expect((error as SqlbridgeError).code).toBe('database_busy');
    expect((error as SqlbridgeError).message).toBe(
      "all 1 of this environment's connections to the database were in use for 1.5 s"
    );
    expect(performance.now() - started).toBeLessThan(2800);
    await holding;
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([[1]]);
  });
});
