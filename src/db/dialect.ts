import type { Driver, DriverColumn, QuerySpec } from './driver.ts';
import type { GuardRules } from './guard/statement-guard.ts';
import type { CatalogReader, Introspector, TableRef } from './introspector.ts';
import type { PrivilegeProbe } from './privileges.ts';
import type { ValueOptions, WireValue } from './values.ts';

/**
 * A database engine as sqlbridge sees it: a small factory, as in kysely. Everything outside
 * `src/db/dialects/` is engine-agnostic and talks to these interfaces only. What an engine lacks
 * is an optional member, never a type check elsewhere.
 */
export type EngineName = 'sqlite' | 'postgres' | 'mysql' | 'mssql';

export interface Dialect {
  readonly engine: EngineName;
  createDriver(): Driver;
  createAdapter(): DialectAdapter;
  createIntrospector(catalog: CatalogReader): Introspector;
  /** Asks the server what the login may change (the least-privilege check). */
  createPrivilegeProbe(catalog: CatalogReader): PrivilegeProbe;
  /**
   * How a model pages through a result in this engine's SQL, as the end of a sentence that begins
   * "Aggregate, filter, or …" (e.g. "page with LIMIT/OFFSET"): the notes of a capped result use it.
   */
  readonly paging: string;
}

export interface DialectAdapter {
  /** Human name of the engine, used until the server has said what it is (e.g. "PostgreSQL"). */
  readonly engineName: string;
  /** The schema a bare table name resolves to first (`main`, `public`, `dbo`, the current database). */
  readonly defaultSchema: string;
  /** Pairs of characters that quote an identifier in this dialect's SQL, e.g. `["\"", "\""]`. */
  readonly identifierQuotes: readonly (readonly [open: string, close: string])[];
  /** What a model writing SQL for this engine should know (limits, dates, quoting). */
  readonly sqlNotes: string;
  /** What the statement guard allows in this dialect's SQL. */
  readonly guardRules: GuardRules;
  /** Whether unquoted identifiers match case-insensitively in this engine by default. */
  readonly caseInsensitiveIdentifiers: boolean;
  /** Quotes one identifier so that any name, however odd, is read as that name. */
  quoteIdentifier(name: string): string;
  /**
   * A query returning at most `limit` rows of a table, with the table quoted by this dialect: every
   * column, or only `columns` when given (those a role may read).
   */
  sampleQuery(table: TableRef, limit: number, columns?: readonly string[]): QuerySpec;
  /** Renders one value from this engine's driver exactly. */
  toWireValue(value: unknown, column: DriverColumn, options: ValueOptions): WireValue;
}
