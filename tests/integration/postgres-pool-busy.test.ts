import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from '../../src/db/driver.ts';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { toolErrorResult } from '../../src/mcp/tool-error.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createPostgresDatabase, postgresDatabaseConfig } from '../dialects/engines/postgres.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * Every connection of a PostgreSQL environment's pool in use for longer than a caller may wait for
 * one: the call fails saying the database is busy, not that it is unavailable (which would send an
 * operator looking for an outage), and the next call, once a connection is free, is served.
 */
describe('PostgreSQL: a pool whose every connection is in use', () => {
  let drop: () => Promise<void>;
  let db: DatabaseRuntime;
  let name: string;

  beforeAll(async () => {
    ({ name, drop } = await createPostgresDatabase('SELECT 1'));
    // The subject is the driver: pg_sleep reaches the engine.
    db = testRuntime(postgresDatabaseConfig(name, { poolMax: 1, connectTimeoutMs: 500 }), { statementGuard: false });
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await drop();
  });

  it('fails a call that waited for a connection as busy, and serves the next', async () => {
    const holding = db.query('SELECT pg_sleep(1.5) AS slept');
    const error = await db.query('SELECT 1 AS one').then(
      () => undefined,
      (failure: unknown) => failure
    );
    expect(error).toBeInstanceOf(SqlbridgeError);
    expect((error as SqlbridgeError).code).toBe('database_busy');
    expect((error as SqlbridgeError).message).toBe(
      "all 1 of this environment's connections to the database were in use for 0.5 s"
    );
    const result = toolErrorResult(error, createLogger('silent'), {});
    expect(result.content).toEqual([
      {
        type: 'text',
        text: "The database is busy: all 1 of this environment's connections to the database were in use for 0.5 s\nHint: try again in a moment, and run fewer queries at once; an operator may raise database.pool.max"
      }
    ]);
    await holding;
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([[1]]);
  });

  it('says the database was busy, not that the statement ran too long, when the time limit ends the wait', async () => {
    // A time limit shorter than the wait the pool allows: the deadline ends the wait for a connection.
    const short = testRuntime(postgresDatabaseConfig(name, { poolMax: 1, connectTimeoutMs: 5000 }), {
      statementGuard: false,
      limits: { queryTimeoutMs: 500 }
    });
    try {
      // Connected first: the runtime's start-up reads need a connection too.
      expect((await short.query('SELECT 1 AS one')).rows).toEqual([[1]]);
      // The one connection held past the call's time limit, through the runtime's own driver.
      const driver = (short as unknown as { driver: Driver }).driver;
      const sink = { columns: () => undefined, row: () => true };
      const holding = driver.stream(
        { sql: 'SELECT pg_sleep(1) AS slept', readOnly: true },
        sink,
        AbortSignal.timeout(10_000)
      );
      await new Promise(resolve => setTimeout(resolve, 100));
      const error = await short.query('SELECT 1 AS one').then(
        () => undefined,
        (failure: unknown) => failure
      );
      expect(error).toBeInstanceOf(SqlbridgeError);
      expect((error as SqlbridgeError).code).toBe('database_busy');
      expect((error as SqlbridgeError).message).toMatch(
        /^all 1 of this environment's connections to the database were in use for 0\.[4-6] s$/
      );
      await holding;
    } finally {
      await short.close();
    }
  });
});
