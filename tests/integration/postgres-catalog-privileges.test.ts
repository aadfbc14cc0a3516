import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { randomId } from '../dialects/engine.ts';
import { createPostgresDatabase, pgAdmin, postgresDatabaseConfig } from '../dialects/engines/postgres.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * pg_catalog shows every key and index to everyone. sqlbridge's description of a table shows a login
 * what it may read: no primary key, index or foreign key naming a column it may not SELECT, nor a
 * foreign key to a table it may not read; a generated column has no default; and a table dropped
 * since the list of tables was read is not found, like a missing one.
 */

const TABLES = `
CREATE TABLE hidden (id integer PRIMARY KEY, salary integer);
CREATE TABLE parts (
  id integer PRIMARY KEY,
  label text,
  secret_code text,
  hidden_id integer REFERENCES hidden (id),
  self_id integer REFERENCES parts (id),
  doubled integer GENERATED ALWAYS AS (id * 2) STORED,
  counted integer DEFAULT 0
);
CREATE INDEX parts_by_secret ON parts (secret_code);
CREATE INDEX parts_by_label ON parts (label);
CREATE UNIQUE INDEX parts_by_label_secret ON parts (label, secret_code);
CREATE TABLE ephemeral (id integer);
INSERT INTO parts (id, label, secret_code) VALUES (1, 'one', 'hunter2');
`;

describe('the PostgreSQL catalog shows a login what it may read', () => {
  let drop: () => Promise<void>;
  let db: DatabaseRuntime;
  let database: string;
  const login = `sqlbridge_catpriv_${randomId()}`;

  beforeAll(async () => {
    const created = await createPostgresDatabase(
      [
        TABLES,
        `CREATE ROLE ${login} LOGIN`,
        `GRANT SELECT (id, label, hidden_id, self_id, doubled, counted) ON parts TO ${login}`,
        `GRANT SELECT ON ephemeral TO ${login}`
      ].join(';\n')
    );
    database = created.name;
    drop = async () => {
      await created.drop();
      await pgAdmin('test', client => client.query(`DROP ROLE IF EXISTS ${login}`));
    };
    db = testRuntime({ ...postgresDatabaseConfig(created.name, { poolMax: 1 }), user: login });
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await drop();
  });

  it('describes the columns it may read, and no key or index naming another or a table it may not read', async () => {
    const parts = await db.describeTable('parts');
    expect(parts.columns.map(column => column.name)).toEqual([
      'id',
      'label',
      'hidden_id',
      'self_id',
      'doubled',
      'counted'
    ]);
    expect(parts.primaryKey).toMatchObject({ columns: ['id'] });
    expect(parts.indexes.map(index => index.name).sort()).toEqual(['parts_by_label', 'parts_pkey']);
    expect(parts.foreignKeys.map(key => key.referencedTable)).toEqual(['parts']);
    expect(JSON.stringify(parts)).not.toMatch(/secret_code|parts_by_secret|hidden\b|salary/);
  });

  it('gives a generated column no default, and a column its default', async () => {
    const parts = await db.describeTable('parts');
    const defaults = Object.fromEntries(parts.columns.map(column => [column.name, column.default]));
    expect(defaults).toMatchObject({ doubled: null, counted: '0' });
  });

  it('finds no table dropped since the list of tables was read, as it finds no missing one', async () => {
    expect((await db.describeTable('ephemeral')).columns.map(column => column.name)).toEqual(['id']);
    await pgAdmin(database, client => client.query('DROP TABLE ephemeral'));
    // The list of tables is still the cached one; the description is read now.
    await expect(db.describeTable('ephemeral')).rejects.toMatchObject({ code: 'table_not_found' });
  });
});
