import mysql, { type FieldPacket, type Pool, type PoolConnection } from 'mysql2';
import {
  UnconfirmedCancellation,
  type Driver,
  type QuerySpec,
  type RowSink,
  type ServerInfo,
  type StreamStats
} from '../../driver.ts';
import { ConnectionError } from '../../../errors/connection-error.ts';
import { poolBusyError } from '../../pool-busy.ts';
import { untilAborted } from '../../until-aborted.ts';
import { MessageWatch, MYSQL_FRAMING, type WatchedStream } from '../../message-watch.ts';
import { DEFAULT_MAX_ROW_BYTES, rowTooLarge } from '../../row-size.ts';
import { mysqlPoolOptions, type MysqlDatabaseConfig, type MysqlTarget } from './mysql-config.ts';
import { translateMysqlError } from './mysql-errors.ts';
import { mysqlSessionStatement } from './mysql-session.ts';
import { mysqlTypeName } from './mysql-types.ts';

export interface MysqlDriverOptions {
  database: MysqlDatabaseConfig;
  /** Server-side statement time limit, a safety net behind sqlbridge's own cancellation. */
  statementTimeoutMs: number;
  /** The largest row (or other packet) read from the server; a larger one closes the connection. */
  maxRowBytes?: number;
}

type Flavor = 'mysql' | 'mariadb';

const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * How long the server has, once a statement is to stop, to confirm its KILL before the connection is
 * closed from this side and the call answered. A server that is alive answers within milliseconds.
 */
export const STOP_GRACE_MS = 3000;

/** Column names mysql2's compiled row parser refuses (its helpers' `privateObjectProps`). */
const OBJECT_INTERNAL_NAMES = new Set([
  '__proto__',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__'
]);

/** ER_NO_SUCH_THREAD: the connection to kill is already gone. */
const ER_NO_SUCH_THREAD = 1094;

const ignore = (): void => undefined;

/**
 * MySQL and MariaDB through mysql2. Reads run in a READ ONLY transaction that is always rolled back
 * (DDL would commit implicitly, which is why the statement guard stops it first). The protocol has
 * no cursor for plain queries, so a result cut at the cap ends its connection, and a cancelled
 * statement is ended with KILL from a connection of its own.
 */
export class MysqlDriver implements Driver {
  private readonly pool: Pool;
  private readonly target: MysqlTarget;
  private readonly options: ReturnType<typeof mysqlPoolOptions>;
  private readonly statementTimeoutMs: number;
  private flavor: Flavor | undefined;
  /** The identity keys each pooled connection holds a value for (mysql2 lends out the same objects). */
  private readonly identityHeld = new WeakMap<PoolConnection, ReadonlySet<string>>();
  /** Pooled connections switched to a caller's role and not (yet) switched back. */
  private readonly roleHeld = new WeakSet<PoolConnection>();
  /** New connections' session setup, until it has run: a connection is lent only once it has. */
  private readonly setups = new WeakMap<PoolConnection, Promise<void>>();
  private readonly maxRowBytes: number;
  /** Each pooled connection's watch on the size of what its server sends (see message-watch.ts). */
  private readonly watches = new WeakMap<PoolConnection, MessageWatch>();

  constructor(options: MysqlDriverOptions) {
    const { target, ...poolOptions } = mysqlPoolOptions(options.database);
    this.options = { target, ...poolOptions };
    this.target = target;
    this.statementTimeoutMs = options.statementTimeoutMs;
    this.maxRowBytes = options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES;
    this.pool = mysql.createPool(poolOptions);
    // Every new connection runs in UTC, with the server's own time limit as a net. A setup the
    // server refuses fails whoever borrows the connection first (see connect), not the process.
    this.pool.on('connection', connection => {
      // Connected (TLS included) and idle, between two packets.
      const socket = socketOf(connection);
      if (socket !== undefined) this.watches.set(connection, new MessageWatch(socket, this.maxRowBytes, MYSQL_FRAMING));
      const setup = run(connection, this.sessionSetup()).then(() => {
        this.setups.delete(connection);
      });
      setup.catch(ignore);
      this.setups.set(connection, setup);
    });
  }

  /**
   * The first connection, and what the server is. Bounded as a whole (twice the connect timeout): a
   * server that takes the login and then answers nothing has the connection ended, not held.
   */
  async init(): Promise<ServerInfo> {
    const limitMs = 2 * (this.options.connectTimeout ?? 10_000);
    const signal = AbortSignal.timeout(limitMs);
    const tooLong = (cause: unknown): ConnectionError =>
      new ConnectionError('timeout', `mysql ${this.target.host}:${this.target.port}: no answer within ${limitMs} ms`, {
        cause
      });
    let connection: PoolConnection;
    try {
      connection = await this.connect(signal);
    } catch (error) {
      throw signal.aborted ? tooLong(error) : error;
    }
    const state = { ended: false };
    const answer = async <T>(sql: string): Promise<T> => {
      try {
        return await untilAborted(run<T>(connection, sql), signal);
      } catch (error) {
        if (!signal.aborted) throw error;
        state.ended = true;
        drop(connection);
        throw tooLong(error);
      }
    };
    try {
      const [row] = await answer<{ version: string }[]>('SELECT VERSION() AS version');
      const version = row?.version ?? 'unknown';
      this.flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
      await answer(this.sessionSetup());
      return { product: this.flavor === 'mariadb' ? 'MariaDB' : 'MySQL', version: version.split('-')[0] ?? version };
    } catch (error) {
      throw translateMysqlError(error, this.target);
    } finally {
      if (!state.ended) connection.release();
    }
  }

  async stream(query: QuerySpec, sink: RowSink, signal: AbortSignal): Promise<StreamStats> {
    const connection = await this.connect(signal);
    // Whether the connection was ended (cut result, cancellation, lost): then it is not released or
    // rolled back. Once a KILL is on its way it is `doomed`: the statement may finish before the KILL
    // arrives, and a connection lent again meanwhile would be the one it ends.
    const state = { ended: false, doomed: false };
    const end = (): void => {
      if (state.ended) return;
      state.ended = true;
      drop(connection);
    };
    // What ends the call whatever it waits for: the connection lost (the server ended it, a reset
    // socket), or the KILL done after an abort. A destroyed connection settles nothing it was asked,
    // and a streamed query hears nothing of a lost connection, so every step is raced with this.
    let stop: (error: unknown) => void = ignore;
    const stopped = new Promise<never>((_resolve, reject) => {
      stop = reject;
    });
    stopped.catch(ignore);
    const lost = (error: Error): void => {
      end();
      stop(error);
    };
    const kill = (): void => {
      state.doomed = true;
      void this.kill(connection.threadId).then(confirmed => {
        end();
        stop(confirmed ? signal.reason : new UnconfirmedCancellation(signal.reason));
      });
    };
    const step = <T>(work: Promise<T>): Promise<T> => Promise.race([work, stopped]);
    connection.on('error', lost);
    signal.addEventListener('abort', kill, { once: true });
    // Aborted between the pool's answer and this: as if it had aborted now.
    if (signal.aborted) kill();
    try {
      // Roles belong to the connection, not the transaction: switched on every use, and back after it.
      if (query.role !== undefined) {
        this.roleHeld.add(connection);
        await step(run(connection, `SET ROLE ${quoteRole(query.role)}`));
      } else if (this.roleHeld.has(connection)) {
        await step(this.resetRole(connection));
      }
      await step(run(connection, query.readOnly ? 'START TRANSACTION READ ONLY' : 'START TRANSACTION'));
      // The caller's identity, for row-level security: user variables outlive the transaction, so
      // this also clears what an earlier caller on the connection left, even when there is nothing to set.
      const held = this.identityHeld.get(connection) ?? NO_KEYS;
      const session = mysqlSessionStatement(query.session, held);
      if (session !== undefined) {
        // Until the SET has run, the connection may hold old keys and new ones alike.
        this.identityHeld.set(connection, new Set([...held, ...session.keys]));
        await step(run(connection, session.sql, session.values));
        this.identityHeld.set(connection, session.keys);
      }
      signal.throwIfAborted();
      let affected = 0;
      for (const statement of query.before ?? []) {
        const result = await step(run(connection, statement));
        if (!Array.isArray(result)) affected += (result as { affectedRows?: number }).affectedRows ?? 0;
      }
      const stats = await step(this.read(connection, query, sink, end));
      if (affected > 0) stats.rowsAffected = (stats.rowsAffected ?? 0) + affected;
      if (!state.ended) await step(run(connection, query.readOnly ? 'ROLLBACK' : 'COMMIT'));
      // A connection that wrote is not reused: nothing it set in the session can reach the next caller.
      if (!query.readOnly) end();
      return stats;
    } catch (error) {
      if (!state.ended && !state.doomed) {
        try {
          await step(run(connection, 'ROLLBACK'));
        } catch {
          end();
        }
      }
      // A write that failed is no cleaner than one that committed (LAST_INSERT_ID(), @variables).
      if (!query.readOnly && !state.doomed) end();
      if (error instanceof UnconfirmedCancellation) throw error;
      if (signal.aborted) throw signal.reason;
      const watch = this.watches.get(connection);
      if (watch?.exceeded !== undefined) throw rowTooLarge(this.maxRowBytes, watch.exceeded, watch.exceededAtLeast);
      throw translateMysqlError(error, this.target, 'statement');
    } finally {
      // The next caller must find the login's own role; a connection that cannot switch back is dropped.
      if (!state.ended && !state.doomed && this.roleHeld.has(connection)) {
        await step(this.resetRole(connection)).catch(end);
      }
      signal.removeEventListener('abort', kill);
      connection.removeListener('error', lost);
      // The KILL ends a doomed connection (and it is not released to be ended in someone else's hands).
      if (!state.ended && !state.doomed) connection.release();
    }
  }

  async destroy(): Promise<void> {
    await new Promise<void>(resolve => {
      this.pool.end(() => resolve());
    });
  }

  // No poolStats(): mysql2 keeps its pool's connection lists and queue in private fields (no public
  // counters), and reading those would break silently with any release.

  /** Streams rows to the sink; a result cut short ends the connection, which stops the server sending. */
  private read(connection: PoolConnection, query: QuerySpec, sink: RowSink, end: () => void): Promise<StreamStats> {
    return new Promise((resolve, reject) => {
      let rowsRead = 0;
      let stopped = false;
      let draining = false;
      /** A sink that throws (a value it cannot convert) fails the query instead of the driver's parser. */
      const guarded =
        <A extends unknown[]>(handler: (...args: A) => void) =>
        (...args: A): void => {
          try {
            handler(...args);
          } catch (error) {
            stopped = true;
            end();
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        };
      const request = connection.query({
        sql: query.sql,
        values: query.params as unknown[] | undefined,
        rowsAsArray: true
      });
      request.on(
        'fields',
        guarded((fields: FieldPacket[] | undefined) => {
          // mysql2 builds a row parser for each result's columns once they are all in, right after this
          // event. Its compiled parser refuses these names (it would write them as object keys); its
          // static one, slower but naming nothing when rows are arrays, reads them.
          if (fields?.some(field => OBJECT_INTERNAL_NAMES.has(field.name)) === true) {
            (request as unknown as { options: { disableEval?: boolean } }).options.disableEval = true;
          }
          // Statements without a result set report no fields.
          sink.columns((fields ?? []).map(field => ({ name: field.name, type: mysqlTypeName(field) })));
        })
      );
      request.on(
        'result',
        guarded((row: unknown) => {
          if (stopped) return;
          if (!Array.isArray(row)) {
            // A statement without a result set reports what it changed.
            const affected = (row as { affectedRows?: number }).affectedRows;
            stopped = true;
            resolve({ rowsRead, stoppedEarly: false, ...(affected === undefined ? {} : { rowsAffected: affected }) });
            return;
          }
          rowsRead++;
          if (draining) return;
          if (!sink.row(row)) {
            // A write reads on to the end so that it completes; a read ends the connection instead.
            if (!query.readOnly) {
              draining = true;
              return;
            }
            stopped = true;
            end();
            resolve({ rowsRead, stoppedEarly: true });
          }
        })
      );
      request.on('error', error => {
        if (!stopped) reject(error);
      });
      request.on('end', () => {
        if (!stopped) resolve({ rowsRead, stoppedEarly: draining });
      });
    });
  }

  /**
   * A pooled connection whose session is set up, or the signal's reason if it aborts first. A
   * connection whose setup the server refused is dropped, and the call fails saying so.
   */
  private async connect(signal: AbortSignal): Promise<PoolConnection> {
    const connection = await this.borrow(signal);
    const setup = this.setups.get(connection);
    if (setup === undefined) return connection;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([setup, aborted]);
      return connection;
    } catch (error) {
      drop(connection);
      if (signal.aborted) throw signal.reason;
      const detail = `mysql ${this.target.host}:${this.target.port}: the session setup failed: ${(error as Error).message}`;
      throw new ConnectionError('unavailable', detail, {
        message:
          'the database refused the session settings sqlbridge needs (time zone, SQL mode, statement time limit)',
        hint: "the server's answer is in sqlbridge's log",
        cause: error
      });
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  /** A pooled connection, or the signal's reason if it aborts first (a late connection goes back to the pool). */
  private borrow(signal: AbortSignal): Promise<PoolConnection> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(waiting);
        signal.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = (): void => {
        if (settle()) reject(signal.reason as Error);
      };
      // mysql2's pool waits for a connection without end: as long as connecting may take and a second
      // more (a connection being made fails at its own timeout first), then the call is told the
      // database is busy (as PostgreSQL's pool does), not that its query timed out.
      const waitMs = (this.options.connectTimeout ?? 10_000) + 1000;
      const waiting = setTimeout(() => {
        if (settle()) reject(poolBusyError(this.options.connectionLimit ?? 0, waitMs));
      }, waitMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.pool.getConnection((error, connection) => {
        if (!settle()) {
          if (error === null) connection.release();
          return;
        }
        if (error !== null) reject(translateMysqlError(error, this.target));
        else resolve(connection);
      });
    });
  }

  /**
   * KILL CONNECTION from a connection of its own: the pool may be full, and the statement may never
   * yield. Whether the server confirmed within STOP_GRACE_MS that the connection is gone: the KILL
   * done, or no such connection left. A server that does not answer in time is taken to hang.
   */
  private async kill(threadId: number): Promise<boolean> {
    const {
      target: _target,
      connectionLimit: _limit,
      maxIdle: _idle,
      idleTimeout: _timeout,
      waitForConnections: _wait,
      ...settings
    } = this.options;
    const killer = mysql.createConnection(settings);
    // Given up on, it may still report its socket's failure.
    killer.on('error', ignore);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>(resolve => {
      timer = setTimeout(() => resolve(false), STOP_GRACE_MS);
    });
    const killed = run(killer, 'KILL CONNECTION ?', [threadId]).then(
      () => true,
      (error: unknown) => (error as { errno?: number }).errno === ER_NO_SUCH_THREAD
    );
    try {
      return await Promise.race([killed, late]);
    } finally {
      clearTimeout(timer);
      killer.destroy();
    }
  }

  /**
   * Back to the login's own privileges: MySQL's `SET ROLE DEFAULT` re-activates the login's default
   * roles (https://dev.mysql.com/doc/refman/8.4/en/set-role.html); MariaDB has no such form, and
   * `SET ROLE NONE` leaves the login's own grants (https://mariadb.com/kb/en/set-role/).
   */
  private async resetRole(connection: PoolConnection): Promise<void> {
    await run(connection, this.flavor === 'mysql' ? 'SET ROLE DEFAULT' : 'SET ROLE NONE');
    this.roleHeld.delete(connection);
  }

  private sessionSetup(): string {
    const seconds = Math.ceil(this.statementTimeoutMs / 1000);
    const common = `SET SESSION time_zone = '+00:00', SESSION sql_mode = ${LEXED_SQL_MODE}`;
    if (this.flavor === 'mariadb') return `${common}, SESSION max_statement_time = ${seconds}`;
    if (this.flavor === 'mysql') return `${common}, SESSION max_execution_time = ${seconds * 1000}`;
    return common;
  }
}

/**
 * SQL modes that change how a statement's text is read, which the session drops (keeping the others),
 * so that the server reads every statement as the statement guard's lexer does:
 * - NO_BACKSLASH_ESCAPES: mysql2 escapes bound values into the statement with backslashes, and a
 *   server that took `\'` for a backslash and the end of the string would let a value close its quote.
 * - ANSI_QUOTES, and the combination modes that include it (ANSI, DB2, MAXDB, MSSQL, ORACLE,
 *   POSTGRESQL): `"GET_LOCK"(…)` would call the function where the guard reads a string; ORACLE
 *   also switches MariaDB to another grammar (`seq.nextval`, PL/SQL blocks).
 */
const LEXING_MODES = ['NO_BACKSLASH_ESCAPES', 'ANSI_QUOTES', 'ANSI', 'DB2', 'MAXDB', 'MSSQL', 'ORACLE', 'POSTGRESQL'];

/** The session's sql_mode without LEXING_MODES: `A,ANSI_QUOTES,B` → `A,B`. */
const LEXED_SQL_MODE = `TRIM(BOTH ',' FROM REPLACE(${LEXING_MODES.reduce(
  (modes, mode) => `REPLACE(${modes}, ',${mode},', ',')`,
  "CONCAT(',', @@SESSION.sql_mode, ',')"
)}, ',,', ','))`;

interface Queryable {
  query(
    options: { sql: string; values?: unknown[] },
    callback: (error: Error | null, result: unknown) => void
  ): unknown;
}

/**
 * Closes a connection for good. mysql2's destroy() only ends the sending side: every row of a cut
 * result the server goes on sending would still be read and parsed. Closed outright, the server
 * stops at its next write.
 */
function drop(connection: PoolConnection): void {
  // Dropped, the connection may still report its socket's failure: nothing is left to tell.
  connection.on('error', ignore);
  connection.destroy();
  socketOf(connection)?.destroy();
}

/** The socket under a mysql2 connection (TLS included): its `stream`, which mysql2's type declarations leave out. */
function socketOf(connection: PoolConnection): WatchedStream | undefined {
  const stream = (connection as unknown as { stream?: Partial<WatchedStream> }).stream;
  return typeof stream?.destroy === 'function' && typeof stream.prependListener === 'function'
    ? (stream as WatchedStream)
    : undefined;
}

/** A role name as a quoted identifier (names are checked to be plain identifiers; quoting is a second net). */
function quoteRole(role: string): string {
  return `\`${role.replaceAll('`', '``')}\``;
}

function run<T = unknown>(connection: Queryable, sql: string, values?: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    connection.query(values === undefined ? { sql } : { sql, values }, (error, result) => {
      if (error !== null) reject(error);
      else resolve(result as T);
    });
  });
}
