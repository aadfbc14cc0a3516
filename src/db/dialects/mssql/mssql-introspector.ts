import { groupForeignKeys } from '../../catalog-keys.ts';
import { nullableTextOf, textOf } from '../../catalog-values.ts';
import type {
  CatalogReader,
  ColumnInfo,
  IndexInfo,
  Introspector,
  TableDescription,
  TableSummary
} from '../../introspector.ts';
import { COLUMNS, FOREIGN_KEYS, INDEXES, LIST_TABLES, OBJECT_ID, PRIMARY_KEY } from './mssql-catalog.ts';

/** SQL Server's catalog, through the queries of mssql-catalog.ts. */
export class MssqlIntrospector implements Introspector {
  private readonly read: CatalogReader;

  constructor(read: CatalogReader) {
    this.read = read;
  }

  async listTables(): Promise<TableSummary[]> {
    const rows = await this.read(LIST_TABLES);
    return rows.map(row => {
      const view = row['object_type'] === 'view';
      return {
        schema: textOf(row['schema_name']),
        name: textOf(row['object_name']),
        type: view ? 'view' : 'table',
        rowEstimate: view || row['row_estimate'] === null ? null : Number(row['row_estimate'])
      };
    });
  }

  async describeTable(table: TableSummary): Promise<TableDescription> {
    const [found] = await this.read(OBJECT_ID, [table.schema, table.name]);
    const id = Number(found?.['object_id']);
    const [columns, pk, fks, indexes] = await Promise.all([
      this.read(COLUMNS, [id]),
      this.read(PRIMARY_KEY, [id]),
      this.read(FOREIGN_KEYS, [id]),
      this.read(INDEXES, [id])
    ]);
    return {
      ...table,
      columns: columns.map(toColumn),
      primaryKey:
        pk.length === 0
          ? null
          : { name: nullableTextOf(pk[0]?.['constraint_name']), columns: pk.map(r => textOf(r['column_name'])) },
      foreignKeys: groupForeignKeys(fks, referentialAction).map(({ key }) => key),
      indexes: groupIndexes(indexes)
    };
  }
}

const UNICODE = new Set(['nchar', 'nvarchar']);
const SIZED = new Set(['char', 'varchar', 'nchar', 'nvarchar', 'binary', 'varbinary']);
const EXACT = new Set(['decimal', 'numeric']);
const FRACTIONAL = new Set(['datetime2', 'datetimeoffset', 'time']);

/** The declared type as T-SQL writes it: nvarchar(50), varbinary(max), decimal(18,2), datetime2(7). */
export function mssqlDeclaredType(typeName: string, maxLength: number, precision: number, scale: number): string {
  if (SIZED.has(typeName)) {
    if (maxLength === -1) return `${typeName}(max)`;
    return `${typeName}(${UNICODE.has(typeName) ? maxLength / 2 : maxLength})`;
  }
  if (EXACT.has(typeName)) return `${typeName}(${precision},${scale})`;
  if (FRACTIONAL.has(typeName)) return `${typeName}(${scale})`;
  return typeName;
}

function toColumn(row: Record<string, unknown>): ColumnInfo {
  // Catalog names compare without regard to case: engines that fold names (Babelfish) agree with SQL Server.
  const typeName = textOf(row['type_name']).toLowerCase();
  const maxLength = Number(row['max_length']);
  const precision = Number(row['numeric_precision']);
  const scale = Number(row['numeric_scale']);
  const exact = EXACT.has(typeName);
  return {
    name: textOf(row['column_name']),
    dataType: mssqlDeclaredType(typeName, maxLength, precision, scale),
    maxLength: SIZED.has(typeName) && maxLength !== -1 ? (UNICODE.has(typeName) ? maxLength / 2 : maxLength) : null,
    precision: exact ? precision : null,
    scale: exact ? scale : null,
    nullable: row['is_nullable'] === true,
    default: nullableTextOf(row['default_definition'])
  };
}

/** `NO_ACTION` → `NO ACTION`, in SQL Server's upper case whatever case the engine's catalog uses. */
function referentialAction(value: unknown): string | null {
  return nullableTextOf(value)?.replaceAll('_', ' ').toUpperCase() ?? null;
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
    index.columns.push(textOf(row['column_name']));
  }
  return [...byName.values()];
}
