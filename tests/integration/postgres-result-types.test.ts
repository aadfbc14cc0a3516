import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { createPostgresDatabase, pgAdmin, postgresDatabaseConfig } from '../dialects/engines/postgres.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * The type names a result's columns carry, read from the RowDescription's type OID and modifier,
 * against PostgreSQL's own `format_type` for the same columns: built-in scalar, geometric, network,
 * text-search, range and multirange types, each also as an array, with and without modifiers.
 */
const COLUMNS = [
  'boolean',
  'bytea',
  '"char"',
  'name',
  'smallint',
  'integer',
  'bigint',
  'oid',
  'real',
  'double precision',
  'numeric',
  'numeric(12,2)',
  'money',
  'text',
  'character(3)',
  'character varying',
  'character varying(40)',
  'date',
  'time',
  'time(3)',
  'timetz',
  'timestamp',
  'timestamp(0)',
  'timestamptz',
  'timestamptz(3)',
  'interval',
  'interval(3)',
  'interval year',
  'interval year to month',
  'interval day to second(2)',
  'interval hour to minute',
  'interval minute to second',
  'bit(5)',
  'bit varying(9)',
  'uuid',
  'json',
  'jsonb',
  'jsonpath',
  'xml',
  'inet',
  'cidr',
  'macaddr',
  'macaddr8',
  'point',
  'line',
  'lseg',
  'box',
  'path',
  'polygon',
  'circle',
  'pg_lsn',
  'tsvector',
  'tsquery',
  'int4range',
  'int8range',
  'numrange',
  'tsrange',
  'tstzrange',
  'daterange',
  'int4multirange',
  'int8multirange',
  'nummultirange',
  'tsmultirange',
  'tstzmultirange',
  'datemultirange'
];

/** format_type's long names of the time types, in the short form sqlbridge reports. */
function shortTimeNames(name: string): string {
  return name
    .replace(/^timestamp(\(\d+\))? with time zone/, 'timestamptz$1')
    .replace(/^timestamp(\(\d+\))? without time zone/, 'timestamp$1')
    .replace(/^time(\(\d+\))? with time zone/, 'timetz$1')
    .replace(/^time(\(\d+\))? without time zone/, 'time$1');
}

describe('PostgreSQL: the type names of result columns', () => {
  let drop: () => Promise<void>;
  let db: DatabaseRuntime;
  let expected: Map<string, string>;

  beforeAll(async () => {
    const definitions = COLUMNS.flatMap((type, i) => [`c${i} ${type}`, `a${i} ${type}[]`]);
    let name: string;
    ({ name, drop } = await createPostgresDatabase(
      `CREATE TYPE mood AS ENUM ('calm', 'cross');
       CREATE TABLE typed (${definitions.join(', ')}, own mood, own_list mood[])`
    ));
    const catalog = await pgAdmin(name, client =>
      client.query<{ attname: string; type: string }>(
        `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
          WHERE attrelid = 'typed'::regclass AND attnum > 0 AND NOT attisdropped`
      )
    );
    expected = new Map(catalog.rows.map(row => [row.attname, shortTimeNames(row.type)]));
    db = testRuntime(postgresDatabaseConfig(name, { poolMax: 1 }));
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await drop();
  });

  it('names every built-in type and its array as format_type does, modifiers included', async () => {
    const result = await db.query('SELECT * FROM typed');
    const named = result.columns.filter(column => column.name !== 'own' && column.name !== 'own_list');
    expect(named).toHaveLength(COLUMNS.length * 2);
    for (const column of named) expect(column.type, column.name).toBe(expected.get(column.name));
    // Spot checks that do not depend on the mapping above.
    const types = new Map(result.columns.map(column => [column.name, column.type]));
    expect(types.get(`a${COLUMNS.indexOf('timestamptz(3)')}`)).toBe('timestamptz(3)[]');
    expect(types.get(`c${COLUMNS.indexOf('interval day to second(2)')}`)).toBe('interval day to second(2)');
  });

  it('gives no name to a type the database defines', async () => {
    const result = await db.query('SELECT own, own_list FROM typed');
    expect(result.columns).toEqual([
      { name: 'own', type: null },
      { name: 'own_list', type: null }
    ]);
  });
});
