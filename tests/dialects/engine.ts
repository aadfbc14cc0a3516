import type { DatabaseConfig } from '../../src/config/schema.ts';
import type { ConnectionProblem } from '../../src/errors/connection-error.ts';

/** What the shared dialect suite needs from one engine: a fixture, its SQL, and what to expect. */
export interface TypedColumn {
  column: string;
  /** The value the fixture row holds, as sqlbridge must return it. */
  expected: string | number | boolean | null;
  /** The type name the result reports for the column, where the test pins it. */
  type?: string;
}

export interface EngineFixture {
  /** sqlbridge's database settings for the fixture (read-only environment). */
  database: DatabaseConfig;
  /** Schema of the main tables (the engine's default schema) and of the second `customers`. */
  mainSchema: string;
  otherSchema: string;
  drop(): Promise<void>;
}

export interface EngineSpec {
  engine: 'sqlite' | 'postgres' | 'mysql' | 'mssql';
  /** Creates the fixture schema (fresh, private to this run) and returns its settings. */
  create(): Promise<EngineFixture>;
  /** SQL returning the integers 1..n in column `i`. */
  series(n: number): string;
  /** SQL returning one row: `n` in column `i` and a text of `length` ASCII characters in column `v`. */
  longText(n: number, length: number): string;
  /** SQL that runs for a minute (or forever), tagged with `marker` so it can be found on the server. */
  sleep(marker: string): string;
  /**
   * How many statements tagged with `marker` are still running on the server. SQLite has no server to
   * ask: its statements run in sqlbridge's worker processes, whose ending the SQLite suite checks.
   */
  running?: (fixture: EngineFixture, marker: string) => Promise<number>;
  /** SQL reading the caller's identity from the session: one row, a column per key named as the key. */
  identitySql(keys: readonly string[]): string;
  typed: TypedColumn[];
  /**
   * What the engine does, on its own, with a write sent as a read: 'refused' (a read-only
   * transaction or connection) or 'rolled-back' (SQL Server runs it in a transaction it rolls back).
   */
  writesAsReads: 'refused' | 'rolled-back';
  /** Schema changes the engine refuses in a read-only transaction (MySQL commits DDL implicitly: none). */
  ddlAsReads: readonly string[];
  /** Wrong settings and the problem each must be classified as. */
  connectionFailures(
    fixture: EngineFixture,
    blackhole: { host: string; port: number }
  ): { name: string; database: DatabaseConfig; problem: ConnectionProblem }[];
}

export function randomId(): string {
  return Math.random().toString(36).slice(2, 10);
}
