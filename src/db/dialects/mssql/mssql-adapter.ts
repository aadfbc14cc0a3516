import type { DialectAdapter } from '../../dialect.ts';
import type { DriverColumn, QuerySpec } from '../../driver.ts';
import type { TableRef } from '../../introspector.ts';
import { bigintToWire, genericToWire, type ValueOptions, type WireValue } from '../../values.ts';
import { isSpatialValue, spatialToWkt } from './mssql-spatial.ts';
import { mssqlGuardRules } from './mssql-guard.ts';

/**
 * SQL Server's T-SQL and values. Decimal, money and date/time values arrive as exact strings from
 * mssql-exact-values.ts; the rules below cover the rest, and a fallback for numbers and Dates keeps
 * results exact where the exact reader could not be installed.
 */
export class MssqlAdapter implements DialectAdapter {
  readonly guardRules = mssqlGuardRules;
  readonly engineName = 'Microsoft SQL Server';
  readonly defaultSchema: string = 'dbo';
  readonly identifierQuotes = [
    ['[', ']'],
    ['"', '"']
  ] as const;
  readonly caseInsensitiveIdentifiers: boolean = true;
  readonly sqlNotes =
    "T-SQL (SQL Server): limit rows with SELECT TOP (n) … or ORDER BY … OFFSET m ROWS FETCH NEXT n ROWS ONLY; there is no LIMIT. Use DATEADD(hour, -1, SYSUTCDATETIME()), DATEPART(quarter, d), YEAR(d), FORMAT(d, 'yyyy-MM'). Quote names with [brackets]; N'…' for Unicode literals. Use .STAsText() to read geography/geometry as text.";

  quoteIdentifier(name: string): string {
    return `[${name.replaceAll(']', ']]')}]`;
  }

  sampleQuery(table: TableRef, limit: number, columns?: readonly string[]): QuerySpec {
    const list =
      columns === undefined || columns.length === 0
        ? '*'
        : columns.map(column => this.quoteIdentifier(column)).join(', ');
    return {
      sql: `SELECT TOP (@p1) ${list} FROM ${this.quoteIdentifier(table.schema)}.${this.quoteIdentifier(table.name)}`,
      params: [limit],
      readOnly: true
    };
  }

  toWireValue(value: unknown, column: DriverColumn, options: ValueOptions): WireValue {
    if (value === null || value === undefined) return null;
    const type = column.type ?? '';
    if (typeof value === 'string' && type === 'bigint') return bigintToWire(BigInt(value));
    if (typeof value === 'number' && /^(decimal|numeric)\(\d+,\d+\)$|^(small)?money$/.test(type))
      return exactFromNumber(value, type);
    if (isSpatialValue(value)) return spatialToWkt(value, type === 'geography') ?? JSON.stringify(value);
    return genericToWire(value, options);
  }
}

/** Without the exact reader: a double printed with the column's scale is exact up to about 15 digits. */
function exactFromNumber(value: number, type: string): string {
  const scale = type.endsWith('money') ? 4 : Number(/,(\d+)\)$/.exec(type)?.[1] ?? '0');
  return Math.abs(value) * 10 ** scale < 2 ** 52 ? value.toFixed(scale) : String(value);
}
