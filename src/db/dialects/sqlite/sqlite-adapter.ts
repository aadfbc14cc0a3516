import type { DialectAdapter } from '../../dialect.ts';
import type { DriverColumn, QuerySpec } from '../../driver.ts';
import type { TableRef } from '../../introspector.ts';
import { bigintToWire, genericToWire, scaledDecimalToWire, type ValueOptions, type WireValue } from '../../values.ts';
import { sqliteGuardRules } from './sqlite-guard.ts';

/**
 * SQLite's SQL and values. SQLite stores a declared DECIMAL(p,s) as an integer or a double, so a
 * value of such a column is printed with exactly s digits; a declared BOOLEAN holds 0 or 1 and is
 * returned as false or true. Everything else keeps its storage class (https://sqlite.org/datatype3.html).
 */

const DECIMAL_TYPE = /^\s*(?:decimal|numeric)\s*\(\s*\d+\s*(?:,\s*(\d+)\s*)?\)/i;
const BOOLEAN_TYPE = /^\s*bool(?:ean)?\s*$/i;

export function declaredScale(type: string | null): number | undefined {
  if (type === null) return undefined;
  const match = DECIMAL_TYPE.exec(type);
  if (match === null) return undefined;
  return Number(match[1] ?? '0');
}

export class SqliteAdapter implements DialectAdapter {
  readonly guardRules = sqliteGuardRules;
  readonly engineName = 'SQLite';
  readonly defaultSchema: string = 'main';
  readonly identifierQuotes = [
    ['"', '"'],
    ['[', ']'],
    ['`', '`']
  ] as const;
  readonly caseInsensitiveIdentifiers: boolean = true;
  readonly sqlNotes =
    "SQLite SQL: limit rows with LIMIT n [OFFSET m]. Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS': compare them with datetime('now', '-1 hour') and group with strftime('%Y-%m', col). Money columns are DECIMAL; wrap sums in ROUND(SUM(x), 2). Quote odd identifiers with double quotes.";

  quoteIdentifier(name: string): string {
    return `"${name.replaceAll('"', '""')}"`;
  }

  sampleQuery(table: TableRef, limit: number, columns?: readonly string[]): QuerySpec {
    const list =
      columns === undefined || columns.length === 0
        ? '*'
        : columns.map(column => this.quoteIdentifier(column)).join(', ');
    return {
      sql: `SELECT ${list} FROM ${this.quoteIdentifier(table.schema)}.${this.quoteIdentifier(table.name)} LIMIT ?`,
      params: [limit],
      readOnly: true
    };
  }

  toWireValue(value: unknown, column: DriverColumn, options: ValueOptions): WireValue {
    if (value === null || value === undefined) return null;
    const scale = declaredScale(column.type);
    if (scale !== undefined) {
      if (typeof value === 'number') return scaledDecimalToWire(value, scale);
      if (typeof value === 'bigint') return scale === 0 ? value.toString() : `${value.toString()}.${'0'.repeat(scale)}`;
    }
    if (column.type !== null && BOOLEAN_TYPE.test(column.type) && (value === 0n || value === 1n)) return value === 1n;
    if (typeof value === 'bigint') return bigintToWire(value);
    return genericToWire(value, options);
  }
}
