import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDialect } from '../../src/db/registry.ts';
import { DatabaseRuntime, type RuntimeLimits } from '../../src/db/runtime.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { createPostgresDatabase, postgresDatabaseConfig } from '../dialects/engines/postgres.ts';

/**
 * A write that fails is rolled back, but a PostgreSQL session keeps what no transaction holds:
 * lastval(), a session-level advisory lock, a prepared statement. On a pool of one connection the
 * next caller gets that same session, which must show none of it.
 */

const LIMITS: RuntimeLimits = {
  maxRows: 10,
  maxStatements: 2,
  maxResultChars: 100_000,
  queryTimeoutMs: 10_000,
  binaryPreviewBytes: 48
};

let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
let db: DatabaseRuntime;

beforeAll(async () => {
  database = await createPostgresDatabase(
    'CREATE TABLE tickets (id integer PRIMARY KEY); INSERT INTO tickets VALUES (1); CREATE SEQUENCE numbers;'
  );
  db = new DatabaseRuntime({
    environment: 'rw',
    dialect: createDialect(
      {
        readOnly: false,
        limits: { ...LIMITS, maxSampleRows: 10 },
        database: { ...postgresDatabaseConfig(database.name), pool: { max: 1, idleTimeoutMs: 60_000 } }
      },
      { environment: 'rw', dataDir: emptyDir(), logger: createLogger('silent') }
    ),
    readOnly: false,
    limits: LIMITS
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
