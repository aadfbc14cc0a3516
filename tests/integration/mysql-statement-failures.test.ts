import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { createMysqlDatabases, mysqlDatabaseConfig } from '../dialects/engines/mysql.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * What a caller's statement on MariaDB makes of results and errors that look like something else: a
 * column named like an object internal (which mysql2's compiled row parser refuses), and a server error
 * whose number also means "cannot log in" or "no such database" when it comes at connection time.
 */
describe('MariaDB: statements whose results or errors look like something else', () => {
  let drop: () => Promise<void>;
  let db: DatabaseRuntime;

  beforeAll(async () => {
    const created = await createMysqlDatabases(
      'CREATE TABLE {main}.odd (id int PRIMARY KEY, `__proto__` text, `__lookupGetter__` int);\n' +
        "INSERT INTO {main}.odd VALUES (1, 'p', 7);\n"
    );
    drop = created.drop;
    db = testRuntime(mysqlDatabaseConfig(created.main, { poolMax: 1 }));
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await drop();
  });

  it('returns columns named __proto__ and the like, from a query and from a table sample', async () => {
    const result = await db.query('SELECT 1 AS `__proto__`, 2 AS `__defineSetter__`, 3 AS n');
    expect(result.columns.map(column => column.name)).toEqual(['__proto__', '__defineSetter__', 'n']);
    expect(result.rows).toEqual([[1, 2, 3]]);
    const sample = await db.sample(await db.resolveTable('odd'), 5);
    expect(sample.rows).toEqual([[1, 'p', 7]]);
    // The next result, with ordinary names, is read as before.
    expect((await db.query('SELECT 4 AS a')).rows).toEqual([[4]]);
  });

  it('reports a statement naming a database that does not exist as the statement failing, not the login', async () => {
    const error = await db.query('SHOW TABLES FROM sqlbridge_no_such_database').then(
      () => undefined,
      (caught: unknown) => caught
    );
    expect(error).toBeInstanceOf(SqlbridgeError);
    expect((error as SqlbridgeError).code).toBe('query_failed');
    expect((error as SqlbridgeError).message).toMatch(/Unknown database/);
    // The environment still answers.
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([[1]]);
  });
});
