/**
 * The contract every engine's driver fulfils. A driver owns a pool of connections and streams rows
 * into a sink, stopping as soon as the sink says so, and stops the query on the database when the
 * signal aborts.
 */

export interface DriverColumn {
  name: string;
  /** The engine's type name for the column, when the engine reports one. */
  type: string | null;
}

export type SqlParam = string | number | bigint | boolean | null | Uint8Array;

/** Who is asking: the signed-in user, the client they connected through, and the user's attributes. */
export interface SessionIdentity {
  /** The authenticated user (OAuth `sub`), or null for an unauthenticated local caller. */
  subject: string | null;
  /** The OAuth client the user connected through. */
  clientId: string | null;
  /** The user's configured attributes (`auth.users[].attributes`), e.g. `{ department: '7' }`. */
  attributes?: Readonly<Record<string, string>>;
  /** The user's groups (`auth.users[].groups`, or from the identity provider), which map to database roles. */
  groups?: readonly string[];
}

/**
 * What is set into the database session before a statement runs, key → value (null: not known for
 * this caller). The keys are the environment's `identity` keys; each engine exposes them its own
 * way: SQL Server `SESSION_CONTEXT(N'<key>')` (read-only), PostgreSQL
 * `current_setting('sqlbridge.<key>', true)` (transaction-local; an unknown value is ''), MySQL and
 * MariaDB `@sqlbridge_<key>`, SQLite `sqlbridge_identity('<key>')`. Values are always bound
 * parameters, never spliced into SQL.
 */
export type SessionValues = Readonly<Record<string, string | null>>;

export interface QuerySpec {
  sql: string;
  params?: readonly SqlParam[];
  /**
   * Statements run first, in order, in the same transaction; their rows are discarded and their
   * changed-row counts added to the result's. Each is one statement the guard has checked.
   */
  before?: readonly string[];
  /**
   * Run on a read-only connection / inside a read-only transaction that is always rolled back.
   * Otherwise the transaction commits only when every statement succeeded, and a result cut short
   * by the sink is still read to its end so that the write completes.
   */
  readOnly: boolean;
  /** Set into the session before the statement runs (see SessionValues); absent for trusted catalog SQL. */
  session?: SessionValues;
  /**
   * The database role the statement runs as (the environment's `access` mapping for this caller):
   * the driver switches to it inside the transaction, before `before` and the statement, and the
   * connection is back to the login's own role before anyone else uses it. Absent: the login's role.
   */
  role?: string;
}

export interface RowSink {
  /** The most rows the sink can accept; a driver need not fetch more than this. */
  readonly rowLimit?: number;
  columns(columns: readonly DriverColumn[]): void;
  /**
   * Receives one row; returns false to stop reading. The array is the sink's from then on: a driver
   * hands over a new array for every row and never touches it again, so the sink may convert the
   * values where they are and keep the array.
   */
  row(values: unknown[]): boolean;
}

export interface StreamStats {
  /** Rows the driver fetched from the database. */
  rowsRead: number;
  /** Whether reading stopped before the database ran out of rows. */
  stoppedEarly: boolean;
  /** Rows changed, for statements that change rows. */
  rowsAffected?: number;
}

/** What the database server says it is. */
export interface ServerInfo {
  /** e.g. "PostgreSQL", "MariaDB", "Microsoft SQL Server", "SQLite". */
  product: string;
  version: string;
}

/** A pool's connections right now, for metrics. */
export interface PoolStats {
  /** Connections lent out to a running statement. */
  inUse: number;
  /** Open connections waiting for a statement. */
  idle: number;
  /** Statements waiting for a connection. */
  waiting: number;
}

/**
 * What `stream` rejects with instead of `signal.reason` when it asked the database to stop the
 * statement and the database never confirmed that it had (SQL Server: no acknowledgement of the
 * attention within the grace period). The statement may still be running there; the connection it
 * ran on has been discarded, so no later caller shares it.
 */
export class UnconfirmedCancellation extends Error {
  /** The signal's reason: why sqlbridge asked the statement to stop. */
  readonly reason: unknown;

  constructor(reason: unknown, options: { cause?: unknown } = {}) {
    super('the database did not confirm that the statement stopped', { cause: options.cause });
    this.name = 'UnconfirmedCancellation';
    this.reason = reason;
  }
}

export interface Driver {
  /** Opens the pool and asks the server what it is; connection problems surface here as ConnectionError. */
  init(): Promise<ServerInfo>;
  /**
   * Runs one statement. Rejects with `signal.reason` when the signal aborts, once the database has
   * stopped the query, or with UnconfirmedCancellation when it did not confirm that it had.
   */
  stream(query: QuerySpec, sink: RowSink, signal: AbortSignal): Promise<StreamStats>;
  destroy(): Promise<void>;
  /** The pool's counts; absent (or undefined) where the driver library does not expose them. */
  poolStats?(): PoolStats | undefined;
}
