import { nullableTextOf, textOf } from './catalog-values.ts';
import type { ForeignKeyInfo, IndexInfo } from './introspector.ts';

/** How an index part that is an expression, not a column, is named. */
export const EXPRESSION = '(expression)';

/** A foreign key, and whether the caller may read every column (and table) it refers to. */
export interface CatalogKey {
  key: ForeignKeyInfo;
  referencedReadable: boolean;
}

/**
 * Foreign keys from catalog rows of one column pair each (`constraint_name`, `column_name`,
 * `referenced_schema`, `referenced_table`, `referenced_column`, `on_update`, `on_delete`, and where
 * the engine says so `referenced_readable`), grouped by constraint in the rows' order; `action`
 * names a referential action as the engine writes it.
 */
export function groupForeignKeys(
  rows: readonly Record<string, unknown>[],
  action: (value: unknown) => string | null = nullableTextOf
): CatalogKey[] {
  const byName = new Map<string, CatalogKey>();
  for (const row of rows) {
    const name = textOf(row['constraint_name']);
    let entry = byName.get(name);
    if (entry === undefined) {
      entry = {
        key: {
          name,
          columns: [],
          referencedSchema: textOf(row['referenced_schema']),
          referencedTable: textOf(row['referenced_table']),
          referencedColumns: [],
          onUpdate: action(row['on_update']),
          onDelete: action(row['on_delete'])
        },
        referencedReadable: true
      };
      byName.set(name, entry);
    }
    entry.key.columns.push(textOf(row['column_name']));
    entry.key.referencedColumns.push(textOf(row['referenced_column']));
    const readable = row['referenced_readable'];
    // PostgreSQL answers a boolean, MySQL and MariaDB 1 or 0.
    if (readable !== undefined && readable !== true && Number(readable) !== 1) entry.referencedReadable = false;
  }
  return [...byName.values()];
}

/**
 * What a caller may see of a table's indexes and foreign keys: the catalogs show them all to everyone,
 * so those that name a column the caller may not read (`readable` holds the ones it may), or refer to
 * one, are left out.
 */
export function visibleIndexes(readable: ReadonlySet<string>, indexes: readonly IndexInfo[]): IndexInfo[] {
  return indexes.filter(index => index.columns.every(column => column === EXPRESSION || readable.has(column)));
}

export function visibleKeys(readable: ReadonlySet<string>, keys: readonly CatalogKey[]): ForeignKeyInfo[] {
  return keys
    .filter(({ key, referencedReadable }) => referencedReadable && key.columns.every(column => readable.has(column)))
    .map(({ key }) => key);
}
