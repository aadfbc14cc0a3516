import type { DialectAdapter } from '../../dialect.ts';
import type { DriverColumn, QuerySpec } from '../../driver.ts';
import type { TableRef } from '../../introspector.ts';
import { bigintToWire, genericToWire, scaledDecimalToWire, type ValueOptions, type WireValue } from '../../values.ts';
import { declaredBoolean, declaredScale } from './sqlite-declared-type.ts';
import { sqliteGuardRules } from './sqlite-guard.ts';

/**
 * SQLite's SQL and values: a value of a declared DECIMAL(p,s) column is printed with exactly s
 * digits, a declared BOOLEAN's 0 or 1 is returned as false or true (see sqlite-declared-type.ts).
 * Everything else keeps its storage class.
 */

/** What a column's declared type makes of its values: a decimal of this scale, a boolean, or neither. */
interface DeclaredKind {
  scale: number | undefined;
  boolean: boolean;
}

const MAX_KNOWN_TYPES = 1024;

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

  /** What each declared type seen so far means, so that a type is read once, not once per value. */
  private readonly kinds = new Map<string | null, DeclaredKind>();

  private declaredKind(column: DriverColumn): DeclaredKind {
    const { type } = column;
    let kind = this.kinds.get(type);
    if (kind === undefined) {
      // Declared types are few; a database that names thousands is read again past the bound.
      if (this.kinds.size >= MAX_KNOWN_TYPES) this.kinds.clear();
      kind = { scale: declaredScale(type), boolean: declaredBoolean(type) };
      this.kinds.set(type, kind);
    }
    return kind;
  }

  toWireValue(value: unknown, column: DriverColumn, options: ValueOptions): WireValue {
    if (value === null || value === undefined) return null;
    const { scale, boolean } = this.declaredKind(column);
    if (scale !== undefined) {
      if (typeof value === 'number') return scaledDecimalToWire(value, scale);
      if (typeof value === 'bigint') return scale === 0 ? value.toString() : `${value.toString()}.${'0'.repeat(scale)}`;
    }
    if (boolean && (value === 0n || value === 1n)) return value === 1n;
    if (typeof value === 'bigint') return bigintToWire(value);
    return genericToWire(value, options);
  }
}
