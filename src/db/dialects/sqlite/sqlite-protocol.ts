/**
 * Messages between the SQLite driver and its worker processes. SQLite runs in child processes
 * because node:sqlite is synchronous and cannot be interrupted: a query in the main thread would
 * stall every other request, and only ending the process stops a runaway query for certain.
 * Messages travel over Node's IPC channel with the `advanced` (structured clone) serialization, so
 * bigint and Uint8Array values arrive intact. An integer travels as a number when a number holds it
 * exactly, except in a declared decimal or boolean column (see sqlite-declared-type.ts); otherwise
 * as a bigint.
 */

export interface OpenRequest {
  t: 'open';
  path: string;
  /** Further files attached as schemas (name → path). */
  attach: Readonly<Record<string, string>>;
  readOnly: boolean;
  busyTimeoutMs: number;
  /** A row weighing more (text by its length, blobs by their size) fails its statement instead of being sent. */
  maxRowBytes: number;
}

export interface QueryRequest {
  t: 'query';
  sql: string;
  params: readonly unknown[];
  /** Statements run first (results discarded); on a writable connection, all in one transaction. */
  before: readonly string[];
  /** The caller's identity, which `sqlbridge_identity(key)` returns while this request runs (empty: none). */
  session: Readonly<Record<string, string | null>>;
  /** Rows to send in the first batch at most (the worker ends a batch early at about 64 KiB of values). */
  batch: number;
  /** The tables the caller's role may read (`access.tables`); absent: no role, the connection's own access. */
  tables?: readonly string[];
}

/** After a `rows` batch the driver asks for the next `batch` rows (at most), or ends the statement. */
export type FlowRequest = { t: 'more'; batch: number } | { t: 'stop' };

export type ToWorker = OpenRequest | QueryRequest | FlowRequest;

export interface WorkerError {
  message: string;
  /** SQLite's primary result code (e.g. 1 SQLITE_ERROR, 8 SQLITE_READONLY, 14 SQLITE_CANTOPEN, 23 SQLITE_AUTH). */
  errcode: number | null;
  /** The weight of a row beyond `maxRowBytes`, which stopped the statement. */
  rowBytes?: number;
  /** Whether `rowBytes` is only a lower bound (a value too long to read at all). */
  rowBytesAtLeast?: boolean;
  /** With SQLITE_TOOBIG: how long a value of the statement could be (its share of maxRowBytes). */
  valueBytes?: number;
}

/**
 * What the worker says. Everything it has to say while handling one message (the columns, the
 * first batch of rows and the outcome of a small result) travels as one `batch`: one write and one
 * wake-up of the driver instead of three.
 */
export type FromWorker = WorkerMessage | { t: 'batch'; messages: WorkerMessage[] };

export type WorkerMessage =
  | { t: 'ready'; sqliteVersion: string }
  | { t: 'open-failed'; error: WorkerError }
  | { t: 'columns'; columns: { name: string; type: string | null }[] }
  | { t: 'rows'; rows: unknown[][] }
  | { t: 'done'; rowsRead: number; stoppedEarly: boolean; changes: number | null }
  | { t: 'error'; error: WorkerError };
