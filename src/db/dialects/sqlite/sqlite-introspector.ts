import { EXPRESSION } from '../../catalog-keys.ts';
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
 * SQLite's catalog: `sqlite_schema` for tables and views, the table-valued PRAGMA functions for
 * columns, keys and indexes (https://sqlite.org/pragma.html#pragfunc), and `sqlite_stat1`, when
 * ANALYZE has filled it, for row estimates. Schema names come from `pragma_database_list` and are
 * passed as bound parameters.
 */

const SIZED_TYPE = /\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)/;
const NUMERIC_TYPE = /^\s*(decimal|numeric|number)/i;

export class SqliteIntrospector implements Introspector {
  private readonly read: CatalogReader;

  constructor(read: CatalogReader) {
    this.read = read;
  }

  async listTables(): Promise<TableSummary[]> {
    const schemas = await this.read(`SELECT name FROM pragma_database_list WHERE name <> 'temp' ORDER BY seq`);
    const tables: TableSummary[] = [];
    for (const { name: schema } of schemas) {
      const schemaName = textOf(schema);
      const quoted = `"${schemaName.replaceAll('"', '""')}"`;
      // sqlbridge_readable: whether the caller's role lists the table (access.tables); always 1 without a role.
      const rows = await this.read(
        `SELECT name, type FROM ${quoted}.sqlite_schema
          WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
            AND sqlbridge_readable(?, name)
          ORDER BY name`,
        [schemaName]
      );
      const estimates = await this.rowEstimates(quoted);
      for (const row of rows) {
        const name = textOf(row['name']);
        const type = row['type'] === 'view' ? 'view' : 'table';
        tables.push({
          schema: schemaName,
          name,
          type,
          rowEstimate: type === 'table' ? (estimates.get(name) ?? null) : null
        });
      }
    }
    return tables;
  }

  async describeTable(table: TableSummary): Promise<TableDescription> {
    const args = [table.name, table.schema];
    const columnRows = await this.read(
      `SELECT name, type, "notnull" AS not_null, dflt_value, pk FROM pragma_table_xinfo(?, ?) WHERE hidden <> 1 ORDER BY cid`,
      args
    );
    const pkColumns = columnRows
      .filter(row => Number(row['pk']) > 0)
      .sort((a, b) => Number(a['pk']) - Number(b['pk']))
      .map(row => textOf(row['name']));
    const rowidAlias =
      pkColumns.length === 1 &&
      columnRows.some(r => r['name'] === pkColumns[0] && /^integer$/i.test(textOf(r['type'])));
    const columns = columnRows.map(row => toColumn(row, rowidAlias && row['name'] === pkColumns[0]));

    return {
      ...table,
      columns,
      primaryKey: pkColumns.length > 0 ? { name: null, columns: pkColumns } : null,
      foreignKeys: table.type === 'table' ? await this.foreignKeys(table) : [],
      indexes: table.type === 'table' ? await this.indexes(table) : []
    };
  }

  private async rowEstimates(quotedSchema: string): Promise<Map<string, number>> {
    const hasStats = await this.read(
      `SELECT 1 AS present FROM ${quotedSchema}.sqlite_schema WHERE name = 'sqlite_stat1'`
    );
    if (hasStats.length === 0) return new Map();
    const rows = await this.read(
      `SELECT tbl, MAX(CAST(substr(stat, 1, instr(stat || ' ', ' ') - 1) AS INTEGER)) AS estimate
         FROM ${quotedSchema}.sqlite_stat1 GROUP BY tbl`
    );
    return new Map(rows.map(row => [textOf(row['tbl']), Number(row['estimate'])]));
  }

  private async foreignKeys(table: TableSummary): Promise<ForeignKeyInfo[]> {
    const rows = await this.read(
      // A key referring to a table the caller's role may not read is not shown (it would name it).
      `SELECT id, seq, "table" AS referenced, "from" AS from_column, "to" AS to_column, on_update, on_delete
         FROM pragma_foreign_key_list(?, ?) WHERE sqlbridge_readable(?, "table") ORDER BY id, seq`,
      [table.name, table.schema, table.schema]
    );
    const byId = new Map<number, ForeignKeyInfo>();
    for (const row of rows) {
      const id = Number(row['id']);
      let fk = byId.get(id);
      if (fk === undefined) {
        fk = {
          name: null,
          columns: [],
          referencedSchema: table.schema,
          referencedTable: textOf(row['referenced']),
          referencedColumns: [],
          onUpdate: nullableTextOf(row['on_update']),
          onDelete: nullableTextOf(row['on_delete'])
        };
        byId.set(id, fk);
      }
      fk.columns.push(textOf(row['from_column']));
      if (row['to_column'] !== null) fk.referencedColumns.push(textOf(row['to_column']));
    }
    for (const fk of byId.values()) {
      // REFERENCES t without a column list names t's primary key.
      if (fk.referencedColumns.length === 0) {
        const pk = await this.read(`SELECT name FROM pragma_table_info(?, ?) WHERE pk > 0 ORDER BY pk`, [
          fk.referencedTable,
          table.schema
        ]);
        fk.referencedColumns = pk.map(row => textOf(row['name']));
      }
    }
    return [...byId.values()];
  }

  private async indexes(table: TableSummary): Promise<IndexInfo[]> {
    const list = await this.read(
      `SELECT name, "unique" AS is_unique, origin FROM pragma_index_list(?, ?) ORDER BY name`,
      [table.name, table.schema]
    );
    const indexes: IndexInfo[] = [];
    for (const row of list) {
      const name = textOf(row['name']);
      const keyColumns = await this.read(`SELECT name FROM pragma_index_xinfo(?, ?) WHERE key = 1 ORDER BY seqno`, [
        name,
        table.schema
      ]);
      indexes.push({
        name,
        columns: keyColumns.map(c => (c['name'] === null ? EXPRESSION : textOf(c['name']))),
        unique: Number(row['is_unique']) === 1,
        primary: row['origin'] === 'pk'
      });
    }
    return indexes;
  }
}

function toColumn(row: Record<string, unknown>, rowidAlias: boolean): ColumnInfo {
  const dataType = textOf(row['type'] ?? '');
  const sized = SIZED_TYPE.exec(dataType);
  const numeric = NUMERIC_TYPE.test(dataType);
  const first = sized?.[1] === undefined ? null : Number(sized[1]);
  const second = sized?.[2] === undefined ? null : Number(sized[2]);
  return {
    name: textOf(row['name']),
    dataType: dataType === '' ? 'any' : dataType,
    maxLength: numeric ? null : first,
    precision: numeric ? first : null,
    scale: numeric ? (second ?? (first === null ? null : 0)) : null,
    nullable: Number(row['not_null']) === 0 && !rowidAlias,
    default: nullableTextOf(row['dflt_value'])
  };
}
