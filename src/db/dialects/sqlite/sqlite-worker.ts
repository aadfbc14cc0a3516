import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { rowWeight } from '../../row-size.ts';
import { readOnlyAuthorizer, TableAccess, type Authorizer } from './sqlite-authorizer.ts';
import { integersTravelAsNumbers } from './sqlite-declared-type.ts';
import type { FromWorker, ToWorker, WorkerError, WorkerMessage } from './sqlite-protocol.ts';

/**
 * A SQLite worker process: one connection, one statement at a time, rows sent in batches and read
 * only as fast as the driver asks for them. The driver ends the process to cancel a statement.
 */

let db: DatabaseSync | undefined;
let cursor: { iterator: Iterator<unknown[]>; rowsRead: number; narrow: readonly boolean[] } | undefined;
/** A writable connection runs each request in a transaction committed only when it all succeeded. */
let writable = false;
/** Rows weighing more than this stop their statement (OpenRequest.maxRowBytes). */
let maxRowBytes = Infinity;
/** total_changes() when the open transaction began. */
let changesAtStart: number | undefined;
const NO_SESSION: Readonly<Record<string, string | null>> = Object.freeze({});
/** The identity of the request running now; nothing between requests, so none outlives its own. */
let session: Readonly<Record<string, string | null>> = NO_SESSION;
/** What the connection's own mode allows (the read-only authorizer, or everything). */
let baseAuthorizer: Authorizer | null = null;
/** The tables the running request's role may read (undefined: no role, the connection's own access). */
let access: { key: string; tables: TableAccess } | undefined;

/**
 * `sqlbridge_identity(key)`: the running request's value for an identity key, NULL when the caller has
 * none or the key is not configured. Not deterministic (it changes between requests), and callable
 * from views and triggers, which is where row-level filters live on SQLite.
 */
function identity(key: unknown): string | null {
  if (typeof key !== 'string' || !Object.hasOwn(session, key)) return null;
  return session[key] ?? null;
}

/** `sqlbridge_readable(schema, name)`: 1 when the running request's role may read the table, for the catalog. */
function readable(schema: unknown, name: unknown): number {
  if (access === undefined) return 1;
  return typeof name === 'string' && access.tables.allows(typeof schema === 'string' ? schema : null, name) ? 1 : 0;
}

/** Narrows the connection to a role's tables for one request, or widens it back to its own access. */
function useTables(connection: DatabaseSync, tables: readonly string[] | undefined): void {
  const key = tables === undefined ? undefined : JSON.stringify(tables);
  if (key === access?.key) return;
  access = tables === undefined || key === undefined ? undefined : { key, tables: new TableAccess(tables) };
  connection.setAuthorizer(
    access === undefined ? baseAuthorizer : access.tables.authorizer(baseAuthorizer ?? undefined)
  );
}

/** A statement compiled under the role's authorizer, once it has surveyed what it cannot ask while deciding. */
function prepare(connection: DatabaseSync, sql: string): StatementSync {
  access?.tables.survey(connection, sql);
  return connection.prepare(sql);
}

/** Messages said while handling the current message, sent together once it is handled. */
let outbox: WorkerMessage[] = [];

function send(message: WorkerMessage): void {
  if (outbox.length === 0) queueMicrotask(flush);
  outbox.push(message);
}

function flush(): void {
  const messages = outbox;
  outbox = [];
  const message: FromWorker =
    messages.length === 1 && messages[0] !== undefined ? messages[0] : { t: 'batch', messages };
  process.send?.(message);
}

/** A row beyond maxRowBytes: reported as such instead of being sent. */
class RowTooLarge extends Error {
  readonly rowBytes: number;
  readonly atLeast: boolean;

  constructor(rowBytes: number, atLeast = false) {
    super(`a row of ${atLeast ? 'at least ' : ''}${rowBytes} bytes is larger than ${maxRowBytes}`);
    this.rowBytes = rowBytes;
    this.atLeast = atLeast;
  }
}

/**
 * How long one value may be, for a statement of `columns` columns. SQLite's length limit bounds each
 * value, and node:sqlite makes the whole row before the worker can weigh it: with maxRowBytes a value,
 * a row of 2,000 columns could take 2,000 times that (gigabytes) before being refused. The values of a
 * statement share ROW_SHARES rows' worth of maxRowBytes instead, and each may still be maxRowBytes
 * long when there are few columns, and at least MIN_VALUE_BYTES when there are many: a row takes at
 * most max(4 × maxRowBytes, 2,000 × 64 KiB) on its way to being weighed.
 */
const ROW_SHARES = 4;
/** SQLite's primary result code for a string or blob beyond the length limit. */
const SQLITE_TOOBIG = 18;
const MIN_VALUE_BYTES = 65_536;
let valueBytes = Infinity;

function limitValues(columns: number): void {
  if (db === undefined || !Number.isFinite(maxRowBytes)) return;
  valueBytes = Math.min(maxRowBytes, Math.max(MIN_VALUE_BYTES, Math.floor((ROW_SHARES * maxRowBytes) / columns)));
  db.limits.length = valueBytes;
}

/** V8's longest string (2^29 − 24 characters): node:sqlite gives back no row at all for a longer value. */
const LONGEST_STRING = 0x1fffffe8;

function toWorkerError(error: unknown): WorkerError {
  const errcode = (error as { errcode?: unknown }).errcode;
  return {
    message: error instanceof Error ? error.message : String(error),
    errcode: typeof errcode === 'number' ? errcode & 0xff : null,
    ...(error instanceof RowTooLarge ? { rowBytes: error.rowBytes, rowBytesAtLeast: error.atLeast } : {}),
    ...(typeof errcode === 'number' && (errcode & 0xff) === SQLITE_TOOBIG && Number.isFinite(valueBytes)
      ? { valueBytes }
      : {})
  };
}

function open(path: string, attach: Readonly<Record<string, string>>, readOnly: boolean, busyTimeoutMs: number): void {
  try {
    db = new DatabaseSync(path, {
      readOnly,
      timeout: busyTimeoutMs,
      allowExtension: false,
      enableForeignKeyConstraints: true,
      defensive: true
    });
    // No string or blob longer than a row may be, in the result or on the way to it: SQLite refuses to
    // make one (SQLITE_TOOBIG), so `randomblob(999000000)` costs no gigabyte (its own limit is 1 GB).
    limitValues(1);
    // Attached files share the connection's read-only flag.
    for (const [schema, file] of Object.entries(attach)) {
      db.prepare(`ATTACH DATABASE ? AS "${schema.replaceAll('"', '""')}"`).run(file);
    }
    db.function('sqlbridge_identity', { deterministic: false, directOnly: false }, identity);
    db.function('sqlbridge_readable', { deterministic: false, directOnly: true }, readable);
    // SQLite opens lazily: read the schema now so a wrong file fails here, not at the first query.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    if (readOnly) {
      db.exec('PRAGMA query_only = ON');
      baseAuthorizer = readOnlyAuthorizer;
      db.setAuthorizer(baseAuthorizer);
    }
    writable = !readOnly;
    send({ t: 'ready', sqliteVersion: process.versions.sqlite ?? 'unknown' });
  } catch (error) {
    send({ t: 'open-failed', error: toWorkerError(error) });
  }
}

function totalChanges(connection: DatabaseSync): number {
  const row = connection.prepare('SELECT total_changes() AS n').get() as { n: number | bigint };
  return Number(row.n);
}

/** Ends the request: commits a write (or rolls it back on failure) and reports the outcome. */
function finish(outcome: { rowsRead: number; stoppedEarly: boolean } | { error: unknown }): void {
  session = NO_SESSION;
  if (changesAtStart !== undefined && db !== undefined) {
    const started = changesAtStart;
    changesAtStart = undefined;
    if ('error' in outcome) {
      rollback(db);
    } else {
      try {
        const changes = totalChanges(db) - started;
        db.exec('COMMIT');
        send({ t: 'done', ...outcome, changes });
      } catch (error) {
        rollback(db);
        send({ t: 'error', error: toWorkerError(error) });
      }
      return;
    }
  }
  if ('error' in outcome) send({ t: 'error', error: toWorkerError(outcome.error) });
  else send({ t: 'done', ...outcome, changes: null });
}

function rollback(connection: DatabaseSync): void {
  try {
    if (connection.isTransaction) connection.exec('ROLLBACK');
  } catch {
    // The transaction is already gone.
  }
}

function startQuery(
  sql: string,
  params: readonly unknown[],
  before: readonly string[],
  identityValues: Readonly<Record<string, string | null>>,
  batch: number,
  tables: readonly string[] | undefined
): void {
  session = identityValues;
  if (db === undefined) {
    session = NO_SESSION;
    send({ t: 'error', error: { message: 'the database is not open', errcode: null } });
    return;
  }
  let statement: StatementSync;
  try {
    // Statements compile under the role's authorizer: it decides while SQLite prepares them.
    useTables(db, tables);
    limitValues(1);
    if (writable) {
      db.exec('BEGIN IMMEDIATE');
      changesAtStart = totalChanges(db);
    }
    for (const text of before) {
      // Rows of earlier statements are discarded; one step makes all of a statement's changes (RETURNING included).
      prepare(db, text).run();
    }
    statement = prepare(db, sql);
    statement.setReadBigInts(true);
    statement.setReturnArrays(true);
    const columns = statement.columns().map(c => ({ name: c.name, type: c.type }));
    limitValues(Math.max(1, columns.length));
    if (columns.length === 0) {
      const result = statement.run(...(params as never[]));
      send({ t: 'columns', columns });
      if (changesAtStart === undefined) {
        session = NO_SESSION;
        send({ t: 'done', rowsRead: 0, stoppedEarly: false, changes: Number(result.changes) });
      } else finish({ rowsRead: 0, stoppedEarly: false });
      return;
    }
    send({ t: 'columns', columns });
    const iterator = statement.iterate(...(params as never[])) as unknown as Iterator<unknown[]>;
    cursor = { iterator, rowsRead: 0, narrow: columns.map(column => integersTravelAsNumbers(column.type)) };
    pump(batch);
  } catch (error) {
    cursor = undefined;
    finish({ error });
  }
}

/**
 * A batch ends at the rows the driver asked for or once its values reach about 64 KiB, whichever
 * comes first (always at least one row): narrow rows travel many to a message (a 1000-row result of
 * a few columns is one), wide ones (long text, blobs) few. Neither process holds more than one
 * bounded batch however large the result, and a result cut at the character budget is read little
 * past it.
 */
const BATCH_BYTES = 64 * 1024;

const MIN_EXACT = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Integers are read as bigint, so that none loses digits; those a number holds exactly travel as
 * numbers (smaller to send, cheaper to receive), except in declared decimal and boolean columns.
 */
function narrowIntegers(row: unknown[], narrow: readonly boolean[]): void {
  for (let i = 0; i < row.length; i++) {
    const value = row[i];
    if (typeof value === 'bigint' && narrow[i] === true && value >= MIN_EXACT && value <= MAX_EXACT)
      row[i] = Number(value);
  }
}

/** Reads up to `size` rows (fewer once they weigh BATCH_BYTES) and sends them, or reports the end of the rows. */
function pump(size: number): void {
  if (cursor === undefined) return;
  const batch: unknown[][] = [];
  let bytes = 0;
  try {
    while (batch.length < size && bytes < BATCH_BYTES) {
      const next = cursor.iterator.next() as IteratorResult<unknown[]> | undefined;
      // node:sqlite answers a value it cannot make a string of (too long for V8) with nothing.
      if (next === undefined) throw new RowTooLarge(LONGEST_STRING, true);
      if (next.done === true) {
        if (batch.length > 0) send({ t: 'rows', rows: batch });
        const { rowsRead } = cursor;
        cursor = undefined;
        finish({ rowsRead, stoppedEarly: false });
        return;
      }
      cursor.rowsRead++;
      const weight = rowWeight(next.value);
      if (weight > maxRowBytes) throw new RowTooLarge(weight);
      narrowIntegers(next.value, cursor.narrow);
      batch.push(next.value);
      bytes += weight;
    }
    send({ t: 'rows', rows: batch });
  } catch (error) {
    const iterator = cursor?.iterator;
    cursor = undefined;
    try {
      iterator?.return?.();
    } catch {
      // The statement has already ended with its error.
    }
    finish({ error });
  }
}

function stop(): void {
  if (cursor === undefined) return;
  const { iterator, rowsRead } = cursor;
  cursor = undefined;
  iterator.return?.();
  finish({ rowsRead, stoppedEarly: true });
}

process.on('message', (message: ToWorker) => {
  switch (message.t) {
    case 'open':
      maxRowBytes = message.maxRowBytes;
      open(message.path, message.attach, message.readOnly, message.busyTimeoutMs);
      break;
    case 'query':
      startQuery(message.sql, message.params, message.before, message.session, message.batch, message.tables);
      break;
    case 'more':
      pump(message.batch);
      break;
    case 'stop':
      stop();
      break;
  }
});

// The driver owns this process: when it goes away, so do we.
process.on('disconnect', () => {
  db?.close();
  process.exit(0);
});
