import { labelOf, WORKING_ROWS } from './datasets.ts';

/**
 * What is measured: each workload is a list of SQL calls with what a correct answer holds, run on
 * one engine at the stated concurrencies. Every response is checked against its expectation; a
 * wrong answer counts as an error, never as a call served.
 */

export type Engine = 'postgres' | 'sqlite';
export type Era = '2026-07-28' | '2025-11-25';

export interface Expectation {
  /** Rows the answer holds. */
  rows: number;
  /** A value the first row must hold (compared as text). */
  contains?: string;
  /** The call must fail as a tool error (bad SQL), not as a transport or protocol failure. */
  error?: boolean;
}

export interface Call {
  sql: string;
  expect: Expectation;
}

export interface Workload {
  name: string;
  title: string;
  engine: Engine;
  era: Era;
  concurrency: number;
  calls: Call[];
  /** Read through a cursor stopped at the row cap (the raw driver's equivalent of the server's cap). */
  capped?: boolean;
}

/** The default row cap of sqlbridge, given to DBHub as `max_rows` and to the raw driver's cursor. */
export const ROW_CAP = 1000;

/** Primary keys spread over the table, the same sequence on every run and system. */
function lookups(count: number): Call[] {
  const calls: Call[] = [];
  let key = 7;
  for (let i = 0; i < count; i++) {
    key = (key * 7919 + 104_729) % WORKING_ROWS;
    const id = key + 1;
    calls.push({
      sql: `SELECT id, label, qty FROM bench_rows WHERE id = ${id}`,
      expect: { rows: 1, contains: labelOf(id) }
    });
  }
  return calls;
}

const select1: Call[] = [{ sql: 'SELECT 1 AS one', expect: { rows: 1, contains: '1' } }];
const rows1000: Call[] = [
  { sql: 'SELECT id, label FROM bench_rows WHERE id <= 1000 ORDER BY id', expect: { rows: 1000, contains: labelOf(1) } }
];
const badSql: Call[] = [{ sql: 'SELECT no_such_column FROM bench_rows', expect: { rows: 0, error: true } }];
const selectAll: Call[] = [{ sql: 'SELECT * FROM bench_big', expect: { rows: ROW_CAP, contains: labelOf(1) } }];

/**
 * The soak's mix, in the proportions of an analyst's session: of every 20 calls, 16 primary-key
 * lookups, 2 `SELECT 1`, one 1000-row result and one bad statement.
 */
export const MIXED_CALLS: readonly Call[] = lookups(800).flatMap((lookup, i) => {
  if (i % 16 === 0) return [lookup, ...select1];
  if (i % 16 === 5) return [lookup, ...rows1000];
  if (i % 16 === 10) return [lookup, ...select1];
  if (i % 16 === 15) return [lookup, ...badSql];
  return [lookup];
});

const MODERN: Era = '2026-07-28';

export const WORKLOADS: readonly Workload[] = [
  {
    name: 'select1-pg-c16',
    title: '`SELECT 1`, PostgreSQL, C=16',
    engine: 'postgres',
    era: MODERN,
    concurrency: 16,
    calls: select1
  },
  {
    name: 'pk-pg-c16',
    title: 'primary-key lookup, PostgreSQL, C=16',
    engine: 'postgres',
    era: MODERN,
    concurrency: 16,
    calls: lookups(1000)
  },
  {
    name: 'pk-sqlite-c16',
    title: 'primary-key lookup, SQLite, C=16',
    engine: 'sqlite',
    era: MODERN,
    concurrency: 16,
    calls: lookups(1000)
  },
  {
    name: 'pk-pg-c1',
    title: 'primary-key lookup, PostgreSQL, C=1',
    engine: 'postgres',
    era: MODERN,
    concurrency: 1,
    calls: lookups(1000)
  },
  {
    name: 'pk-pg-c16-2025',
    title: 'primary-key lookup, PostgreSQL, C=16, 2025-era client (session)',
    engine: 'postgres',
    era: '2025-11-25',
    concurrency: 16,
    calls: lookups(1000)
  },
  {
    name: 'rows1000-pg-c16',
    title: '1000-row result, PostgreSQL, C=16',
    engine: 'postgres',
    era: MODERN,
    concurrency: 16,
    calls: rows1000
  },
  {
    name: 'rows1000-sqlite-c16',
    title: '1000-row result, SQLite, C=16',
    engine: 'sqlite',
    era: MODERN,
    concurrency: 16,
    calls: rows1000
  },
  {
    name: 'rows1000-pg-c1',
    title: '1000-row result, PostgreSQL, C=1',
    engine: 'postgres',
    era: MODERN,
    concurrency: 1,
    calls: rows1000
  },
  {
    name: 'badsql-pg-c16',
    title: 'bad SQL (error result), PostgreSQL, C=16',
    engine: 'postgres',
    era: MODERN,
    concurrency: 16,
    calls: badSql
  },
  {
    name: 'selectall-pg-c1',
    title: '`SELECT *` over 1,000,000 rows, default cap, PostgreSQL, C=1',
    engine: 'postgres',
    era: MODERN,
    concurrency: 1,
    calls: selectAll,
    capped: true
  },
  {
    name: 'selectall-sqlite-c1',
    title: '`SELECT *` over 1,000,000 rows, default cap, SQLite, C=1',
    engine: 'sqlite',
    era: MODERN,
    concurrency: 1,
    calls: selectAll,
    capped: true
  }
];
