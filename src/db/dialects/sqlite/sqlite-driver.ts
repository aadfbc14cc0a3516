import { existsSync } from 'node:fs';
import { ConnectionError } from '../../../errors/connection-error.ts';
import { untilAborted } from '../../until-aborted.ts';
import { SqlbridgeError } from '../../../errors/sqlbridge-error.ts';
import type { Driver, PoolStats, QuerySpec, RowSink, ServerInfo, StreamStats } from '../../driver.ts';
import { DEFAULT_MAX_ROW_BYTES, rowTooLarge, valueTooLong } from '../../row-size.ts';
import { SqlitePool } from './sqlite-pool.ts';
import { SqliteFailure } from './sqlite-process.ts';
import { refuseShadowingNames } from './sqlite-with-names.ts';

export interface SqliteDriverOptions {
  path: string;
  attach?: Readonly<Record<string, string>>;
  /** Whether the environment is read-only; reads use read-only connections either way. */
  readOnly: boolean;
  pool: { max: number; idleTimeoutMs: number };
  /** Role → the tables and views it may read (`access.tables`): SQLite's stand-in for database roles. */
  roleTables?: Readonly<Record<string, readonly string[]>>;
  /** The largest row a worker sends; a larger one fails its statement. */
  maxRowBytes?: number;
}

/** SQLite primary result codes the driver explains (https://sqlite.org/rescode.html). */
const SQLITE_BUSY = 5;
const SQLITE_READONLY = 8;
const SQLITE_CANTOPEN = 14;
const SQLITE_AUTH = 23;
const SQLITE_NOTADB = 26;
const SQLITE_TOOBIG = 18;

/**
 * SQLite through worker processes. Reads always run on read-only connections (with the read-only
 * authorizer), so no read can write even in a read-write environment; writes get a pool of their own.
 */
export class SqliteDriver implements Driver {
  private readonly options: SqliteDriverOptions;
  private readonly readPool: SqlitePool;
  private writePool: SqlitePool | undefined;

  constructor(options: SqliteDriverOptions) {
    this.options = options;
    this.readPool = this.createPool(true);
  }

  async init(): Promise<ServerInfo> {
    // Opening a missing file read-write would quietly create an empty database.
    for (const file of [this.options.path, ...Object.values(this.options.attach ?? {})]) {
      if (!existsSync(file)) {
        throw new ConnectionError('database_not_found', file, {
          message: 'the SQLite database file does not exist',
          hint: 'check the path in the configuration'
        });
      }
    }
    try {
      return { product: 'SQLite', version: await this.readPool.warm() };
    } catch (error) {
      throw this.translate(error);
    }
  }

  async stream(query: QuerySpec, sink: RowSink, signal: AbortSignal): Promise<StreamStats> {
    const pool = query.readOnly ? this.readPool : this.writes();
    let process;
    try {
      // A writer killed in a transaction left a journal that only a new writer rolls back (see
      // SqlitePool.release); until it has, a read-only connection cannot read the file.
      if (query.readOnly && this.writePool !== undefined) await untilAborted(this.writePool.replaced(), signal);
      process = await pool.acquire(signal);
    } catch (error) {
      throw this.translate(error);
    }
    try {
      const tables = this.tablesOf(query.role);
      if (tables !== undefined) refuseShadowingNames(tables, query, query.role ?? '');
      return await process.run(
        query.sql,
        query.params ?? [],
        query.before ?? [],
        query.session ?? {},
        sink,
        signal,
        tables
      );
    } catch (error) {
      throw this.translate(error, query.role, query.readOnly);
    } finally {
      pool.release(process);
    }
  }

  /** The tables a role may read; a role with no list reads nothing (configuration requires one). */
  private tablesOf(role: string | undefined): readonly string[] | undefined {
    if (role === undefined) return undefined;
    return this.options.roleTables !== undefined && Object.hasOwn(this.options.roleTables, role)
      ? (this.options.roleTables[role] ?? [])
      : [];
  }

  async destroy(): Promise<void> {
    await Promise.all([this.readPool.destroy(), this.writePool?.destroy()]);
  }

  /** The read pool and the write pool (once writes have opened it) together. */
  poolStats(): PoolStats {
    const read = this.readPool.stats();
    const write = this.writePool?.stats() ?? { inUse: 0, idle: 0, waiting: 0 };
    return { inUse: read.inUse + write.inUse, idle: read.idle + write.idle, waiting: read.waiting + write.waiting };
  }

  /** Operating-system ids of the worker processes, for diagnostics. */
  processIds(): number[] {
    return [...this.readPool.processIds(), ...(this.writePool?.processIds() ?? [])];
  }

  private writes(): SqlitePool {
    if (this.options.readOnly) {
      throw new SqlbridgeError('internal', 'a write was sent to a read-only SQLite environment', { expose: false });
    }
    this.writePool ??= this.createPool(false);
    return this.writePool;
  }

  private createPool(readOnly: boolean): SqlitePool {
    return new SqlitePool({
      ...this.options.pool,
      path: this.options.path,
      attach: this.options.attach ?? {},
      readOnly,
      busyTimeoutMs: 5000,
      maxRowBytes: this.options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES
    });
  }

  private translate(error: unknown, role?: string, read = true): unknown {
    if (!(error instanceof SqliteFailure)) return error;
    // Extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_READONLY_DBMOVED…) keep the primary one in their low byte.
    const primary = error.errcode === null ? null : error.errcode & 0xff;
    if (primary === SQLITE_BUSY) {
      return new SqlbridgeError('database_busy', 'another program holds a lock on the SQLite database file', {
        expose: true,
        hint: 'try again in a moment: a write by another program holds the file until it ends',
        cause: error
      });
    }
    const maxRowBytes = this.options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES;
    if (error.rowBytes !== undefined) return rowTooLarge(maxRowBytes, error.rowBytes, error.rowBytesAtLeast);
    // A value, in the result or on the way to it, was longer than the worker's length limit: maxRowBytes,
    // or the statement's share of it (sqlite-worker.ts, limitValues).
    if (error.errcode === SQLITE_TOOBIG && error.phase !== 'open') {
      return valueTooLong(maxRowBytes, error, error.valueBytes);
    }
    if (error.phase === 'open') {
      const detail = `${this.options.path}: ${error.message}`;
      if (error.errcode === SQLITE_NOTADB) {
        return new ConnectionError('database_not_found', detail, {
          message: 'the file is not a SQLite database',
          hint: 'check the path in the configuration',
          cause: error
        });
      }
      return new ConnectionError('unreachable', detail, {
        message: 'cannot open the SQLite database',
        hint: error.errcode === SQLITE_CANTOPEN ? 'check the path and its permissions' : 'check the database file',
        cause: error
      });
    }
    if (error.phase === 'process') {
      return new SqlbridgeError('connection_failed', 'the SQLite worker process failed', {
        expose: false,
        detail: error.message,
        cause: error
      });
    }
    if (error.errcode === SQLITE_AUTH && role !== undefined) {
      return new SqlbridgeError(
        'query_failed',
        `SQLite refused the statement: it reads a table the role ${JSON.stringify(role)} may not read (access.tables), or does what this environment does not allow (${error.message})`,
        { expose: true, cause: error }
      );
    }
    if (primary === SQLITE_READONLY && !read) {
      return new SqlbridgeError('query_failed', `SQLite could not write to the database file (${error.message})`, {
        expose: true,
        hint: 'the file or its directory may be read-only to sqlbridge, or the file was moved while open',
        cause: error
      });
    }
    if (error.errcode === SQLITE_AUTH || error.errcode === SQLITE_READONLY) {
      return new SqlbridgeError(
        'query_failed',
        `this environment is read-only; SQLite refused the statement (${error.message})`,
        {
          hint: 'only statements that read data are allowed here',
          cause: error
        }
      );
    }
    return new SqlbridgeError('query_failed', error.message, { expose: true, cause: error });
  }
}
