/** What a database's catalog says about its tables, in one shape for every engine. */

export interface TableRef {
  schema: string;
  name: string;
}

export type TableType = 'table' | 'view';

export interface TableSummary extends TableRef {
  type: TableType;
  /** The engine's estimate of the row count (statistics, not a count), when it has one. */
  rowEstimate: number | null;
}

export interface ColumnInfo {
  name: string;
  /** The declared type as the engine names it, e.g. `decimal(12,2)`, `nvarchar(max)`. */
  dataType: string;
  maxLength: number | null;
  precision: number | null;
  scale: number | null;
  nullable: boolean;
  default: string | null;
}

export interface KeyInfo {
  name: string | null;
  columns: string[];
}

export interface ForeignKeyInfo extends KeyInfo {
  referencedSchema: string;
  referencedTable: string;
  referencedColumns: string[];
  onUpdate: string | null;
  onDelete: string | null;
}

export interface IndexInfo extends KeyInfo {
  unique: boolean;
  primary: boolean;
}

export interface TableDescription extends TableSummary {
  columns: ColumnInfo[];
  primaryKey: KeyInfo | null;
  foreignKeys: ForeignKeyInfo[];
  indexes: IndexInfo[];
}

/** Runs trusted catalog queries (bound parameters only) and returns their rows as objects. */
export type CatalogReader = (sql: string, params?: readonly (string | number)[]) => Promise<Record<string, unknown>[]>;

export interface Introspector {
  listTables(): Promise<TableSummary[]>;
  /** Describes a table or view known to exist (resolve names with `listTables` first). */
  describeTable(table: TableSummary): Promise<TableDescription>;
}
