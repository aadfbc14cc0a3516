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
 * MySQL and MariaDB catalog (information_schema): schemas are databases; every database the login
 * can see except the server's own. TABLE_ROWS is InnoDB's estimate.
 *
 * information_schema shows a table to a login (or its active role) holding any privilege on it, an
 * INSERT-only grant included. What sqlbridge shows is what may be read: the columns whose
 * `PRIVILEGES` hold `select` (global, database, table and column grants alike), the tables and views
 * with at least one such column, and only the keys and indexes made of such columns.
 */

const SYSTEM_SCHEMAS = `('mysql', 'information_schema', 'performance_schema', 'sys')`;

/** A column the login (or its active role) may SELECT: `PRIVILEGES` is a list such as `select,insert`. */
const SELECTABLE = `FIND_IN_SET('select', c.PRIVILEGES) > 0`;

export const LIST_TABLES = `
SELECT t.TABLE_SCHEMA AS table_schema, t.TABLE_NAME AS table_name, t.TABLE_TYPE AS table_type,
       t.TABLE_ROWS AS table_rows
  FROM information_schema.TABLES AS t
  JOIN (SELECT DISTINCT c.TABLE_SCHEMA, c.TABLE_NAME FROM information_schema.COLUMNS AS c
         WHERE c.TABLE_SCHEMA NOT IN ${SYSTEM_SCHEMAS} AND ${SELECTABLE}) AS readable
    ON readable.TABLE_SCHEMA = t.TABLE_SCHEMA AND readable.TABLE_NAME = t.TABLE_NAME
 WHERE t.TABLE_SCHEMA NOT IN ${SYSTEM_SCHEMAS}
 ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME`;

/**
 * MariaDB writes a column's default as SQL (a string quoted, no default as the word NULL); MySQL
 * writes a string's value as is and no default as NULL.
 */
const COLUMNS = `
SELECT c.COLUMN_NAME AS column_name, c.COLUMN_TYPE AS column_type, c.CHARACTER_MAXIMUM_LENGTH AS max_length,
       c.NUMERIC_PRECISION AS numeric_precision, c.NUMERIC_SCALE AS numeric_scale, c.IS_NULLABLE AS is_nullable,
       CASE WHEN c.COLUMN_DEFAULT = 'NULL' AND VERSION() LIKE '%MariaDB%' THEN NULL ELSE c.COLUMN_DEFAULT END
         AS column_default,
       c.DATA_TYPE AS data_type
  FROM information_schema.COLUMNS AS c
 WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? AND ${SELECTABLE}
 ORDER BY c.ORDINAL_POSITION`;

const INDEXES = `
SELECT INDEX_NAME AS index_name, NON_UNIQUE AS non_unique, COLUMN_NAME AS column_name, SEQ_IN_INDEX AS seq
  FROM information_schema.STATISTICS
 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
 ORDER BY INDEX_NAME, SEQ_IN_INDEX`;

/**
 * MariaDB may hide a key's row of REFERENTIAL_CONSTRAINTS (its ON UPDATE and ON DELETE rules) from a
 * login that sees the key in KEY_COLUMN_USAGE (10.11 does from a login with SELECT on both tables):
 * the key is shown, with its rules where they are known.
 */
const FOREIGN_KEYS = `
SELECT k.CONSTRAINT_NAME AS constraint_name, k.COLUMN_NAME AS column_name,
       k.REFERENCED_TABLE_SCHEMA AS referenced_schema, k.REFERENCED_TABLE_NAME AS referenced_table,
       k.REFERENCED_COLUMN_NAME AS referenced_column, r.UPDATE_RULE AS on_update, r.DELETE_RULE AS on_delete,
       c.COLUMN_NAME IS NOT NULL AS referenced_readable
  FROM information_schema.KEY_COLUMN_USAGE AS k
  LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS AS r
    ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
  LEFT JOIN information_schema.COLUMNS AS c
    ON c.TABLE_SCHEMA = k.REFERENCED_TABLE_SCHEMA AND c.TABLE_NAME = k.REFERENCED_TABLE_NAME
   AND c.COLUMN_NAME = k.REFERENCED_COLUMN_NAME AND ${SELECTABLE}
 WHERE k.TABLE_SCHEMA = ? AND k.TABLE_NAME = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
 ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION`;

const NUMERIC_TYPES = new Set(['decimal', 'numeric']);

export class MysqlIntrospector implements Introspector {
  private readonly read: CatalogReader;

  constructor(read: CatalogReader) {
    this.read = read;
  }

  async listTables(): Promise<TableSummary[]> {
    const rows = await this.read(LIST_TABLES);
    return rows.map(row => {
      const view = textOf(row['table_type']) === 'VIEW';
      return {
        schema: textOf(row['table_schema']),
        name: textOf(row['table_name']),
        type: view ? 'view' : 'table',
        rowEstimate: view || row['table_rows'] === null ? null : Number(row['table_rows'])
      };
    });
  }

  async describeTable(table: TableSummary): Promise<TableDescription> {
    const args = [table.schema, table.name];
    const [columns, indexRows, fkRows] = await Promise.all([
      this.read(COLUMNS, args),
      this.read(INDEXES, args),
      this.read(FOREIGN_KEYS, args)
    ]);
    const readable = new Set(columns.map(row => textOf(row['column_name'])));
    const indexes = visibleIndexes(readable, groupIndexes(indexRows));
    const primary = indexes.find(index => index.primary);
    return {
      ...table,
      columns: columns.map(toColumn),
      primaryKey: primary === undefined ? null : { name: primary.name, columns: primary.columns },
      foreignKeys: visibleKeys(readable, groupForeignKeys(fkRows)),
      indexes
    };
  }
}

function toColumn(row: Record<string, unknown>): ColumnInfo {
  const numeric = NUMERIC_TYPES.has(textOf(row['data_type']));
  return {
    name: textOf(row['column_name']),
    dataType: textOf(row['column_type']),
    maxLength: row['max_length'] === null ? null : Number(row['max_length']),
    precision: numeric && row['numeric_precision'] !== null ? Number(row['numeric_precision']) : null,
    scale: numeric && row['numeric_scale'] !== null ? Number(row['numeric_scale']) : null,
    nullable: textOf(row['is_nullable']) === 'YES',
    default: nullableTextOf(row['column_default'])
  };
}

function groupIndexes(rows: Record<string, unknown>[]): IndexInfo[] {
  const byName = new Map<string, IndexInfo>();
  for (const row of rows) {
    const name = textOf(row['index_name']);
    let index = byName.get(name);
    if (index === undefined) {
      index = { name, columns: [], unique: Number(row['non_unique']) === 0, primary: name === 'PRIMARY' };
      byName.set(name, index);
    }
    index.columns.push(row['column_name'] === null ? EXPRESSION : textOf(row['column_name']));
  }
  return [...byName.values()];
}
