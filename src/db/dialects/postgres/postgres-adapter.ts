import type { DialectAdapter } from '../../dialect.ts';
import type { DriverColumn, QuerySpec } from '../../driver.ts';
import type { TableRef } from '../../introspector.ts';
import { genericToWire, type ValueOptions, type WireValue } from '../../values.ts';
import { postgresGuardRules } from './postgres-guard.ts';

/** PostgreSQL's SQL and values (values arrive already parsed by postgres-types.ts). */
export class PostgresAdapter implements DialectAdapter {
  readonly guardRules = postgresGuardRules;
  readonly engineName = 'PostgreSQL';
  readonly defaultSchema: string = 'public';
  readonly identifierQuotes = [['"', '"']] as const;
  readonly caseInsensitiveIdentifiers: boolean = false;
  readonly sqlNotes =
    "PostgreSQL SQL: limit rows with LIMIT n OFFSET m. Use now() - interval '1 hour', date_trunc('quarter', ts), EXTRACT(YEAR FROM ts), and ::numeric casts; aggregates can take FILTER (WHERE …). Unquoted names fold to lower case: double-quote mixed-case ones.";

  quoteIdentifier(name: string): string {
    return `"${name.replaceAll('"', '""')}"`;
  }

  sampleQuery(table: TableRef, limit: number, columns?: readonly string[]): QuerySpec {
    const list =
      columns === undefined || columns.length === 0
        ? '*'
        : columns.map(column => this.quoteIdentifier(column)).join(', ');
    return {
      sql: `SELECT ${list} FROM ${this.quoteIdentifier(table.schema)}.${this.quoteIdentifier(table.name)} LIMIT $1`,
      params: [limit],
      readOnly: true
    };
  }

  toWireValue(value: unknown, _column: DriverColumn, options: ValueOptions): WireValue {
    return genericToWire(value, options);
  }
}
