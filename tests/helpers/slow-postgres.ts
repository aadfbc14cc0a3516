/**
 * PostgreSQL statements that take a known time whatever the machine's speed, and that the statement
 * guard lets through (it refuses pg_sleep()): they spin on clock_timestamp() until a moment
 * measured from now(), the start of the transaction the statement runs in. The spin streams
 * generate_series from the select list, so it holds no memory and writes no temporary files.
 */

/** 1, once `offset` (an interval expression) has passed since the transaction began. */
const spinUntil = (offset: string): string =>
  `(SELECT 1 FROM (SELECT generate_series(1, 100000000000) AS g) spin WHERE clock_timestamp() >= now() + ${offset} LIMIT 1)`;

/** One row (`done` = 1) after `seconds` of work. */
export function busyFor(seconds: number): string {
  return `SELECT ${spinUntil(`interval '${seconds} seconds'`)} AS done`;
}

/** Rows `n` = 1…`rows`, row n ready `n × everyMs` ms into the transaction, so they stream over time. */
export function rowsOverTime(rows: number, everyMs: number): string {
  return `SELECT n, ${spinUntil(`n * interval '${everyMs} milliseconds'`)} AS ready FROM generate_series(1, ${rows}) AS n`;
}

/** A statement that fails (division by zero) after `seconds` of work. */
export function failsAfter(seconds: number): string {
  return `SELECT 1 / (${spinUntil(`interval '${seconds} seconds'`)} - 1) AS never`;
}
