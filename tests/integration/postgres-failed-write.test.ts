import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { createPostgresDatabase, postgresDatabaseConfig } from '../dialects/engines/postgres.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * A write that fails is rolled back, but a PostgreSQL session keeps what no transaction holds:
 * lastval(), a session-level advisory lock, a prepared statement. On a pool of one connection the
 * next caller gets that same session, which must show none of it.
 */

let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
let db: DatabaseRuntime;

beforeAll(async () => {
  database = await createPostgresDatabase(
    'CREATE TABLE tickets (id integer PRIMARY KEY); INSERT INTO tickets VALUES (1); CREATE SEQUENCE numbers;'
  );
  db = testRuntime(postgresDatabaseConfig(database.name, { poolMax: 1 }), {
    readOnly: false,
    limits: { maxStatements: 2 }
  });
  await db.init();
}, 60_000);

afterAll(async () => {
  await db.close();
  await database.drop();
});

describe('PostgreSQL: the session after a failed write', () => {
  it.each([
    ['a unique violation', "SELECT nextval('numbers'); INSERT INTO tickets VALUES (1)"],
    ['an error in the last statement', "SELECT nextval('numbers'); SELECT 1 / 0"]
  ])('holds no lastval() after %s', async (_name, write) => {
    await expect(db.write(write)).rejects.toMatchObject({ code: 'query_failed' });
    await expect(db.query('SELECT lastval()')).rejects.toThrow('lastval is not yet defined in this session');
  });

  it('still commits and serves after a failed write', async () => {
    await expect(db.write('INSERT INTO tickets VALUES (1)')).rejects.toMatchObject({ code: 'query_failed' });
    expect((await db.write('INSERT INTO tickets VALUES (2)')).rowsAffected).toBe(1);
    expect((await db.query('SELECT count(*)::int FROM tickets')).rows).toEqual([[2]]);
  });
});
