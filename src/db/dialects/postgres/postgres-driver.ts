import pg from 'pg';
import Cursor from 'pg-cursor';
import { poolBusyError } from '../../pool-busy.ts';
import type {
  Driver,
  DriverColumn,
  PoolStats,
  QuerySpec,
  RowSink,
  ServerInfo,
  SqlParam,
  StreamStats
} from '../../driver.ts';
import { MessageWatch, POSTGRES_FRAMING } from '../../message-watch.ts';
import { DEFAULT_MAX_ROW_BYTES, rowTooLarge, rowWeight } from '../../row-size.ts';
import { BorrowedClient } from './postgres-borrow.ts';
import { sendCancelRequest } from './postgres-cancel.ts';
import { postgresPoolConfig, type PostgresDatabaseConfig, type PostgresTarget } from './postgres-config.ts';
import { POOL_WAIT_TIMEOUT, translatePostgresError } from './postgres-errors.ts';
import { PipelinedRead, ReadFailed, SessionReset } from './postgres-read.ts';
import { postgresSessionQuery } from './postgres-session.ts';
import { postgresTypeName } from './postgres-types.ts';

/**
 * A write's result is read through a cursor, which holds a batch whole: FIRST_BATCH rows at first,
 * then as many as about CURSOR_BATCH_BYTES hold at the weight of the rows read so far, at most BATCH.
 * Narrow rows come 200 at a time; rows of several megabytes, one or two, not 200 at once.
 */
const FIRST_BATCH = 10;
const BATCH = 200;
const CURSOR_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Bytes of rows a read throws away once the sink has all it takes (rows the server sends up to the
 * row cap, past the character budget) before the connection is closed instead: a new connection
 * costs less than reading on through wide rows.
 */
const DISCARD_BYTES = 1024 * 1024;

/**
 * Whether PostgreSQL runs the statement to completion at its first fetch, whatever is fetched: an
 * INSERT, UPDATE, DELETE or MERGE, after any comments. A block comment holding another `/*`
 * (PostgreSQL nests them) is not looked into: such a statement is read to its end, as any other.
 */
function runsAtOnce(sql: string): boolean {
  let at = 0;
  for (;;) {
    while (at < sql.length && /\s/.test(sql.charAt(at))) at++;
    if (sql.startsWith('--', at)) {
      const end = sql.indexOf('\n', at);
      if (end < 0) return false;
      at = end + 1;
    } else if (sql.startsWith('/*', at)) {
      const end = sql.indexOf('*/', at + 2);
      if (end < 0 || sql.slice(at + 2, end).includes('/*')) return false;
      at = end + 2;
    } else {
      return /^(?:INSERT|UPDATE|DELETE|MERGE)\b/i.test(sql.slice(at, at + 7));
    }
  }
}

/** Commands whose count is of rows changed, with or without RETURNING (a SELECT's is of rows returned). */
const CHANGES_ROWS: ReadonlySet<string> = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

export interface PostgresDriverOptions {
  database: PostgresDatabaseConfig;
  /** Server-side statement timeout, a safety net behind sqlbridge's own cancellation. */
  statementTimeoutMs: number;
  /** The largest row (or other message) read from the server; a larger one closes the connection. */
  maxRowBytes?: number;
  onPoolError?: (error: Error) => void;
}

interface BackendIdentity {
  processID: number | null;
  secretKey: number | null;
}

/**
 * PostgreSQL through pg: every statement runs in its own transaction. A read is READ ONLY, always
 * rolled back, and written to the server as one exchange, its rows capped by the server
 * (postgres-read.ts); a write commits only when every statement succeeded and its rows come
 * through a server-side cursor a batch at a time. Cancellation sends a CancelRequest for the
 * backend running the statement; a session lost or cancelled is closed, not lent again, and one
 * whose server does not stop the statement in time is closed from this side (postgres-borrow.ts).
 * A watch on each connection (message-watch.ts) closes it at a row larger than maxRowBytes, and
 * once a read has every row it takes and more than DISCARD_BYTES of the rest follow.
 */
export class PostgresDriver implements Driver {
  private readonly pool: pg.Pool;
  private readonly target: PostgresTarget;
  private readonly maxRowBytes: number;
  private readonly connectTimeoutMs: number;
  /** Each pooled client's watch on the size of what its server sends (see message-watch.ts). */
  private readonly watches = new WeakMap<pg.PoolClient, MessageWatch>();

  constructor(options: PostgresDriverOptions) {
    const { target, ...config } = postgresPoolConfig(options.database, Math.round(options.statementTimeoutMs));
    this.target = target;
    this.maxRowBytes = options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES;
    this.connectTimeoutMs = config.connectionTimeoutMillis ?? 0;
    this.pool = new pg.Pool(config);
    // An idle client whose server went away emits here; without a listener the process would crash.
    this.pool.on('error', error => options.onPoolError?.(error));
    // A new client, connected and ready (between two messages), before it is first lent.
    this.pool.on('connect', client => {
      this.watches.set(client, new MessageWatch(client.connection.stream, this.maxRowBytes, POSTGRES_FRAMING));
    });
  }

  async init(): Promise<ServerInfo> {
    const borrowed = await this.borrow(AbortSignal.timeout(60_000));
    try {
      const result = await borrowed.client.query<{ server_version: string }>('SHOW server_version');
      return { product: 'PostgreSQL', version: result.rows[0]?.server_version.split(' ')[0] ?? 'unknown' };
    } catch (error) {
      throw translatePostgresError(error, this.target);
    } finally {
      borrowed.release();
    }
  }

  async stream(query: QuerySpec, sink: RowSink, signal: AbortSignal): Promise<StreamStats> {
    return query.readOnly ? this.read(query, sink, signal) : this.write(query, sink, signal);
  }

  /** A read: one round trip, the session's reset included, whether the read succeeds or fails (see postgres-read.ts). */
  private async read(query: QuerySpec, sink: RowSink, signal: AbortSignal): Promise<StreamStats> {
    const session = postgresSessionQuery(query.session);
    const setup = ['BEGIN TRANSACTION READ ONLY'];
    // The caller's database role: transaction-local, so the ROLLBACK ends it with the transaction.
    if (query.role !== undefined) setup.push(`SET LOCAL ROLE ${quoteIdentifier(query.role)}`);
    const borrowed = await this.borrow(signal);
    const { client } = borrowed;
    const watch = this.watches.get(client);
    const reset = new SessionReset();
    let sent = false;
    let read: PipelinedRead | undefined;
    try {
      read = new PipelinedRead(
        {
          setup,
          ...(session === undefined
            ? {}
            : { session: { text: session.text, values: (session.values ?? []) as SqlParam[] } }),
          before: query.before ?? [],
          sql: query.sql,
          ...(query.params === undefined ? {} : { params: query.params })
        },
        sink,
        reset,
        () => watch?.discardAtMost(DISCARD_BYTES)
      );
      // The read writes the reset's messages too; the client hands the reset the answers after the read's.
      void client.query(read as unknown as pg.QueryConfig);
      void client.query(reset as unknown as pg.QueryConfig);
      sent = true;
      return await read.done;
    } catch (failure) {
      const error = failure instanceof ReadFailed ? failure.error : failure;
      if (signal.aborted) throw borrowed.abortError(error);
      // Closed for what came once the sink had all it takes: the result is whole as far as it goes.
      const cut = read?.cutShort();
      if (cut !== undefined && (watch?.discarded === true || watch?.exceeded !== undefined)) return cut;
      throw this.translate(client, error);
    } finally {
      watch?.keep();
      // A session that could not be reset (or whose reset was never given to the client) is not lent again.
      if (sent) await reset.done.catch(() => borrowed.discard());
      else borrowed.discard();
      borrowed.release();
    }
  }

  private async write(query: QuerySpec, sink: RowSink, signal: AbortSignal): Promise<StreamStats> {
    // The caller's identity, for row-level security: set inside the transaction, so it ends with it.
    const session = postgresSessionQuery(query.session);
    const borrowed = await this.borrow(signal);
    const { client } = borrowed;
    try {
      await client.query('BEGIN');
      // The caller's database role: transaction-local, so ROLLBACK/COMMIT end it with the transaction.
      if (query.role !== undefined) await client.query(`SET LOCAL ROLE ${quoteIdentifier(query.role)}`);
      if (session !== undefined) await client.query(session);
      signal.throwIfAborted();
      let affected = 0;
      for (const statement of query.before ?? []) {
        // The extended protocol runs exactly one statement, whatever the text holds.
        const config: pg.QueryConfig & { queryMode: 'extended' } = { text: statement, queryMode: 'extended' };
        const result = await client.query(config);
        if (result.fields.length === 0 || CHANGES_ROWS.has(result.command)) affected += result.rowCount ?? 0;
      }
      const stats = await this.readCursor(borrowed, query, sink);
      if (affected > 0) stats.rowsAffected = (stats.rowsAffected ?? 0) + affected;
      await client.query('COMMIT');
      // The next caller gets a clean session: settings, temporary tables and advisory locks do not carry over.
      await client.query('DISCARD ALL').catch(() => borrowed.discard());
      return stats;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
        // A failed write leaves what a committed one does (lastval(), advisory locks taken at
        // session level, settings outside the transaction): the next caller gets a clean session.
        await client.query('DISCARD ALL');
      } catch {
        borrowed.discard();
      }
      if (signal.aborted) throw borrowed.abortError(error);
      throw this.translate(client, error);
    } finally {
      borrowed.release();
    }
  }

  /** A failure of a statement: a row too large for this side closed the connection, or what the server said. */
  private translate(client: pg.PoolClient, error: unknown): Error {
    const exceeded = this.watches.get(client)?.exceeded;
    if (exceeded !== undefined) return rowTooLarge(this.maxRowBytes, exceeded);
    return translatePostgresError(error, this.target, 'statement');
  }

  async destroy(): Promise<void> {
    await this.pool.end();
  }

  poolStats(): PoolStats {
    const { totalCount, idleCount, waitingCount } = this.pool;
    return { inUse: totalCount - idleCount, idle: idleCount, waiting: waitingCount };
  }

  /**
   * A write's last statement, through a cursor: the rows it returns go to the sink up to the sink's
   * limit. PostgreSQL runs an INSERT, UPDATE, DELETE or MERGE to completion at its first fetch: the
   * rest of its RETURNING rows are read on only to count the rows it changed, and left unsent (the
   * count then unknown) once more than DISCARD_BYTES of them would be thrown away. Any
   * other statement (a `SELECT` calling a function that writes, `nextval()` over a series) runs only
   * as far as it is fetched: its rows past the limit are read and dropped, or it would commit part of
   * what it does.
   */
  private async readCursor(borrowed: BorrowedClient, query: QuerySpec, sink: RowSink): Promise<StreamStats> {
    const cursor = borrowed.client.query(
      new Cursor(query.sql, query.params as unknown[] | undefined, { rowMode: 'array' })
    );
    const limit = sink.rowLimit ?? Infinity;
    let rowsRead = 0;
    let weight = 0;
    let batch = FIRST_BATCH;
    let first = true;
    let taking = true;
    /** Weight of the rows read past what the sink took. */
    let dropped = 0;
    const drain = !runsAtOnce(query.sql);
    try {
      for (;;) {
        const want = taking ? Math.max(1, Math.min(batch, limit - rowsRead)) : batch;
        const { rows, result } = await read(cursor, want);
        if (first) {
          first = false;
          sink.columns(result.fields.map(toColumn));
        }
        rowsRead += rows.length;
        // Weighed before the sink converts the values where they are.
        for (const row of rows) {
          const size = rowWeight(row);
          weight += size;
          if (taking && !sink.row(row)) taking = false;
          if (!taking) dropped += size;
        }
        batch = Math.max(1, Math.min(BATCH, Math.floor((CURSOR_BATCH_BYTES * rowsRead) / Math.max(1, weight))));
        if (rows.length < want) {
          const stats: StreamStats = { rowsRead, stoppedEarly: !taking };
          // With RETURNING, each row returned is one changed, and all were read; the command tag of
          // a cursor read in parts counts only its last part.
          if (result.fields.length === 0) {
            if (result.rowCount !== null) stats.rowsAffected = result.rowCount;
          } else if (CHANGES_ROWS.has(result.command)) {
            stats.rowsAffected = rowsRead;
          }
          return stats;
        }
        if (rowsRead >= limit) taking = false;
        // A change's RETURNING rows are read on to count them, unless they are wide (DISCARD_BYTES).
        if (!taking && !drain && dropped > DISCARD_BYTES) return { rowsRead, stoppedEarly: true };
      }
    } finally {
      // A cursor waits for the server to confirm it closed: a lost connection never will.
      await Promise.race([cursor.close(), borrowed.lost()]);
    }
  }

  /** A pooled client, watched until it is released (see postgres-borrow.ts). */
  private async borrow(signal: AbortSignal): Promise<BorrowedClient> {
    const client = await this.connect(signal);
    return new BorrowedClient(client, signal, () => this.cancelBackend(client));
  }

  /** A pooled client, or the signal's reason if it aborts first (a late client goes back to the pool). */
  private async connect(signal: AbortSignal): Promise<pg.PoolClient> {
    signal.throwIfAborted();
    const waitFrom = performance.now();
    const pending = this.pool.connect();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([pending, aborted]);
    } catch (error) {
      pending.then(
        client => client.release(),
        () => undefined
      );
      // Stopped while every connection was lent to other calls: nothing ran, and the caller is told the
      // database was busy, not that its statement ran too long.
      if (signal.aborted && this.pool.waitingCount > 0 && this.pool.totalCount >= this.pool.options.max)
        throw poolBusyError(this.pool.totalCount, performance.now() - waitFrom, signal.reason);
      if (signal.aborted) throw signal.reason;
      if (error instanceof Error && error.message === POOL_WAIT_TIMEOUT)
        throw poolBusyError(this.pool.totalCount, this.connectTimeoutMs, error);
      throw translatePostgresError(error, this.target);
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  private async cancelBackend(client: pg.PoolClient): Promise<void> {
    const backend = client as unknown as BackendIdentity;
    if (backend.processID === null || backend.secretKey === null) return;
    await sendCancelRequest(this.target.host, this.target.port, backend.processID, backend.secretKey);
  }
}

function read(cursor: Cursor, count: number): Promise<{ rows: unknown[][]; result: pg.QueryResult }> {
  return new Promise((resolve, reject) => {
    cursor.read(count, (error, rows, result) => {
      if (error) reject(error);
      else resolve({ rows: rows as unknown[][], result });
    });
  });
}

function toColumn(field: pg.FieldDef): DriverColumn {
  return { name: field.name, type: postgresTypeName(field.dataTypeID, field.dataTypeModifier) };
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
