import type pg from 'pg';
import type { Logger } from '../observability/logger.ts';
import {
  AUDIT_COLUMNS,
  auditRow,
  chunks,
  indexStatements,
  insertStatement,
  quotedTable,
  ROWS_PER_INSERT,
  type AuditColumn,
  type AuditValue
} from './audit-table.ts';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';

/**
 * The audit table in PostgreSQL (`audit.database.url`, taken as given: sslmode and the rest in the
 * URL). A pool of at most two connections; the table and its indexes are created when missing at
 * the first batch that gets through, so a database that is down at start-up only makes the sink
 * fail until it is back. A batch is one multi-row INSERT (a transaction when it needs several).
 * Every query has a time limit: a write that hangs on a lock would otherwise hold the trail's
 * queue for this sink without ever reporting it failing.
 *
 * Errors name the table, never the URL (it holds the password). pg is loaded with the first batch:
 * a server whose audit goes elsewhere never loads it.
 */

const CONNECT_TIMEOUT_MS = 5000;
const QUERY_TIMEOUT_MS = 15_000;

const COLUMN_TYPES: Record<AuditColumn, string> = {
  id: 'text PRIMARY KEY',
  time: 'timestamptz NOT NULL',
  event: 'text NOT NULL',
  outcome: 'text NOT NULL',
  environment: 'text',
  request_id: 'text',
  user_name: 'text',
  client_id: 'text',
  remote_address: 'text',
  tool: 'text',
  statement: 'text',
  statement_hash: 'text',
  duration_ms: 'bigint',
  rows: 'bigint',
  truncated: 'boolean',
  error_class: 'text',
  detail: 'jsonb'
};

/** Parameters are sent as text; the columns that are not text say what they are. */
const CASTS: Partial<Record<AuditColumn, string>> = {
  time: 'timestamptz',
  duration_ms: 'bigint',
  rows: 'bigint',
  truncated: 'boolean',
  detail: 'jsonb'
};

export interface PostgresAuditSinkOptions {
  url: string;
  table: string;
  logger: Logger;
}

export class PostgresAuditSink implements AuditSink {
  readonly name = 'postgres';
  private readonly options: PostgresAuditSinkOptions;
  private readonly table: string;
  private pool: Promise<pg.Pool> | undefined;
  private created = false;

  constructor(options: PostgresAuditSinkOptions) {
    quotedTable(options.table);
    this.options = options;
    this.table = options.table;
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      const pool = await this.connected();
      if (!this.created) {
        await this.createTable(pool);
        this.created = true;
      }
      const batches = chunks(records, ROWS_PER_INSERT);
      if (batches.length === 1) await this.insert(pool, records);
      else
        await this.transaction(pool, async client => {
          for (const batch of batches) await this.insert(client, batch);
        });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot write the audit table ${this.table} (PostgreSQL): ${reason}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.pool === undefined) return;
    await (await this.pool).end();
  }

  private connected(): Promise<pg.Pool> {
    this.pool ??= import('pg').then(({ default: { Pool } }) => {
      const pool = new Pool({
        connectionString: this.options.url,
        max: 2,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        query_timeout: QUERY_TIMEOUT_MS,
        idleTimeoutMillis: 30_000,
        application_name: 'sqlbridge audit'
      });
      // An idle connection whose server went away reports here; without a listener the process would exit.
      pool.on('error', error => {
        this.options.logger.warn({ sink: this.name, error: error.message }, 'audit database connection lost');
      });
      return pool;
    });
    return this.pool;
  }

  private async insert(target: pg.Pool | pg.PoolClient, records: readonly AuditRecord[]): Promise<void> {
    const sql = insertStatement(this.table, records.length, (index, column) => {
      const cast = CASTS[column];
      return cast === undefined ? `$${index}` : `$${index}::${cast}`;
    });
    await target.query(sql, records.flatMap(postgresRow));
  }

  /**
   * Creates the table and its indexes when the table is missing. A table that exists is left as it
   * is: it may belong to someone else, and the writer needs no more than `INSERT, SELECT (id)` on it
   * (the conflict target is read), while even `CREATE TABLE IF NOT EXISTS` needs the right to create
   * in the schema.
   */
  private async createTable(pool: pg.Pool): Promise<void> {
    const found = await pool.query<{ table: string | null }>('SELECT to_regclass($1)::text AS table', [
      quotedTable(this.table)
    ]);
    if (typeof found.rows[0]?.table === 'string') return;
    const columns = AUDIT_COLUMNS.map(column => `"${column}" ${COLUMN_TYPES[column]}`);
    await this.transaction(pool, async client => {
      await client.query(`CREATE TABLE IF NOT EXISTS ${quotedTable(this.table)} (${columns.join(', ')})`);
      for (const statement of indexStatements(this.table)) await client.query(statement);
    });
  }

  private async transaction(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await pool.connect();
    // The pool stops listening for a lent client's errors: a connection lost meanwhile fails the
    // queries waiting on it, and its error event, with nobody listening, would end the process.
    client.on('error', ignoreLostConnection);
    let failed = false;
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      failed = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.removeListener('error', ignoreLostConnection);
      // A connection that failed mid-transaction is not given back to the pool.
      client.release(failed);
    }
  }
}

/**
 * A record's row as PostgreSQL can store it. Its text and jsonb cannot hold U+0000, which a caller
 * can put into a tool name or a statement: the whole batch would be refused, and retried for ever,
 * leaving an environment whose trail must block serving nothing. The character is stored as U+FFFD.
 */
function postgresRow(record: AuditRecord): AuditValue[] {
  return auditRow(record).map((value, index) => {
    if (typeof value !== 'string') return value;
    // The details are JSON text, in which the character is written as an escape.
    if (AUDIT_COLUMNS[index] === 'detail') {
      return value.includes('\\u0000') ? JSON.stringify(record.detail, withoutNul) : value;
    }
    return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
  });
}

function withoutNul(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? value.replaceAll('\u0000', '\uFFFD') : value;
}

function ignoreLostConnection(): void {
  // The failure reaches the queries that waited on the connection.
}
