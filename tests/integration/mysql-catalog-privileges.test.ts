import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { randomId } from '../dialects/engine.ts';
import { createMysqlDatabases, mysqlAdmin, mysqlDatabaseConfig } from '../dialects/engines/mysql.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * MariaDB's information_schema shows a login every table and column it holds any privilege on, an
 * INSERT-only grant included. sqlbridge's catalog shows what the login may read: a table it may only
 * insert into is not listed (nor found), a column it may only insert into is not described (and a
 * sample leaves it out instead of failing), and no index or key names what it may not read.
 */

const TABLES = `
CREATE TABLE {main}.readable (id int PRIMARY KEY, note varchar(20) NULL, quoted varchar(20) NULL DEFAULT 'NULL',
  counted int NOT NULL DEFAULT 0);
INSERT INTO {main}.readable VALUES (1, 'one', 'NULL', 5);
CREATE TABLE {main}.inbox (id int PRIMARY KEY, body text);
CREATE TABLE {main}.mixed (id int PRIMARY KEY, visible int, secret_code varchar(10),
  KEY by_secret (secret_code), KEY by_visible (visible));
CREATE TABLE {main}.child (id int PRIMARY KEY, readable_id int, inbox_id int,
  CONSTRAINT to_readable FOREIGN KEY (readable_id) REFERENCES {main}.readable (id),
  CONSTRAINT to_inbox FOREIGN KEY (inbox_id) REFERENCES {main}.inbox (id));
INSERT INTO {main}.readable VALUES (2, NULL, NULL, 6);
INSERT INTO {main}.mixed VALUES (1, 10, 'hunter2')
`;

describe('the MariaDB catalog shows a login what it may read', () => {
  let drop: () => Promise<void>;
  let db: DatabaseRuntime;
  const login = `sqlbridge_catpriv_${randomId()}`;

  beforeAll(async () => {
    const created = await createMysqlDatabases(TABLES);
    const password = randomBytes(18).toString('base64url');
    await mysqlAdmin(async connection => {
      await connection.query(`CREATE USER '${login}'@'%' IDENTIFIED BY '${password}'`);
      await connection.query(`GRANT SELECT ON ${created.main}.readable TO '${login}'@'%'`);
      await connection.query(`GRANT INSERT ON ${created.main}.inbox TO '${login}'@'%'`);
      await connection.query(
        `GRANT SELECT (id, visible), INSERT (secret_code) ON ${created.main}.mixed TO '${login}'@'%'`
      );
      await connection.query(`GRANT SELECT ON ${created.main}.child TO '${login}'@'%'`);
    });
    drop = async () => {
      await created.drop();
      await mysqlAdmin(connection => connection.query(`DROP USER IF EXISTS '${login}'@'%'`));
    };
    db = testRuntime({ ...mysqlDatabaseConfig(created.main, { poolMax: 1 }), user: login, password });
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await drop();
  });

  it('lists the tables it may read, not one it may only insert into', async () => {
    expect((await db.listTables()).map(table => table.name).sort()).toEqual(['child', 'mixed', 'readable']);
    await expect(db.describeTable('inbox')).rejects.toMatchObject({ code: 'table_not_found' });
  });

  it('describes the columns it may read, and no index or key naming another', async () => {
    const mixed = await db.describeTable('mixed');
    expect(mixed.columns.map(column => column.name)).toEqual(['id', 'visible']);
    expect(mixed.indexes.map(index => index.name).sort()).toEqual(['PRIMARY', 'by_visible']);
    expect(JSON.stringify(mixed)).not.toMatch(/secret_code|by_secret/);
    const child = await db.describeTable('child');
    expect(child.foreignKeys).toMatchObject([
      { name: 'to_readable', columns: ['readable_id'], referencedTable: 'readable', referencedColumns: ['id'] }
    ]);
  });

  it('samples the columns it may read instead of failing on the others', async () => {
    const table = await db.resolveTable('mixed');
    const outcome = await db.sample(table, 5);
    expect(outcome.columns.map(column => column.name)).toEqual(['id', 'visible']);
    expect(outcome.rows).toEqual([[1, 10]]);
  });

  it('tells a column without a default from one whose default is the text NULL', async () => {
    const readable = await db.describeTable('readable');
    expect(readable.columns.map(column => [column.name, column.default])).toEqual([
      ['id', null],
      ['note', null],
      ['quoted', "'NULL'"],
      ['counted', '0']
    ]);
  });
});
