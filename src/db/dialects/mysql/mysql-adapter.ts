import type { DialectAdapter } from '../../dialect.ts';
import type { DriverColumn, QuerySpec } from '../../driver.ts';
import type { TableRef } from '../../introspector.ts';
import { genericToWire, type ValueOptions, type WireValue } from '../../values.ts';
import { mysqlGuardRules } from './mysql-guard.ts';

/**
 * MySQL and MariaDB SQL and values. Dates arrive as the server's text (dateStrings); DATETIME has no
 * zone and becomes `YYYY-MM-DDTHH:MM:SS[.ffffff]`, TIMESTAMP is read in the session's UTC and gets `Z`.
 * The zero date `0000-00-00` stays as MySQL wrote it.
 */
export class MysqlAdapter implements DialectAdapter {
  readonly guardRules = mysqlGuardRules;
  readonly engineName = 'MySQL';
  readonly defaultSchema: string;
  readonly identifierQuotes = [
    ['`', '`'],
    ['"', '"']
  ] as const;
  readonly caseInsensitiveIdentifiers: boolean = false;
  readonly sqlNotes =
    "MySQL/MariaDB SQL: limit rows with LIMIT n OFFSET m. Use NOW() - INTERVAL 1 HOUR, DATE_FORMAT(ts, '%Y-%m'), QUARTER(ts), YEAR(ts). Quote identifiers with backticks. Timestamps are UTC.";

  constructor(defaultSchema: string | undefined) {
    this.defaultSchema = defaultSchema ?? '';
  }

  quoteIdentifier(name: string): string {
    return `\`${name.replaceAll('`', '``')}\``;
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
    if (typeof value === 'string' && !value.startsWith('0000-00-00')) {
      if (column.type === 'datetime') return value.replace(' ', 'T');
      if (column.type === 'timestamp') return `${value.replace(' ', 'T')}Z`;
    }
    return genericToWire(value, options);
  }
}
