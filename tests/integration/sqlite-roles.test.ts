import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnlyAuthorizer, TableAccess } from '../../src/db/dialects/sqlite/sqlite-authorizer.ts';
import { SqliteDialect } from '../../src/db/dialects/sqlite/sqlite-dialect.ts';
import { DatabaseRuntime, type QueryOptions } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { emptyDir } from '../helpers/data-dir.ts';

/**
 * SQLite has no roles: `access.tables` lists what each role may read, and an authorizer refuses the
 * rest while SQLite compiles a statement, however the statement reaches the table (by name, in a
 * subquery, through a view that is not listed, by `pragma_table_info`).
 */

const SCHEMA = `
CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT NOT NULL, amount INTEGER NOT NULL);
INSERT INTO orders VALUES (1, 'eu', 10), (2, 'us', 20);
CREATE TABLE salaries (id INTEGER PRIMARY KEY, employee TEXT NOT NULL, amount INTEGER NOT NULL);
INSERT INTO salaries VALUES (1, 'Ada', 5000);
CREATE VIEW salary_totals AS SELECT sum(amount) AS total FROM salaries;
CREATE VIEW eu_orders AS SELECT id, amount FROM orders o WHERE region = 'eu' AND id NOT IN (SELECT id FROM salaries);
CREATE TABLE pragma_salaries (employee TEXT NOT NULL, amount INTEGER NOT NULL);
INSERT INTO pragma_salaries VALUES ('Bob', 999999);
CREATE INDEX salaries_by_employee ON salaries (employee);
`;

function createDatabase(): string {
  const path = join(emptyDir('sqlite-roles-'), 'roles.sqlite');
  const db = new DatabaseSync(path);
  db.exec(SCHEMA);
  db.close();
  return path;
}

/** How SQLite words an authorizer's refusal: of a table as a whole, or of one of its columns. */
const DENIED = /not authorized|access to \S+ is prohibited/;

const REFUSED = [
  'SELECT * FROM salaries',
  'SELECT count(*) FROM salaries',
  'SELECT * FROM salary_totals',
  'SELECT (SELECT max(amount) FROM salaries) AS top FROM orders',
  'SELECT * FROM orders WHERE id IN (SELECT id FROM salaries)',
  'SELECT * FROM orders WHERE EXISTS (SELECT 1 FROM main.salaries)',
  'WITH s AS (SELECT * FROM salaries) SELECT * FROM s',
  "SELECT name FROM pragma_table_info('salaries')",
  "SELECT * FROM pragma_table_xinfo('salaries')",
  "SELECT * FROM pragma_foreign_key_list('salaries')",
  "SELECT * FROM pragma_index_list('salaries')",
  // A table that only looks like a PRAGMA's, and an index's PRAGMAs, which name the index, not its table.
  'SELECT * FROM pragma_salaries',
  "SELECT * FROM pragma_index_info('salaries_by_employee')",
  "SELECT * FROM pragma_index_xinfo('salaries_by_employee')"
];

/**
 * WITH queries named after a table or view the role lists: SQLite names a WITH query to the authorizer
 * as it names a view, so these are refused before they reach it.
 */
const SHADOWING = [
  'WITH eu_orders AS (SELECT * FROM salaries) SELECT * FROM eu_orders',
  'WITH "EU_Orders"(a, b, c) AS MATERIALIZED (SELECT * FROM salaries) SELECT * FROM "EU_Orders"',
  'WITH x AS (SELECT 1), orders AS NOT MATERIALIZED (SELECT * FROM salaries) SELECT * FROM orders'
];

describe('the table authorizer of a role', () => {
  let db: DatabaseSync;

  beforeAll(() => {
    db = new DatabaseSync(createDatabase(), { readOnly: true });
    db.setAuthorizer(new TableAccess(['orders', 'main.eu_orders']).authorizer(readOnlyAuthorizer));
  });

  afterAll(() => db.close());

  it.each(REFUSED.map(sql => [sql]))('refuses %s', sql => {
    // Some refusals come as SQLite compiles the statement, those of pragma functions as it runs.
    expect(() => db.prepare(sql).all()).toThrow(DENIED);
  });

  it('allows the listed tables, and a listed view over a table that is not', () => {
    expect(db.prepare('SELECT id, region FROM orders ORDER BY id').all()).toEqual([
      { id: 1, region: 'eu' },
      { id: 2, region: 'us' }
    ]);
    expect(db.prepare('SELECT * FROM eu_orders').all()).toEqual([]);
    expect(db.prepare("SELECT name FROM pragma_table_info('orders')").all()).toHaveLength(3);
    expect(db.prepare('SELECT count(*) AS n FROM sqlite_schema').get()).toEqual({ n: 6 });
  });

  it('still refuses writes to a listed table on a read-only connection', () => {
    expect(() => db.prepare("INSERT INTO orders VALUES (3, 'eu', 1)")).toThrow(DENIED);
  });

  it('narrows a writable connection to the listed tables too', () => {
    const writable = new DatabaseSync(createDatabase());
    try {
      writable.setAuthorizer(new TableAccess(['orders']).authorizer(undefined));
      writable.prepare("INSERT INTO orders VALUES (3, 'eu', 1)").run();
      expect(() => writable.prepare('DELETE FROM salaries')).toThrow(DENIED);
      expect(() => writable.prepare('INSERT INTO orders SELECT id + 10, employee, amount FROM salaries')).toThrow(
        DENIED
      );
    } finally {
      writable.close();
    }
  });
});

describe('database roles on SQLite, through the runtime', () => {
  let db: DatabaseRuntime;
  const as = (groups: string[]): QueryOptions => ({ caller: { identity: { subject: 'u', clientId: 'c', groups } } });
  const ANALYST = as(['analysts']);
  const FINANCE = as(['finance']);
  const LIMITS = {
    maxRows: 100,
    maxResultChars: 50_000,
    queryTimeoutMs: 20_000,
    maxStatements: 1,
    binaryPreviewBytes: 48
  };

  beforeAll(() => {
    db = new DatabaseRuntime({
      environment: 'lite',
      dialect: new SqliteDialect({
        path: createDatabase(),
        readOnly: true,
        pool: { max: 1, idleTimeoutMs: 60_000 },
        roleTables: { reporting: ['orders', 'eu_orders'], finance: ['orders', 'salaries', 'salary_totals'] }
      }),
      readOnly: true,
      limits: LIMITS,
      access: { roles: { analysts: 'reporting', finance: 'finance' }, default: 'none' }
    });
  });

  afterAll(async () => {
    await db.close();
  });

  it('lists only the tables and views of the role', async () => {
    const names = async (who: QueryOptions): Promise<string[]> => (await db.listTables(who)).map(t => t.name).sort();
    expect(await names(ANALYST)).toEqual(['eu_orders', 'orders']);
    expect(await names(FINANCE)).toEqual(['orders', 'salaries', 'salary_totals']);
    // The same one-process pool, alternately: nobody keeps the previous caller's tables.
    expect(await names(ANALYST)).toEqual(['eu_orders', 'orders']);
    expect((await db.listTablesAs(undefined)).map(t => t.name).sort()).toEqual([
      'eu_orders',
      'orders',
      'pragma_salaries',
      'salaries',
      'salary_totals'
    ]);
  });

  it('refuses a table the role does not list, and describes it like a missing one', async () => {
    for (const sql of REFUSED) {
      const error = await db.query(sql, ANALYST).catch((e: unknown) => e);
      expect(error, sql).toBeInstanceOf(SqlbridgeError);
      expect((error as SqlbridgeError).message).toMatch(/role "reporting" may not read/);
      expect((error as SqlbridgeError).expose).toBe(true);
    }
    expect((await db.query('SELECT sum(amount) FROM salaries', FINANCE)).rows).toEqual([[5000]]);
    expect((await db.query('SELECT id FROM eu_orders', ANALYST)).rows).toEqual([]);
    const hidden = await db.describeTable('salaries', ANALYST).catch((e: unknown) => e);
    const missing = await db.describeTable('salarie5', ANALYST).catch((e: unknown) => e);
    expect((hidden as SqlbridgeError).code).toBe('table_not_found');
    expect((hidden as SqlbridgeError).message.replace('salaries', 'X')).toBe(
      (missing as SqlbridgeError).message.replace('salarie5', 'X')
    );
    expect((await db.describeTable('orders', ANALYST)).columns.map(c => c.name)).toEqual(['id', 'region', 'amount']);
  });

  it('refuses a WITH query named after a table or view the role reads, and runs one named otherwise', async () => {
    for (const sql of SHADOWING) {
      const error = await db.query(sql, ANALYST).catch((e: unknown) => e);
      expect(error, sql).toMatchObject({ code: 'statement_rejected', expose: true });
      expect((error as SqlbridgeError).message).toMatch(/takes the name of a table or view the role "reporting"/);
    }
    // With the statement guard's checks passed, the same shape under another name reads what the role may.
    expect((await db.query('WITH mine AS (SELECT id FROM eu_orders) SELECT count(*) FROM mine', ANALYST)).rows).toEqual(
      [[0]]
    );
    await expect(
      db.query('WITH orders AS (SELECT 1 AS id) SELECT * FROM orders', as(['visitors']))
    ).rejects.toMatchObject({ code: 'access_denied' });
  });

  it('refuses a caller without a role', async () => {
    await expect(db.query('SELECT 1', as(['visitors']))).rejects.toMatchObject({ code: 'access_denied' });
  });
});
