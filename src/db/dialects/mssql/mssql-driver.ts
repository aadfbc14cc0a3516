import { createRequire } from 'node:module';
import sql from 'mssql';
import {
  UnconfirmedCancellation,
  type Driver,
  type DriverColumn,
  type PoolStats,
  type QuerySpec,
  type RowSink,
  type ServerInfo,
  type StreamStats
} from '../../driver.ts';
import { DEFAULT_MAX_ROW_BYTES, rowTooLarge, rowWeight } from '../../row-size.ts';
import { SERVER_INFO } from './mssql-catalog.ts';
import { mssqlConnectionConfig, type MssqlSettings } from './mssql-config.ts';
import { translateMssqlError } from './mssql-errors.ts';
import { installExactValueParsing } from './mssql-exact-values.ts';
import { ResettingConnectionPool } from './mssql-pool.ts';
import { refuseLoginWithoutTls } from './mssql-tls-guard.ts';
import { executeAsSql, revertSql } from './mssql-role.ts';
import { MAX_VALUE_LENGTH, sessionContextSql } from './mssql-session.ts';

export interface MssqlDriverOptions {
  settings: MssqlSettings;
  readOnly: boolean;
  pool: { max: number; idleTimeoutMs: number };
  /** Server-side request timeout, a safety net behind sqlbridge's own cancellation. */
  requestTimeoutMs: number;
  /** The largest row read from the server; the server cuts each long value one byte past it (TEXTSIZE). */
  maxRowBytes?: number;
  onPoolError?: (error: Error) => void;
  /** Told once if exact decimal and date/time reading could not be installed. */
  onInexactValues?: () => void;
}

interface ColumnInfo {
  name: string;
  type?: { declaration?: string };
  precision?: number;
  scale?: number;
  udt?: { name?: string };
}

/**
 * How long the server has to acknowledge an attention before tedious gives up, closes the
 * connection and sqlbridge answers that the statement may still run. A server that is alive
 * acknowledges within milliseconds; tedious's default of 5 s would hold every answer that long.
 */
export const ATTENTION_GRACE_MS = 1000;

const NO_TRANSACTION = /no corresponding BEGIN TRANSACTION|Transaction has been aborted|not begun|EABORT|ENOTBEGUN/i;

/** Whether the error says there is no transaction (any more) to end: the server or mssql ended it. */
function transactionEnded(error: unknown): boolean {
  return error instanceof Error && NO_TRANSACTION.test(`${error.message} ${(error as { code?: string }).code ?? ''}`);
}

/** Passes over an error that says the transaction has already ended; rethrows any other. */
function unlessEnded(error: unknown): void {
  if (!transactionEnded(error)) throw error;
}

/**
 * SQL Server through mssql (tedious). Every statement runs inside its own transaction on a
 * connection with XACT_ABORT on, which is reset before the next caller gets it; reads are always
 * rolled back. Rows are streamed; a result cut at the cap, a client that goes away and the timeout
 * all send a TDS attention (request.cancel), which stops the statement on the server; a server that
 * does not acknowledge it within ATTENTION_GRACE_MS is reported as UnconfirmedCancellation.
 */
export class MssqlDriver implements Driver {
  private readonly options: MssqlDriverOptions;
  private pool: sql.ConnectionPool | undefined;
  private connecting: Promise<sql.ConnectionPool> | undefined;

  private readonly maxRowBytes: number;

  constructor(options: MssqlDriverOptions) {
    this.options = options;
    this.maxRowBytes = options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES;
    if (!installExactValueParsing()) options.onInexactValues?.();
  }

  async init(): Promise<ServerInfo> {
    const pool = await this.connect(AbortSignal.timeout(120_000));
    try {
      const result = await pool.request().query<{ product_version: string; engine_edition: number }>(SERVER_INFO);
      const row = result.recordset[0];
      const product =
        row?.engine_edition === 5
          ? 'Azure SQL Database'
          : row?.engine_edition === 8
            ? 'Azure SQL Managed Instance'
            : 'Microsoft SQL Server';
      return { product, version: row?.product_version ?? 'unknown' };
    } catch (error) {
      throw translateMssqlError(error, this.options.settings);
    }
  }

  async stream(query: QuerySpec, sink: RowSink, signal: AbortSignal): Promise<StreamStats> {
    // The caller's identity, for row-level security: read-only for the rest of the logical
    // connection, which ends when the pool resets the connection on its way back.
    const session = sessionContextSql(query.session);
    const pool = await this.connect(signal);
    const transaction = new sql.Transaction(pool);
    try {
      await transaction.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
    } catch (error) {
      throw translateMssqlError(error, this.options.settings);
    }
    let cookie: Uint8Array | undefined;
    try {
      if (session !== undefined) {
        const request = new sql.Request(transaction);
        session.values.forEach((value, i) => request.input(`v${i + 1}`, sql.NVarChar(MAX_VALUE_LENGTH), value));
        // query(), not batch(): mssql would splice the values of a batch into its text.
        await request.query(session.sql);
      }
      // The caller's role (a database user), after the session context: the login sets that, not the role.
      if (query.role !== undefined) cookie = await switchUser(transaction, query.role);
      signal.throwIfAborted();
      let affected = 0;
      for (const statement of query.before ?? []) {
        const result = await new sql.Request(transaction).query(statement);
        affected += result.rowsAffected.reduce((a, b) => a + b, 0);
      }
      const stats = await run(transaction, query, sink, signal, this.maxRowBytes);
      if (affected > 0) stats.rowsAffected = (stats.rowsAffected ?? 0) + affected;
      if (query.readOnly && stats.stoppedEarly) {
        // Cut at the cap by an attention, which with XACT_ABORT on may have rolled the transaction
        // back already: then neither REVERT nor ROLLBACK has one to run in, and the pool's reset
        // takes the connection back to the login. The read has its rows either way.
        if (cookie !== undefined) await new sql.Request(transaction).batch(revertSql(cookie)).catch(unlessEnded);
        await transaction.rollback().catch(unlessEnded);
        return stats;
      }
      if (cookie !== undefined) await new sql.Request(transaction).batch(revertSql(cookie));
      if (query.readOnly) await transaction.rollback();
      else await transaction.commit();
      return stats;
    } catch (error) {
      // An unconfirmed cancellation left a closed connection: the rollback only hands it back to the
      // pool, which discards it, and the server ends the transaction with the session.
      const unconfirmed = error instanceof UnconfirmedCancellation;
      // Back to the login where the connection still answers; otherwise the pool's reset drops it.
      if (cookie !== undefined && !unconfirmed) {
        await new sql.Request(transaction).batch(revertSql(cookie)).catch(() => undefined);
      }
      await transaction.rollback().catch((rollbackError: unknown) => {
        if (unconfirmed || transactionEnded(rollbackError)) return;
        this.options.onPoolError?.(rollbackError as Error);
      });
      if (unconfirmed) throw error;
      if (signal.aborted) throw signal.reason;
      throw translateMssqlError(error, this.options.settings);
    }
  }

  async destroy(): Promise<void> {
    await this.pool?.close();
  }

  /** mssql's documented pool counters (zero until the pool has connected). */
  poolStats(): PoolStats {
    const pool = this.pool;
    if (pool === undefined) return { inUse: 0, idle: 0, waiting: 0 };
    return { inUse: pool.borrowed, idle: pool.available, waiting: pool.pending };
  }

  /** The connected pool; a failed connection attempt is forgotten so the next call tries again. */
  private async connect(signal: AbortSignal): Promise<sql.ConnectionPool> {
    signal.throwIfAborted();
    if (this.pool?.connected === true) return this.pool;
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.connecting, aborted]);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw translateMssqlError(error, this.options.settings);
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  private async open(): Promise<sql.ConnectionPool> {
    const config = mssqlConnectionConfig({
      settings: this.options.settings,
      readOnly: this.options.readOnly,
      pool: this.options.pool,
      requestTimeoutMs: this.options.requestTimeoutMs,
      maxRowBytes: this.maxRowBytes,
      tokenCredential: entraCredential
    });
    const pool = new ResettingConnectionPool({
      ...config,
      options: { ...config.options, cancelTimeout: ATTENTION_GRACE_MS },
      // TDS 8 (strict) speaks TLS before anything else; with mandatory, PRELOGIN must agree to it.
      ...(this.options.settings.encrypt === 'mandatory' ? { beforeConnect: refuseLoginWithoutTls } : {})
    });
    pool.on('error', (error: Error) => this.options.onPoolError?.(error));
    try {
      await pool.connect();
    } catch (error) {
      await pool.close().catch(() => undefined);
      throw error;
    }
    const previous = this.pool;
    this.pool = pool;
    if (previous !== undefined && previous !== pool) await previous.close().catch(() => undefined);
    return pool;
  }
}

/** EXECUTE AS USER on the transaction's connection; the cookie that switches back. */
async function switchUser(transaction: sql.Transaction, role: string): Promise<Uint8Array> {
  // batch(), not query(): a context switch inside sp_executesql would end with it.
  const result = await new sql.Request(transaction).batch<{ cookie: Uint8Array }>(executeAsSql(role));
  const cookie = result.recordset[0]?.cookie;
  if (cookie === undefined) throw new Error('SQL Server returned no cookie for EXECUTE AS');
  return cookie;
}

/** One statement, streamed; the first result set is the result. */
function run(
  transaction: sql.Transaction,
  query: QuerySpec,
  sink: RowSink,
  signal: AbortSignal,
  maxRowBytes: number
): Promise<StreamStats> {
  return new Promise((resolve, reject) => {
    const request = new sql.Request(transaction);
    request.stream = true;
    request.arrayRowMode = true;
    (query.params ?? []).forEach((value, i) => request.input(`p${i + 1}`, value));
    let rowsRead = 0;
    let stopped = false;
    let resultSets = 0;
    let failure: Error | undefined;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      request.cancel();
    };
    // A write reads on to the end so that it completes; a read is cancelled once the sink is full.
    let draining = false;
    const enough = (): void => {
      if (query.readOnly) stop();
      else draining = true;
    };
    const onAbort = (): void => {
      failure = asError(signal.reason);
      stop();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const guarded =
      <A extends unknown[]>(handler: (...args: A) => void) =>
      (...args: A): void => {
        try {
          handler(...args);
        } catch (error) {
          failure ??= asError(error);
          stop();
        }
      };
    request.on(
      'recordset',
      guarded((columns: ColumnInfo[]) => {
        resultSets++;
        if (resultSets > 1) enough();
        else sink.columns(columns.map(toColumn));
      })
    );
    request.on(
      'row',
      guarded((row: unknown[]) => {
        if (stopped || draining) return;
        rowsRead++;
        // A long value cut at TEXTSIZE (maxRowBytes + 1) weighs more than the limit too.
        const weight = rowWeight(row);
        if (weight > maxRowBytes) {
          failure ??= rowTooLarge(maxRowBytes, weight);
          stop();
          return;
        }
        if (!sink.row(row)) enough();
      })
    );
    let unacknowledged: Error | undefined;
    request.on('error', (error: unknown) => {
      if (stopped) {
        // The cancellation we asked for ends the request with ECANCEL once the server acknowledged
        // the attention. Anything else (tedious's "Failed to cancel request", a lost socket) means it
        // never did: tedious has closed the connection, the statement may still be running.
        if ((error as { code?: string }).code !== 'ECANCEL') unacknowledged = asError(error);
        return;
      }
      failure ??= asError(error);
    });
    request.on('done', (result: { rowsAffected?: number[] }) => {
      signal.removeEventListener('abort', onAbort);
      if (unacknowledged !== undefined && signal.aborted) {
        reject(new UnconfirmedCancellation(signal.reason, { cause: unacknowledged }));
        return;
      }
      // A read stopped at the row cap has all the rows it wanted, acknowledged or not.
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      const stats: StreamStats = { rowsRead, stoppedEarly: stopped || draining };
      if (resultSets === 0 && result.rowsAffected !== undefined)
        stats.rowsAffected = result.rowsAffected.reduce((a, b) => a + b, 0);
      resolve(stats);
    });
    void request.query(query.sql);
  });
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function toColumn(column: ColumnInfo): DriverColumn {
  const base = column.udt?.name?.toLowerCase() ?? column.type?.declaration ?? null;
  if (base === null) return { name: column.name, type: null };
  if (base === 'decimal' || base === 'numeric')
    return { name: column.name, type: `${base}(${column.precision ?? 18},${column.scale ?? 0})` };
  if (base === 'datetime2' || base === 'datetimeoffset' || base === 'time')
    return { name: column.name, type: `${base}(${column.scale ?? 7})` };
  return { name: column.name, type: base };
}

/** Entra ID credentials from @azure/identity (tedious's own dependency), loaded only when used. */
function entraCredential(kind: 'managed-identity' | 'default', clientId: string | undefined): unknown {
  const identity = createRequire(import.meta.url)('@azure/identity') as {
    ManagedIdentityCredential: new (clientId?: string) => unknown;
    DefaultAzureCredential: new (options?: { managedIdentityClientId?: string }) => unknown;
  };
  if (kind === 'managed-identity')
    return clientId === undefined
      ? new identity.ManagedIdentityCredential()
      : new identity.ManagedIdentityCredential(clientId);
  return new identity.DefaultAzureCredential(clientId === undefined ? {} : { managedIdentityClientId: clientId });
}
