import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import {
  AUDIT_COLUMNS,
  type AuditColumn,
  auditRow,
  chunks,
  indexStatements,
  insertStatement,
  quotedTable,
  ROWS_PER_INSERT
} from './audit-table.ts';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';

/**
 * The audit table in a SQLite file in the data directory (readable by its owner only), in WAL mode
 * with every commit synced (a batch is on disk when `write()` returns). The file and table are
 * created at the first batch, not at start-up, so a server whose audit database cannot be opened
 * starts and reports the sink failing instead (and it is tried again with each batch).
 *
 * node:sqlite is synchronous: a batch (one transaction) takes milliseconds, and a lock held by
 * someone else (an operator's `sqlite3` shell) is waited for at most `BUSY_TIMEOUT_MS` — on the event
 * loop, so briefly — before the batch fails and is retried later.
 */

const BUSY_TIMEOUT_MS = 500;

const COLUMN_TYPES: Record<AuditColumn, string> = {
  id: 'TEXT PRIMARY KEY',
  time: 'TEXT NOT NULL',
  event: 'TEXT NOT NULL',
  outcome: 'TEXT NOT NULL',
  environment: 'TEXT',
  request_id: 'TEXT',
  user_name: 'TEXT',
  client_id: 'TEXT',
  remote_address: 'TEXT',
  tool: 'TEXT',
  statement: 'TEXT',
  statement_hash: 'TEXT',
  duration_ms: 'INTEGER',
  rows: 'INTEGER',
  truncated: 'INTEGER',
  error_class: 'TEXT',
  detail: 'TEXT'
};

export class SqliteAuditSink implements AuditSink {
  readonly name = 'sqlite';
  readonly path: string;
  private readonly table: string;
  private db: DatabaseSync | undefined;

  constructor(path: string, table: string) {
    quotedTable(table);
    this.path = path;
    this.table = table;
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      const db = (this.db ??= this.open());
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const chunk of chunks(records, ROWS_PER_INSERT)) {
          const values: SQLInputValue[] = chunk.flatMap(record =>
            auditRow(record).map(value => (typeof value === 'boolean' ? Number(value) : value))
          );
          db.prepare(insertStatement(this.table, chunk.length, () => '?')).run(...values);
        }
        db.exec('COMMIT');
      } catch (error) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot write the audit table ${this.table} in ${this.path}: ${reason}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  private open(): DatabaseSync {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    // Created 0600 before SQLite opens it: its -wal and -shm files take the database file's mode.
    closeSync(openSync(this.path, 'a', 0o600));
    const db = new DatabaseSync(this.path, { timeout: BUSY_TIMEOUT_MS });
    try {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
      const columns = AUDIT_COLUMNS.map(column => `"${column}" ${COLUMN_TYPES[column]}`);
      db.exec(`CREATE TABLE IF NOT EXISTS ${quotedTable(this.table)} (${columns.join(', ')})`);
      for (const statement of indexStatements(this.table)) db.exec(statement);
      return db;
    } catch (error) {
      db.close();
      throw error;
    }
  }
}
