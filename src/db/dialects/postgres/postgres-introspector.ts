import { SqlbridgeError } from '../../../errors/sqlbridge-error.ts';
import { EXPRESSION, groupForeignKeys, visibleIndexes, visibleKeys } from '../../catalog-keys.ts';
import { nullableTextOf, textOf } from '../../catalog-values.ts';
import type {
  CatalogReader,
  ColumnInfo,
  IndexInfo,
  Introspector,
  TableDescription,
  TableSummary
} from '../../introspector.ts';

/**
 * PostgreSQL's catalog (pg_catalog, https://www.postgresql.org/docs/current/catalogs.html): every
 * table, partitioned table, view, materialized view and foreign table the current role may SELECT
 * from (all of it or some columns), outside the system schemas, and only the columns it may SELECT:
 * pg_catalog itself shows every object to everyone, so the privilege functions do the filtering
 * (schema USAGE included). Row estimates are pg_class.reltuples (-1 until analysed).
 */

export const LIST_TABLES = `
SELECT n.nspname AS schema_name,
       c.relname AS table_name,
       CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END AS table_type,
       CASE WHEN c.relkind IN ('r', 'p', 'm') AND c.reltuples >= 0 THEN c.reltuples::bigint END AS row_estimate
  FROM pg_catalog.pg_class AS c
  JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND NOT c.relispartition
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%'
   AND n.nspname NOT LIKE 'pg\\_temp\\_%'
   AND has_schema_privilege(n.oid, 'USAGE')
   AND (has_table_privilege(c.oid, 'SELECT') OR has_any_column_privilege(c.oid, 'SELECT'))
 ORDER BY n.nspname, c.relname`;

const TABLE_OID = `
SELECT c.oid AS table_oid
  FROM pg_catalog.pg_class AS c
  JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2`;

const COLUMNS = `
SELECT a.attname AS column_name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type,
       a.atttypid AS type_oid,
       a.atttypmod AS type_modifier,
       a.attnotnull AS not_null,
       CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END AS default_value
  FROM pg_catalog.pg_attribute AS a
  LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
   AND has_column_privilege(a.attrelid, a.attnum, 'SELECT')
 ORDER BY a.attnum`;

const PRIMARY_KEY = `
SELECT con.conname AS constraint_name, a.attname AS column_name
  FROM pg_catalog.pg_constraint AS con
 CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_catalog.pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
 WHERE con.conrelid = $1::oid AND con.contype = 'p'
 ORDER BY k.ord`;

const FOREIGN_KEYS = `
SELECT con.conname AS constraint_name,
       a.attname AS column_name,
       fn.nspname AS referenced_schema,
       fc.relname AS referenced_table,
       fa.attname AS referenced_column,
       con.confupdtype AS on_update,
       con.confdeltype AS on_delete,
       has_schema_privilege(fn.oid, 'USAGE') AND has_column_privilege(fa.attrelid, fa.attnum, 'SELECT')
         AS referenced_readable
  FROM pg_catalog.pg_constraint AS con
  JOIN pg_catalog.pg_class AS fc ON fc.oid = con.confrelid
  JOIN pg_catalog.pg_namespace AS fn ON fn.oid = fc.relnamespace
 CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, ord)
  JOIN pg_catalog.pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
  JOIN pg_catalog.pg_attribute AS fa ON fa.attrelid = con.confrelid AND fa.attnum = k.fattnum
 WHERE con.conrelid = $1::oid AND con.contype = 'f'
 ORDER BY con.conname, k.ord`;

const INDEXES = `
SELECT i.relname AS index_name,
       ix.indisunique AS is_unique,
       ix.indisprimary AS is_primary,
       a.attname AS column_name
  FROM pg_catalog.pg_index AS ix
  JOIN pg_catalog.pg_class AS i ON i.oid = ix.indexrelid
 CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
  LEFT JOIN pg_catalog.pg_attribute AS a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum AND k.attnum > 0
 WHERE ix.indrelid = $1::oid AND k.ord <= ix.indnkeyatts
 ORDER BY i.relname, k.ord`;

/** A table dropped between the list of tables and its description: not found, as a missing one. */
function tableGone(table: TableSummary): SqlbridgeError {
  return new SqlbridgeError(
    'table_not_found',
    `no table or view named ${JSON.stringify(`${table.schema}.${table.name}`)}`,
    {
      expose: true,
      hint: 'call list_tables to see the tables and views available'
    }
  );
}

/** pg_constraint's one-letter referential actions. */
const ACTIONS: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT'
};

export class PostgresIntrospector implements Introspector {
  private readonly read: CatalogReader;

  constructor(read: CatalogReader) {
    this.read = read;
  }

  async listTables(): Promise<TableSummary[]> {
    const rows = await this.read(LIST_TABLES);
    return rows.map(row => ({
      schema: textOf(row['schema_name']),
      name: textOf(row['table_name']),
      type: row['table_type'] === 'view' ? 'view' : 'table',
      rowEstimate: row['row_estimate'] === null ? null : Number(row['row_estimate'])
    }));
  }

  async describeTable(table: TableSummary): Promise<TableDescription> {
    const [found] = await this.read(TABLE_OID, [table.schema, table.name]);
    // Dropped since the list of tables was read (it is cached for a few seconds).
    if (found === undefined) throw tableGone(table);
    const oid = textOf(found['table_oid']);
    const [columns, pk, fks, indexes] = await Promise.all([
      this.read(COLUMNS, [oid]),
      this.read(PRIMARY_KEY, [oid]),
      this.read(FOREIGN_KEYS, [oid]),
      this.read(INDEXES, [oid])
    ]);
    // pg_constraint and pg_index show every key and index to everyone: one naming a column the role
    // may not read (or a table it may not) is not shown.
    const readable = new Set(columns.map(row => textOf(row['column_name'])));
    const pkColumns = pk.map(r => textOf(r['column_name']));
    return {
      ...table,
      columns: columns.map(toColumn),
      primaryKey:
        pk.length === 0 || !pkColumns.every(column => readable.has(column))
          ? null
          : { name: nullableTextOf(pk[0]?.['constraint_name']), columns: pkColumns },
      foreignKeys: visibleKeys(
        readable,
        groupForeignKeys(fks, value => ACTIONS[textOf(value)] ?? null)
      ),
      indexes: visibleIndexes(readable, groupIndexes(indexes))
    };
  }
}

function toColumn(row: Record<string, unknown>): ColumnInfo {
  const oid = Number(row['type_oid']);
  const modifier = Number(row['type_modifier']);
  const numeric = oid === 1700 && modifier >= 4;
  const sized = (oid === 1042 || oid === 1043) && modifier >= 4;
  return {
    name: textOf(row['column_name']),
    dataType: textOf(row['data_type']),
    maxLength: sized ? modifier - 4 : null,
    precision: numeric ? ((modifier - 4) >> 16) & 0xffff : null,
    scale: numeric ? (modifier - 4) & 0xffff : null,
    nullable: row['not_null'] !== true,
    default: nullableTextOf(row['default_value'])
  };
}

function groupIndexes(rows: Record<string, unknown>[]): IndexInfo[] {
  const byName = new Map<string, IndexInfo>();
  for (const row of rows) {
    const name = textOf(row['index_name']);
    let index = byName.get(name);
    if (index === undefined) {
      index = { name, columns: [], unique: row['is_unique'] === true, primary: row['is_primary'] === true };
      byName.set(name, index);
    }
    index.columns.push(row['column_name'] === null ? EXPRESSION : textOf(row['column_name']));
  }
  return [...byName.values()];
}
