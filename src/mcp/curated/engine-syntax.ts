import type { EngineName } from '../../db/dialect.ts';
import type { SqlParam } from '../../db/driver.ts';
import type { PlaceholderStyle } from './placeholders.ts';

/**
 * How each engine binds parameters and calls a database function, for curated tools. A record over
 * every engine name, so that adding an engine fails to compile until it says how.
 */
export interface EngineSyntax extends PlaceholderStyle {
  /**
   * The statement that calls a routine with the given argument markers, or undefined where the engine
   * has no routines. Always a SELECT, so that it passes the statement guard and runs read-only.
   */
  routineCall(quotedName: string, quotedColumn: string, markers: readonly string[]): string | undefined;
  /** A checked argument as the driver binds it. */
  bind: (value: string | number | boolean | null) => SqlParam;
}

const asIs = (value: string | number | boolean | null): SqlParam => value;

export const ENGINE_SYNTAX: Readonly<Record<EngineName, EngineSyntax>> = {
  // node-postgres: $1, $2 (https://node-postgres.com/features/queries#parameterized-query); a table or scalar function.
  postgres: {
    marker: position => `$${position}`,
    numbered: true,
    routineCall: (name, _column, markers) => `SELECT * FROM ${name}(${markers.join(', ')})`,
    bind: asIs
  },
  // mssql binds @p1, @p2 (the driver's inputs); a table-valued function.
  mssql: {
    marker: position => `@p${position}`,
    numbered: true,
    routineCall: (name, _column, markers) => `SELECT * FROM ${name}(${markers.join(', ')})`,
    bind: asIs
  },
  // mysql2: ? per value; MySQL/MariaDB have no table functions, so a stored function's value.
  mysql: {
    marker: () => '?',
    numbered: false,
    routineCall: (name, column, markers) => `SELECT ${name}(${markers.join(', ')}) AS ${column}`,
    bind: asIs
  },
  // node:sqlite: ? per value; it binds no booleans (SQLite stores them as 0 and 1).
  sqlite: {
    marker: () => '?',
    numbered: false,
    routineCall: () => undefined,
    bind: value => (typeof value === 'boolean' ? (value ? 1 : 0) : value)
  }
};
