import { nullableTextOf, textOf } from '../../catalog-values.ts';
import type {
  CatalogReader,
  ColumnInfo,
  ForeignKeyInfo,
  IndexInfo,
  Introspector,
  TableDescription,
  TableSummary
} from '../../introspector.ts';

/**
 * MySQL and MariaDB catalog (information_schema): schemas are databases; every database the login
 * can see except the server's own. TABLE_ROWS is InnoDB's estimate.
 */

export const LIST_TABLES = `
SELECT TABLE_SCHEMA AS table_schema, TABLE_NAME AS table_name, TABLE_TYPE AS table_type, TABLE_ROWS AS table_rows
  FROM information_schema.TABLES
 WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
 ORDER BY TABLE_SCHEMA, TABLE_NAME`;

const COLUMNS = `
SELECT COLUMN_NAME AS column_name, COLUMN_TYPE AS column_type, CHARACTER_MAXIMUM_LENGTH AS max_length,
       NUMERIC_PRECISION AS numeric_precision, NUMERIC_SCALE AS numeric_scale, IS_NULLABLE AS is_nullable,
       COLUMN_DEFAULT AS column_default, DATA_TYPE AS data_type
  FROM information_schema.COLUMNS
 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
 ORDER BY ORDINAL_POSITION`;

const INDEXES = `
SELECT INDEX_NAME AS index_name, NON_UNIQUE AS non_unique, COLUMN_NAME AS column_name, SEQ_IN_INDEX AS seq
  FROM information_schema.STATISTICS
 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
 ORDER BY INDEX_NAME, SEQ_IN_INDEX`;

const FOREIGN_KEYS = `
SELECT k.CONSTRAINT_NAME AS constraint_name, k.COLUMN_NAME AS column_name,
       k.REFERENCED_TABLE_SCHEMA AS referenced_schema, k.REFERENCED_TABLE_NAME AS referenced_table,
       k.REFERENCED_COLUMN_NAME AS referenced_column, r.UPDATE_RULE AS on_update, r.DELETE_RULE AS on_delete
  FROM information_schema.KEY_COLUMN_USAGE AS k
  JOIN information_schema.REFERENTIAL_CONSTRAINTS AS r
    ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
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
    const indexes = groupIndexes(indexRows);
    const primary = indexes.find(index => index.primary);
    return {
      ...table,
      columns: columns.map(toColumn),
      primaryKey: primary === undefined ? null : { name: primary.name, columns: primary.columns },
      foreignKeys: groupForeignKeys(fkRows),
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
    index.columns.push(row['column_name'] === null ? '(expression)' : textOf(row['column_name']));
  }
  return [...byName.values()];
}

function groupForeignKeys(rows: Record<string, unknown>[]): ForeignKeyInfo[] {
  const byName = new Map<string, ForeignKeyInfo>();
  for (const row of rows) {
    const name = textOf(row['constraint_name']);
    let fk = byName.get(name);
    if (fk === undefined) {
      fk = {
        name,
        columns: [],
        referencedSchema: textOf(row['referenced_schema']),
        referencedTable: textOf(row['referenced_table']),
        referencedColumns: [],
        onUpdate: nullableTextOf(row['on_update']),
        onDelete: nullableTextOf(row['on_delete'])
      };
      byName.set(name, fk);
    }
    fk.columns.push(textOf(row['column_name']));
    fk.referencedColumns.push(textOf(row['referenced_column']));
  }
  return [...byName.values()];
}
