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
CREATE INDEX orders_by_region ON orders (region);
CREATE TABLE order_notes (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders, salary_id INTEGER REFERENCES salaries,
  note TEXT UNIQUE);
CREATE TABLE "äbc" (note TEXT);
INSERT INTO "äbc" VALUES ('lower case, listed');
CREATE TABLE "ÄBC" (secret TEXT);
INSERT INTO "ÄBC" VALUES ('upper case, not listed');
CREATE TABLE pragma_table_list (employee TEXT NOT NULL, amount INTEGER NOT NULL);
INSERT INTO pragma_table_list VALUES ('Eve', 777777);
`;

/** A second file, attached as \`aux\`, with a table of the same name as a listed one. */
function createAttached(): string {
  const path = join(emptyDir('sqlite-roles-aux-'), 'aux.sqlite');
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, card_number TEXT); INSERT INTO orders VALUES (1, '4111');");
  db.close();
  return path;
}

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
  "SELECT * FROM pragma_index_xinfo('salaries_by_employee')",
  "SELECT * FROM pragma_index_xinfo('salaries_by_employee', 'main')",
  // A table named exactly as a catalog PRAGMA's table, which it hides; a WITH query so named.
  'SELECT * FROM pragma_table_list',
  'SELECT employee FROM main.pragma_table_list',
  'WITH pragma_table_list AS (SELECT * FROM salaries) SELECT * FROM pragma_table_list',
  'WITH pragma_function_list AS (SELECT * FROM salaries) SELECT * FROM pragma_function_list',
  // SQLite folds ASCII letters only: "ÄBC" is not "äbc", which is listed.
  'SELECT * FROM "ÄBC"',
  "SELECT name FROM pragma_table_info('ÄBC')",
  // A listed name in another schema than the one listed.
  'SELECT * FROM aux.orders',
  "SELECT name FROM pragma_table_info('orders', 'aux')",
  "SELECT name FROM pragma_table_xinfo('orders', 'aux')"
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
  const access = new TableAccess(['orders', 'main.eu_orders', 'äbc']);
  /** As the worker compiles a statement: surveyed first. */
  const compile = (sql: string) => {
    access.survey(db, sql);
    return db.prepare(sql);
  };

  beforeAll(() => {
    db = new DatabaseSync(createDatabase(), { readOnly: true });
    db.prepare('ATTACH DATABASE ? AS aux').run(createAttached());
    db.setAuthorizer(access.authorizer(readOnlyAuthorizer));
  });

  afterAll(() => db.close());

  it.each(REFUSED.map(sql => [sql]))('refuses %s', sql => {
    // Some refusals come as SQLite compiles the statement, those of pragma functions as it runs.
    expect(() => compile(sql).all()).toThrow(DENIED);
  });

  it('allows the listed tables, and a listed view over a table that is not', () => {
    expect(compile('SELECT id, region FROM orders ORDER BY id').all()).toEqual([
      { id: 1, region: 'eu' },
      { id: 2, region: 'us' }
    ]);
    expect(compile('SELECT * FROM eu_orders').all()).toEqual([]);
    expect(compile('SELECT * FROM "äbc"').all()).toEqual([{ note: 'lower case, listed' }]);
    expect(compile("SELECT name FROM pragma_table_info('orders')").all()).toHaveLength(3);
    expect(compile("SELECT name FROM pragma_table_info('orders', 'main')").all()).toHaveLength(3);
    expect(compile('SELECT count(*) AS n FROM sqlite_schema').get()).toEqual({ n: 12 });
  });

  it('allows the catalog PRAGMAs’ tables no table hides, and the indexes of listed tables', () => {
    expect(compile("SELECT name FROM pragma_function_list WHERE name = 'abs'").all()).toEqual([{ name: 'abs' }]);
    expect(compile("SELECT name FROM pragma_index_xinfo('orders_by_region') WHERE key = 1").all()).toEqual([
      { name: 'region' }
    ]);
    expect(compile("SELECT name FROM pragma_index_info('orders_by_region', 'main')").all()).toEqual([
      { name: 'region' }
    ]);
  });

  it('takes no read for a PRAGMA’s and knows no index until a survey has run', () => {
    const unsurveyed = new DatabaseSync(createDatabase(), { readOnly: true });
    try {
      unsurveyed.setAuthorizer(new TableAccess(['orders']).authorizer(readOnlyAuthorizer));
      expect(() => unsurveyed.prepare('SELECT name FROM pragma_function_list').all()).toThrow(DENIED);
      expect(() => unsurveyed.prepare("SELECT name FROM pragma_index_info('orders_by_region')").all()).toThrow(DENIED);
    } finally {
      unsurveyed.close();
    }
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
        attach: { aux: createAttached() },
        readOnly: true,
        pool: { max: 1, idleTimeoutMs: 60_000 },
        roleTables: {
          reporting: ['orders', 'eu_orders', 'äbc', 'order_notes'],
          finance: ['orders', 'salaries', 'salary_totals']
        }
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
    const reporting = ['eu_orders', 'order_notes', 'orders', 'äbc'];
    expect(await names(ANALYST)).toEqual(reporting);
    expect(await names(FINANCE)).toEqual(['orders', 'salaries', 'salary_totals']);
    // The same one-process pool, alternately: nobody keeps the previous caller's tables.
    expect(await names(ANALYST)).toEqual(reporting);
    expect((await db.listTablesAs(undefined)).map(t => `${t.schema}.${t.name}`).sort()).toEqual([
      'aux.orders',
      'main.eu_orders',
      'main.order_notes',
      'main.orders',
      'main.pragma_salaries',
      'main.pragma_table_list',
      'main.salaries',
      'main.salary_totals',
      'main.ÄBC',
      'main.äbc'
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

  it('describes a listed table with its indexes, and no key that names a table the role may not read', async () => {
    const orders = await db.describeTable('orders', ANALYST);
    expect(orders.indexes).toEqual([{ name: 'orders_by_region', columns: ['region'], unique: false, primary: false }]);
    const notes = await db.describeTable('order_notes', ANALYST);
    expect(notes.foreignKeys).toMatchObject([
      { columns: ['order_id'], referencedTable: 'orders', referencedColumns: ['id'] }
    ]);
    expect(notes.indexes).toMatchObject([{ columns: ['note'], unique: true }]);
    // The key to salaries is there, and not shown.
    const keys = new DatabaseSync(':memory:');
    keys.exec(SCHEMA);
    expect(
      keys.prepare('SELECT DISTINCT "table" FROM pragma_foreign_key_list(\'order_notes\') ORDER BY 1').all()
    ).toEqual([{ table: 'orders' }, { table: 'salaries' }]);
    keys.close();
    expect(JSON.stringify(notes)).not.toContain('salaries');
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
