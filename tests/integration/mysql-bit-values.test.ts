import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { createMysqlDatabases, mysqlDatabaseConfig } from '../dialects/engines/mysql.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * BIT values on the real MariaDB/MySQL server: a column's value arrives as its bits, but MariaDB
 * sends a BIT-typed expression's (MAX, COALESCE, IF, CASE, a scalar subquery) as decimal digits
 * under the same column type, which read as bits gave MAX of a BIT(8) holding 129 as 3,224,121
 * and MAX of a true BIT(1) flag as false.
 */

const ALL_ONES = '18446744073709551615';

let database: Awaited<ReturnType<typeof createMysqlDatabases>> | undefined;
let db: DatabaseRuntime | undefined;

async function firstRow(sql: string): Promise<unknown[]> {
  if (db === undefined) throw new Error('the runtime did not start');
  const outcome = await db.query(sql);
  return outcome.rows[0] ?? [];
}

beforeAll(async () => {
  database = await createMysqlDatabases(
    [
      'CREATE TABLE {main}.flags (id int PRIMARY KEY, b1 BIT(1), b3 BIT(3), b8 BIT(8), b16 BIT(16), b64 BIT(64));',
      "INSERT INTO {main}.flags VALUES (1, b'1', b'101', b'10000001', 12594, ~0), (2, b'0', b'010', b'00000010', 5, 7);",
      // 49 is the byte "1": as bits it reads 49, as a digit 1.
      'CREATE TABLE {main}.digits (b8 BIT(8));',
      'INSERT INTO {main}.digits VALUES (49);',
      'CREATE VIEW {main}.merged AS SELECT COALESCE(b8, b8) AS z, IF(b1, b1, b1) AS y FROM {main}.flags WHERE id = 1;'
    ].join('\n')
  );
  db = testRuntime(mysqlDatabaseConfig(database.main, { poolMax: 1 }));
  await db.init();
}, 60_000);

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

describe('MySQL/MariaDB BIT values', () => {
  it('reads a column whose byte is an ASCII digit as its bits', async () => {
    expect(await firstRow('SELECT b8 FROM digits')).toEqual([49]);
  });

  it('reads columns as their bits', async () => {
    expect(await firstRow('SELECT b1, b3, b8, b16, b64 FROM flags WHERE id = 1')).toEqual([
      true,
      5,
      129,
      12594,
      ALL_ONES
    ]);
  });

  it.each([
    ['MAX', 'SELECT MAX(b1), MAX(b3), MAX(b8), MAX(b16), MAX(b64) FROM flags', [true, 5, 129, 12594, ALL_ONES]],
    ['MIN', 'SELECT MIN(b1), MIN(b3), MIN(b8), MIN(b16), MIN(b64) FROM flags', [false, 2, 2, 5, 7]],
    [
      'COALESCE and IFNULL',
      'SELECT COALESCE(b1, b1), IFNULL(b8, b8), COALESCE(b64, b64) FROM flags WHERE id = 1',
      [true, 129, ALL_ONES]
    ],
    [
      'IF, CASE and GREATEST',
      'SELECT IF(id = 1, b8, b8), CASE WHEN id = 1 THEN b1 END, GREATEST(b16, b16) FROM flags WHERE id = 1',
      [129, true, 12594]
    ],
    [
      'a scalar subquery',
      'SELECT (SELECT b8 FROM flags WHERE id = 1), (SELECT b1 FROM flags WHERE id = 2)',
      [129, false]
    ],
    ['a derived table', 'SELECT m8, m1 FROM (SELECT MAX(b8) AS m8, MAX(b1) AS m1 FROM flags) AS d', [129, true]],
    [
      'a UNION of columns',
      'SELECT b8, b1 FROM flags WHERE id = 1 UNION ALL SELECT b8, b1 FROM flags WHERE id = 2',
      [129, true]
    ],
    ['a view it merges', 'SELECT z, y FROM merged', [129, true]],
    [
      'a derived table it merges',
      'SELECT z, y FROM (SELECT COALESCE(b8, b8) AS z, IF(b1, b1, b1) AS y FROM flags WHERE id = 1) AS d',
      [129, true]
    ],
    ['a WITH query', 'WITH w AS (SELECT COALESCE(b8, b8) AS z FROM flags WHERE id = 1) SELECT z FROM w', [129]],
    ['MAX of a value whose byte is a digit', 'SELECT MAX(b8) FROM digits', [49]]
  ])('reads a BIT-typed expression (%s) as the number it holds', async (_name, sql, expected) => {
    expect(await firstRow(sql)).toEqual(expected);
  });
});
