import type { AuditRecord } from './record.ts';

/**
 * The audit table, as SQLite and PostgreSQL share it: one column per AuditRecord field (snake case;
 * `user` is `user_name`, a reserved word in PostgreSQL), `id` the primary key, so that a batch the
 * trail retries after a failure that happened after the commit (a lost connection) is not written
 * twice: every insert is `ON CONFLICT (id) DO NOTHING`.
 */

export const AUDIT_COLUMNS = [
  'id',
  'time',
  'event',
  'outcome',
  'environment',
  'request_id',
  'user_name',
  'client_id',
  'remote_address',
  'tool',
  'statement',
  'statement_hash',
  'duration_ms',
  'rows',
  'truncated',
  'error_class',
  'detail'
] as const;

export type AuditColumn = (typeof AUDIT_COLUMNS)[number];
export type AuditValue = string | number | boolean | null;

/** The record's values in column order; `detail` as JSON text, absent fields as NULL. */
export function auditRow(record: AuditRecord): AuditValue[] {
  return [
    record.id,
    record.time,
    record.event,
    record.outcome,
    record.environment ?? null,
    record.requestId ?? null,
    record.user ?? null,
    record.clientId ?? null,
    record.remoteAddress ?? null,
    record.tool ?? null,
    record.statement ?? null,
    record.statementHash ?? null,
    record.durationMs ?? null,
    record.rows ?? null,
    record.truncated ?? null,
    record.errorClass ?? null,
    record.detail === undefined ? null : JSON.stringify(record.detail)
  ];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The table name, checked again here (the configuration schema checks it too): it is written into
 * SQL, quoted, so it must never be able to carry anything else.
 */
export function quotedTable(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new Error(
      `invalid audit table name ${JSON.stringify(name)}: a letter or "_" followed by letters, digits or "_"`
    );
  }
  return `"${name}"`;
}

/** An index name from the table's: at most 63 characters (PostgreSQL cuts longer names, which could collide). */
export function indexName(table: string, suffix: string): string {
  return `"${table.slice(0, 63 - suffix.length)}${suffix}"`;
}

/** The indexes the trail is read by: time, and user and environment over time. */
export function indexStatements(table: string): string[] {
  const quoted = quotedTable(table);
  return [
    `CREATE INDEX IF NOT EXISTS ${indexName(table, '_time')} ON ${quoted} ("time")`,
    `CREATE INDEX IF NOT EXISTS ${indexName(table, '_user_time')} ON ${quoted} ("user_name", "time")`,
    `CREATE INDEX IF NOT EXISTS ${indexName(table, '_env_time')} ON ${quoted} ("environment", "time")`
  ];
}

/**
 * One multi-row INSERT of `rows` records with bound parameters, written by `placeholder`: `?` (SQLite)
 * or `$1, $2, …` (PostgreSQL, with a cast where it would not infer the type: jsonb from text).
 */
export function insertStatement(
  table: string,
  rows: number,
  placeholder: (index: number, column: AuditColumn) => string
): string {
  const values: string[] = [];
  let index = 0;
  for (let row = 0; row < rows; row++) {
    values.push(`(${AUDIT_COLUMNS.map(column => placeholder(++index, column)).join(', ')})`);
  }
  const columns = AUDIT_COLUMNS.map(column => `"${column}"`).join(', ');
  return `INSERT INTO ${quotedTable(table)} (${columns}) VALUES ${values.join(', ')} ON CONFLICT ("id") DO NOTHING`;
}

/** Records per INSERT: well under both engines' limits on bound parameters (SQLite 32,766; PostgreSQL 65,535). */
export const ROWS_PER_INSERT = 1000;

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}
