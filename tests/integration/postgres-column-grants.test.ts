import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { randomId } from '../dialects/engine.ts';
import { createPostgresDatabase, pgAdmin, postgresDatabaseConfig } from '../dialects/engines/postgres.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * A login granted some columns of a table and not the others: the catalog tools show the table with
 * the columns it may read, and a sample reads those columns (SELECT * would be refused).
 */
describe('PostgreSQL: a login with a grant on some columns only', () => {
  const login = `sqlbridge_test_columns_${randomId()}`;
  let drop: () => Promise<void>;
  let db: DatabaseRuntime;

  beforeAll(async () => {
    let name: string;
    ({ name, drop } = await createPostgresDatabase(
      `CREATE TABLE people (id integer PRIMARY KEY, display_name text, salary integer);
       INSERT INTO people VALUES (1, 'Ada', 5000), (2, 'Grace', 6000);
       CREATE ROLE ${login} LOGIN;
       GRANT SELECT (id, display_name) ON people TO ${login};`
    ));
    db = testRuntime({ ...postgresDatabaseConfig(name, { poolMax: 1 }), user: login });
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await drop();
    await pgAdmin('test', client => client.query(`DROP ROLE IF EXISTS ${login}`));
  });

  it('describes the readable columns and samples them', async () => {
    const table = await db.resolveTable('people');
    expect((await db.describeTable('people')).columns.map(column => column.name)).toEqual(['id', 'display_name']);
    const sample = await db.sample(table, 5);
    expect(sample.columns.map(column => column.name)).toEqual(['id', 'display_name']);
    expect(sample.rows).toEqual([
      [1, 'Ada'],
      [2, 'Grace']
    ]);
    // The column it may not read stays refused by the database itself.
    await expect(db.query('SELECT salary FROM people')).rejects.toMatchObject({ code: 'query_failed' });
  });
});
