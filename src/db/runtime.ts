import { ConnectionError } from '../errors/connection-error.ts';
import { SqlbridgeError, isSqlbridgeError } from '../errors/sqlbridge-error.ts';
import { NO_ROLE, requireRole, type AccessPolicy } from './access.ts';
import type { Dialect, DialectAdapter, EngineName } from './dialect.ts';
import {
  UnconfirmedCancellation,
  type Driver,
  type PoolStats,
  type QuerySpec,
  type RowSink,
  type SqlParam,
  type ServerInfo,
  type SessionIdentity,
  type SessionValues,
  type StreamStats
} from './driver.ts';
import { StatementGuard, type GuardMode } from './guard/statement-guard.ts';
import type { CatalogReader, Introspector, TableDescription, TableSummary } from './introspector.ts';
import type { PrivilegeReport } from './privileges.ts';
import { Deadline } from './deadline.ts';
import { DEFAULT_PROGRESS_INTERVAL_MS, watchProgress, type ProgressListener } from './progress.ts';
import { ResultCollector, type CollectedRows } from './result.ts';
import { untilAborted } from './until-aborted.ts';
import { resolveTableName } from './table-name.ts';

/**
 * The one wrapper around every driver (kysely's RuntimeDriver): start-once, timeouts, row and
 * character caps, progress reports of running statements, name resolution against the catalog, and
 * the typed query events that audit and metrics subscribe to. Tools talk to this, never to a driver.
 */

export interface RuntimeLimits {
  maxRows: number;
  /** Statements one call may hold. */
  maxStatements: number;
  maxResultChars: number;
  queryTimeoutMs: number;
  binaryPreviewBytes: number;
}

export interface QueryOutcome extends CollectedRows {
  rowCount: number;
  rowsRead: number;
  elapsedMs: number;
  /** Rows the statements changed (writes only). */
  rowsAffected?: number;
  /** How many statements ran; the rows are the last one's. */
  statements: number;
}

export type QueryKind = 'query' | 'write' | 'sample' | 'catalog';
export type QueryStatus = 'ok' | 'rejected' | 'error' | 'timeout' | 'cancelled';

/** Who made a call and from where: set into the database session (identity) and carried by query events. */
export interface Caller {
  identity?: SessionIdentity;
  /** The HTTP request the call came in (its `x-request-id`). */
  requestId?: string;
  /** The client's address (trusted proxies honoured). */
  remoteAddress?: string;
  /** The tool the call was made through. */
  tool?: string;
}

/**
 * Session keys → where their values come from (`sub`, `client_id`, `attributes.<name>`): the
 * environment's `identity` setting.
 */
export type IdentityMapping = Readonly<Record<string, string>>;

export interface QueryEvent {
  environment: string;
  engine: EngineName;
  kind: QueryKind;
  /** Absent for the server's own catalog reads. */
  caller?: Caller;
  sql: string;
  status: QueryStatus;
  elapsedMs: number;
  rowCount: number;
  rowsRead: number;
  truncated: boolean;
  /** Rows a write changed, when the database reports it. */
  rowsAffected?: number;
  errorCode?: string;
}

export interface QueryOptions {
  /** Aborts the query on the database (the client went away). */
  signal?: AbortSignal;
  /** Who is calling: their identity is set into the database session, and query events carry it all. */
  caller?: Caller;
  /**
   * Called every `progressIntervalMs` while the statement runs (not for a statement that ends
   * sooner), never after the call has settled.
   */
  onProgress?: ProgressListener;
}

/** A configured statement's options (a curated tool's): its own row cap, and whether it may change data. */
export interface BoundQueryOptions extends QueryOptions {
  /** At most this many rows (never more than the environment's `maxRows`). */
  maxRows?: number;
  /** The statement changes data: guarded as a write and committed (read-write environments only). */
  write?: boolean;
}

export interface RuntimeOptions {
  environment: string;
  dialect: Dialect;
  readOnly: boolean;
  limits: RuntimeLimits;
  /** How long a catalog listing is reused before it is read again. */
  catalogTtlMs?: number;
  /**
   * Whether SQL from callers passes the statement guard first (default true). Tests switch it off
   * to prove that the engine's own read-only enforcement holds by itself; configuration cannot.
   */
  statementGuard?: boolean;
  /** How often a running statement reports progress to a caller that asked for it (default 1000 ms). */
  progressIntervalMs?: number;
  /** What is set into the database session before each caller statement (default: none). */
  identity?: IdentityMapping;
  /**
   * The database role each caller's statements and catalog reads run as (the environment's `access`
   * setting). Absent: everyone runs as the login itself.
   */
  access?: AccessPolicy;
}

const CATALOG_ROW_LIMIT = 100_000;
/** How long closing waits for the driver to end its connections. */
const CLOSE_GRACE_MS = 3000;

export class DatabaseRuntime {
  readonly environment: string;
  readonly engine: EngineName;
  readonly adapter: DialectAdapter;
  /** How this engine's SQL pages through a result, for the note of a capped one (`Dialect.paging`). */
  readonly paging: string;
  readonly readOnly: boolean;
  readonly limits: RuntimeLimits;
  private readonly driver: Driver;
  private readonly dialect: Dialect;
  /** One introspector per database role (key '' for the login), each reading the catalog as that role. */
  private readonly introspectors = new Map<string, Introspector>();
  private readonly catalogTtlMs: number;
  private readonly progressIntervalMs: number;
  private readonly guard: StatementGuard | undefined;
  private readonly identity: IdentityMapping;
  private readonly access: AccessPolicy | undefined;
  private readonly listeners = new Set<(event: QueryEvent) => void>();
  private initPromise: Promise<void> | undefined;
  private server: ServerInfo | undefined;
  /** The catalog listing per role (key '' for the login): a role never sees another role's listing. */
  private readonly tables = new Map<string, { at: number; value: Promise<TableSummary[]> }>();
  /** Statements of callers and catalog reads holding (or waiting for) a connection now. */
  private statementsRunning = 0;
  /** When the database last answered a statement (rows or an SQL error), on `performance.now()`'s clock. */
  private answeredAt = Number.NEGATIVE_INFINITY;

  constructor(options: RuntimeOptions) {
    this.environment = options.environment;
    this.engine = options.dialect.engine;
    this.readOnly = options.readOnly;
    this.limits = options.limits;
    this.catalogTtlMs = options.catalogTtlMs ?? 10_000;
    this.progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    // Beyond 2^31 - 1 ms, Node's timers would fire every millisecond instead.
    if (!(this.progressIntervalMs > 0 && this.progressIntervalMs <= 2 ** 31 - 1)) {
      throw new RangeError(
        `progressIntervalMs must be a positive number of milliseconds, not ${this.progressIntervalMs}`
      );
    }
    this.driver = options.dialect.createDriver();
    this.adapter = options.dialect.createAdapter();
    this.paging = options.dialect.paging;
    this.dialect = options.dialect;
    this.guard = options.statementGuard === false ? undefined : new StatementGuard(this.adapter.guardRules);
    this.identity = options.identity ?? {};
    this.access = options.access;
  }

  /** Opens the pool once; later calls share the first attempt unless it failed. */
  init(): Promise<void> {
    this.initPromise ??= this.driver.init().then(
      server => {
        this.server = server;
      },
      (error: unknown) => {
        this.initPromise = undefined;
        throw error;
      }
    );
    return this.initPromise;
  }

  /** The database product and version, e.g. "PostgreSQL 16.4" (the engine's name until connected). */
  get displayName(): string {
    return this.server === undefined ? this.adapter.engineName : `${this.server.product} ${this.server.version}`;
  }

  onQuery(listener: (event: QueryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs SQL written by the caller, read-only, within the environment's limits. */
  async query(sql: string, options: QueryOptions = {}): Promise<QueryOutcome> {
    this.roleOf(options.caller, 'query', sql);
    const spec = this.checked('query', sql, 'read', options.caller);
    return this.run('query', this.withSession(spec, options), this.limits.maxRows, options, sql);
  }

  /** Runs SQL that may change data, in a transaction committed only if it all succeeds (read-write environments). */
  async write(sql: string, options: QueryOptions = {}): Promise<QueryOutcome> {
    if (this.readOnly) {
      const error = new SqlbridgeError('statement_rejected', 'this environment is read-only; it accepts no writes', {
        expose: true
      });
      this.emit({
        kind: 'write',
        caller: options.caller,
        sql,
        status: 'rejected',
        started: performance.now(),
        rowCount: 0,
        rowsRead: 0,
        truncated: false,
        errorCode: error.code
      });
      throw error;
    }
    this.roleOf(options.caller, 'write', sql);
    const spec = this.checked('write', sql, 'write', options.caller);
    return this.run('write', this.withSession(spec, options), this.limits.maxRows, options, sql);
  }

  /**
   * Runs one configured statement (a curated tool's) with bound parameters, never spliced into the
   * SQL. It passes the statement guard like caller SQL, runs as the caller's role, and reads in the
   * engine's read-only mode unless `write` is set.
   */
  async queryWithParams(
    sql: string,
    params: readonly SqlParam[],
    options: BoundQueryOptions = {}
  ): Promise<QueryOutcome> {
    // A write in a read-only environment: write() refuses it with its own reason and event.
    if (options.write === true && this.readOnly) return this.write(sql, options);
    const kind: QueryKind = options.write === true ? 'write' : 'query';
    this.roleOf(options.caller, kind, sql);
    const spec = this.checked(kind, sql, options.write === true ? 'write' : 'read', options.caller);
    if (spec.before !== undefined) {
      throw new SqlbridgeError('statement_rejected', 'a configured statement must be a single statement', {
        expose: true
      });
    }
    const maxRows = Math.min(options.maxRows ?? this.limits.maxRows, this.limits.maxRows);
    return this.run(kind, this.withSession({ ...spec, params }, options), maxRows, options);
  }

  /** At most `limit` rows of a table the catalog knows. */
  async sample(table: TableSummary, limit: number, options: QueryOptions = {}): Promise<QueryOutcome> {
    const role = this.roleOf(options.caller, 'sample', `sample ${table.schema}.${table.name}`);
    // Only the columns the role (or the login itself) may read: a grant on some columns refuses SELECT *.
    const columns = (await this.introspectorFor(role).describeTable(table)).columns.map(column => column.name);
    const spec = this.adapter.sampleQuery(table, limit, columns);
    return this.run('sample', this.withSession(spec, options), Math.min(limit, this.limits.maxRows), options);
  }

  /** The tables and views the caller's role may read (all the login may read without `access`). */
  async listTables(options: QueryOptions = {}): Promise<TableSummary[]> {
    return this.listTablesAs(this.roleOf(options.caller, 'catalog', 'list tables'));
  }

  /** The tables and views `role` may read (the login itself when undefined), for the operator's own checks. */
  async listTablesAs(role: string | undefined): Promise<TableSummary[]> {
    const key = role ?? '';
    const now = Date.now();
    let cached = this.tables.get(key);
    if (cached === undefined || now - cached.at > this.catalogTtlMs) {
      const value = this.introspectorFor(role).listTables();
      cached = { at: now, value };
      this.tables.set(key, cached);
      value.catch(() => {
        if (this.tables.get(key)?.value === value) this.tables.delete(key);
      });
    }
    return cached.value;
  }

  /** A table the caller's role may read; one it may not is not found, exactly like a missing one. */
  async resolveTable(name: string, options: QueryOptions = {}): Promise<TableSummary> {
    return resolveTableName(name, await this.listTables(options), this.adapter);
  }

  /** The table as the caller's role sees it (on engines that say so, only the columns it may read). */
  async describeTable(name: string, options: QueryOptions = {}): Promise<TableDescription> {
    const table = await this.resolveTable(name, options);
    return this.introspectorFor(this.roleOf(options.caller, 'catalog', 'describe table')).describeTable(table);
  }

  /** What the database login may change (the least-privilege check), or what `role` may when given. */
  async privileges(role?: string): Promise<PrivilegeReport> {
    await this.init();
    return this.dialect.createPrivilegeProbe(this.catalogReaderFor(role)).check();
  }

  /** The database roles the environment's `access` setting maps callers to, in order of first mention. */
  mappedRoles(): string[] {
    if (this.access === undefined) return [];
    const roles = new Set(Object.values(this.access.roles));
    if (this.access.default !== NO_ROLE) roles.add(this.access.default);
    return [...roles];
  }

  /** The driver's pool counts, for metrics; undefined where the driver reports none. */
  poolStats(): PoolStats | undefined {
    return this.driver.poolStats?.();
  }

  /**
   * The server's own check that the database answers (readiness, `/readyz`): `SELECT 1`, which every
   * engine sqlbridge speaks accepts as is, through the driver and its pool like any statement, so a
   * pool with no connection to spare shows as not answering. It is no caller's query: it passes no
   * statement guard and emits no query event, so probes neither fill the audit trail nor count in
   * metrics. Connects first if the pool never has (a database down at start). Rejects with the
   * driver's error (a ConnectionError when it cannot connect), or with `signal.reason` once the
   * signal aborts, the statement stopped on the database.
   */
  async ping(signal: AbortSignal): Promise<void> {
    await untilAborted(this.init(), signal);
    const sink: RowSink = { rowLimit: 1, columns: () => undefined, row: () => true };
    await this.driver.stream({ sql: 'SELECT 1', readOnly: true }, sink, signal);
  }

  /**
   * Whether the database is busy rather than gone, for a readiness check that timed out waiting: the
   * environment's own statements are running (holding the pool's connections, so the ping waits
   * behind them), and the database answered one within the last query timeout. A database that
   * stops answering shows as not ready once its last answer is older than that, whatever still runs.
   */
  busy(): boolean {
    return this.statementsRunning > 0 && performance.now() - this.answeredAt <= this.limits.queryTimeoutMs;
  }

  /**
   * Ends the pool. Bounded: a database that stopped answering must not hold the process at shutdown
   * (a driver ending its connections politely waits for the server's goodbye); what is left after
   * CLOSE_GRACE_MS goes with the process.
   */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>(resolve => {
      // Not unref'd: a pool that never closes may hold nothing else that keeps the process running.
      timer = setTimeout(resolve, CLOSE_GRACE_MS);
    });
    try {
      await Promise.race([this.driver.destroy(), grace]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The driver's `stream`, counted for `busy()`: rows or an SQL error are the database answering.
   * Connects first if the pool never has, within the statement's deadline: a database that takes
   * the login but answers nothing fails the call at its time limit, as a connection that timed out.
   */
  private async stream(spec: QuerySpec, sink: RowSink, signal: AbortSignal): Promise<StreamStats> {
    try {
      await untilAborted(this.init(), signal);
    } catch (error) {
      if (!signal.aborted || (signal.reason as Error | undefined)?.name !== 'TimeoutError') throw error;
      throw new ConnectionError(
        'timeout',
        `${this.environment}: connecting did not finish within the query's time limit`,
        {
          cause: error
        }
      );
    }
    this.statementsRunning++;
    try {
      const stats = await this.driver.stream(spec, sink, signal);
      this.answeredAt = performance.now();
      return stats;
    } catch (error) {
      if (isSqlbridgeError(error) && (error.code === 'query_failed' || error.code === 'row_too_large')) {
        this.answeredAt = performance.now();
      }
      throw error;
    } finally {
      this.statementsRunning--;
    }
  }

  private introspectorFor(role: string | undefined): Introspector {
    const key = role ?? '';
    let introspector = this.introspectors.get(key);
    if (introspector === undefined) {
      introspector = this.dialect.createIntrospector(this.catalogReaderFor(role));
      this.introspectors.set(key, introspector);
    }
    return introspector;
  }

  /**
   * The caller's database role under the environment's `access` setting (undefined without one: the
   * login's own). A caller with none is refused here, before any SQL reaches the database.
   */
  private roleOf(caller: Caller | undefined, kind: QueryKind, sql: string): string | undefined {
    if (this.access === undefined) return undefined;
    try {
      return requireRole(this.access, caller?.identity);
    } catch (error) {
      this.emit({
        kind,
        caller,
        sql,
        status: 'rejected',
        started: performance.now(),
        rowCount: 0,
        rowsRead: 0,
        truncated: false,
        errorCode: isSqlbridgeError(error) ? error.code : 'internal'
      });
      throw error;
    }
  }

  /** Trusted catalog SQL with bound parameters, rows as objects, read as `role` (the login's own when undefined). */
  private catalogReaderFor(role: string | undefined): CatalogReader {
    return (sql, params) => this.readCatalog(sql, params ?? [], role);
  }

  private async readCatalog(
    sql: string,
    params: readonly (string | number)[],
    role: string | undefined
  ): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    let names: string[] = [];
    const sink: RowSink = {
      columns: columns => {
        names = columns.map(c => c.name);
      },
      row: values => {
        const row: Record<string, unknown> = {};
        values.forEach((value, i) => {
          row[names[i] ?? String(i)] = typeof value === 'bigint' ? Number(value) : value;
        });
        rows.push(row);
        return rows.length < CATALOG_ROW_LIMIT;
      }
    };
    const started = performance.now();
    const deadline = new Deadline(this.limits.queryTimeoutMs);
    try {
      const spec: QuerySpec = { sql, params, readOnly: true };
      if (role !== undefined) spec.role = role;
      const stats = await this.stream(spec, sink, deadline.signal);
      this.emit({
        kind: 'catalog',
        sql,
        status: 'ok',
        started,
        rowCount: rows.length,
        rowsRead: stats.rowsRead,
        truncated: false
      });
      return rows;
    } catch (error) {
      throw this.failure(error, 'catalog', sql, started, deadline.timedOut);
    } finally {
      deadline.end();
    }
  }

  /** The statements of caller SQL once the guard has passed them (the SQL as sent when the guard is off). */
  private checked(kind: QueryKind, sql: string, mode: GuardMode, caller: Caller | undefined): QuerySpec {
    const readOnly = mode === 'read';
    if (this.guard === undefined) return { sql, readOnly };
    let statements: string[];
    try {
      statements = this.guard.check(sql, { mode, maxStatements: this.limits.maxStatements });
    } catch (error) {
      const code = isSqlbridgeError(error) ? error.code : 'internal';
      this.emit({
        kind,
        caller,
        sql,
        status: 'rejected',
        started: performance.now(),
        rowCount: 0,
        rowsRead: 0,
        truncated: false,
        errorCode: code
      });
      throw error;
    }
    if (statements.length <= 1) return { sql, readOnly };
    return { sql: statements.at(-1) ?? sql, before: statements.slice(0, -1), readOnly };
  }

  /**
   * Runs a checked statement (or several: `spec.before`, then `spec.sql`) and reports it. The query event
   * carries `sent`, the SQL as the caller sent it, every statement of it, so the audit trail records all
   * that ran, not only the statement whose rows came back.
   */
  private async run(
    kind: QueryKind,
    spec: QuerySpec,
    maxRows: number,
    options: QueryOptions,
    sent: string = spec.sql
  ): Promise<QueryOutcome> {
    const wire = { binaryPreviewBytes: this.limits.binaryPreviewBytes };
    const collector = new ResultCollector({ maxRows, maxChars: this.limits.maxResultChars }, (value, column) =>
      this.adapter.toWireValue(value, column, wire)
    );
    const started = performance.now();
    const deadline = new Deadline(this.limits.queryTimeoutMs, options.signal);
    // Rows are counted as the driver delivers them, so a statement that streams shows them growing.
    const stopProgress =
      options.onProgress === undefined
        ? undefined
        : watchProgress(options.onProgress, this.progressIntervalMs, started, () => collector.rowsReceived);
    try {
      const stats = await this.stream(spec, collector, deadline.signal);
      const wide = collector.tooWide;
      // A read fails saying why; a write has run, and its answer says that its rows are not shown.
      if (wide !== undefined && spec.readOnly) {
        throw new SqlbridgeError(
          'query_failed',
          `the result's ${wide.columns} columns take ${wide.chars.toLocaleString('en-US')} characters by their names and types alone, more than the ${this.limits.maxResultChars.toLocaleString('en-US')} a result may hold`,
          { expose: true, hint: 'select fewer columns, or give them shorter names with AS' }
        );
      }
      const collected = collector.result();
      const elapsedMs = Math.round(performance.now() - started);
      this.emit({
        kind,
        caller: options.caller,
        sql: sent,
        status: 'ok',
        started,
        rowCount: collected.rows.length,
        rowsRead: stats.rowsRead,
        truncated: collected.truncated !== null,
        ...(stats.rowsAffected === undefined ? {} : { rowsAffected: stats.rowsAffected })
      });
      const outcome: QueryOutcome = {
        ...collected,
        rowCount: collected.rows.length,
        rowsRead: stats.rowsRead,
        elapsedMs,
        statements: (spec.before?.length ?? 0) + 1
      };
      if (stats.rowsAffected !== undefined) outcome.rowsAffected = stats.rowsAffected;
      return outcome;
    } catch (error) {
      throw this.failure(
        error,
        kind,
        sent,
        started,
        deadline.timedOut,
        options.signal?.aborted === true,
        options.caller
      );
    } finally {
      // Whatever ended the statement (rows, error, timeout, cancellation), its reports and its timer end with it.
      deadline.end();
      stopProgress?.();
    }
  }

  private failure(
    error: unknown,
    kind: QueryKind,
    sql: string,
    started: number,
    timedOut: boolean,
    cancelled = false,
    caller?: Caller
  ): SqlbridgeError {
    let failure: SqlbridgeError;
    // Only a database that confirmed the stop is said to have cancelled the statement.
    const unconfirmed = error instanceof UnconfirmedCancellation;
    // A connection that could not be made in time is said so, not as a statement cancelled; nor is a
    // call that waited its time out for a connection other calls held (`database_busy`): nothing ran.
    const neverRan = error instanceof ConnectionError || (isSqlbridgeError(error) && error.code === 'database_busy');
    if (timedOut && !neverRan) {
      const outcome = unconfirmed
        ? 'sqlbridge stopped waiting; the database did not confirm the cancellation, so the statement may still run'
        : 'was cancelled on the database';
      failure = new SqlbridgeError(
        'query_timeout',
        `the query ran longer than ${this.limits.queryTimeoutMs} ms and ${outcome}`,
        { expose: true, hint: 'narrow it with WHERE, aggregate, or limit the rows', cause: error }
      );
    } else if (cancelled || unconfirmed || isAbort(error)) {
      // The caller's signal aborted: the driver rethrows its reason, whatever it is (the MCP SDK aborts
      // with "Connection closed" when a client goes away or the server cuts a call off at shutdown).
      const message = unconfirmed
        ? 'the query was cancelled by the client; sqlbridge stopped waiting, but the database did not confirm the cancellation, so the statement may still run'
        : 'the query was cancelled by the client';
      failure = new SqlbridgeError('query_cancelled', message, { expose: true, cause: error });
    } else if (isSqlbridgeError(error)) {
      failure = error;
    } else {
      failure = new SqlbridgeError('internal', 'the query failed unexpectedly', { expose: false, cause: error });
    }
    const status: QueryStatus =
      failure.code === 'query_timeout' ? 'timeout' : failure.code === 'query_cancelled' ? 'cancelled' : 'error';
    this.emit({
      kind,
      caller,
      sql,
      status,
      started,
      rowCount: 0,
      rowsRead: 0,
      truncated: false,
      errorCode: failure.code
    });
    return failure;
  }

  private emit(
    event: Omit<QueryEvent, 'environment' | 'engine' | 'elapsedMs' | 'caller'> & {
      started: number;
      caller?: Caller | undefined;
    }
  ): void {
    const { started, caller, ...rest } = event;
    const full: QueryEvent = {
      environment: this.environment,
      engine: this.engine,
      elapsedMs: Math.round(performance.now() - started),
      ...(caller === undefined ? {} : { caller }),
      ...rest
    };
    for (const listener of this.listeners) listener(full);
  }

  /** The caller's identity as the environment's session keys, and their role, on every statement a caller runs. */
  private withSession(spec: QuerySpec, options: QueryOptions): QuerySpec {
    const role = this.access === undefined ? undefined : requireRole(this.access, options.caller?.identity);
    const withRole = role === undefined ? spec : { ...spec, role };
    const keys = Object.keys(this.identity);
    if (keys.length === 0) return withRole;
    return { ...withRole, session: sessionValues(this.identity, options.caller?.identity) };
  }
}

/** Each session key's value for this caller: null where the caller has none (no sign-in, no such attribute). */
export function sessionValues(mapping: IdentityMapping, identity: SessionIdentity | undefined): SessionValues {
  const values: Record<string, string | null> = {};
  for (const [key, source] of Object.entries(mapping)) {
    let value: string | null | undefined = null;
    if (identity !== undefined) {
      if (source === 'sub') value = identity.subject;
      else if (source === 'client_id') value = identity.clientId;
      else if (source.startsWith('attributes.')) value = identity.attributes?.[source.slice('attributes.'.length)];
    }
    values[key] = value ?? null;
  }
  return values;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
