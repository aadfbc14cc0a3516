import type pg from 'pg';
import type { DriverColumn, RowSink, SqlParam, StreamStats } from '../../driver.ts';
import { postgresTypeName, postgresTypes } from './postgres-types.ts';

/**
 * A read as one exchange with the server: every message is written at once (one write, one round
 * trip), in two parts, each ended by a Sync:
 *
 *   BEGIN TRANSACTION READ ONLY · [SET LOCAL ROLE] · [session values]
 *   · the guarded statements, the last one described and executed for at most `rowLimit` rows · Sync
 *   ROLLBACK · DEALLOCATE ALL · SELECT pg_advisory_unlock_all() · Sync
 *
 * The caller's SQL runs only inside the read-only transaction: if anything before it fails, the
 * server skips every message up to the first Sync, the statement included. The second part runs
 * either way, since the server starts again after a Sync: it ends the transaction, aborted or not,
 * and resets what outlives it, so a failed read needs no second round trip. node-postgres hands
 * each part's messages to a query object of its own (PipelinedRead, then SessionReset), one after
 * the other on the same client.
 *
 * After a ROLLBACK, a session keeps only what is not transactional. Of what DISCARD ALL resets,
 * settings (SET, set_config, SET SESSION AUTHORIZATION, the statement timeout of the session
 * start), LISTEN and cursors, even WITH HOLD ones, are rolled back with the transaction, and
 * temporary tables and sequence values cannot be made in a read-only one. What does outlive it is
 * a prepared statement (PREPARE) and a session-level advisory lock: those two are reset in the
 * second part. tests/integration/session-reset.test.ts proves each of these with the statement
 * guard off.
 */

/** The second part: what a read-only transaction, rolled back, can leave in a session. */
const RESET = ['ROLLBACK', 'DEALLOCATE ALL', 'SELECT pg_advisory_unlock_all()'];

export interface ReadPlan {
  /** Statements that set up the transaction (BEGIN, timeouts, role), without parameters. */
  setup: readonly string[];
  /** The caller's identity as one statement with bound values (see postgres-session.ts). */
  session?: { text: string; values: readonly SqlParam[] };
  /** Guarded statements that run before the last one; their rows are discarded. */
  before: readonly string[];
  sql: string;
  params?: readonly SqlParam[];
}

interface Step {
  text: string;
  values?: readonly SqlParam[];
  /** The statement whose rows go to the sink. */
  main?: true;
}

interface CommandComplete {
  text?: string;
  command?: string;
}

/** The first error of the exchange; the transaction is then left open and aborted. */
export class ReadFailed extends Error {
  readonly error: unknown;

  constructor(error: unknown) {
    super('the read failed');
    this.error = error;
  }
}

/**
 * A node-postgres submittable (the interface pg-cursor implements) that runs a ReadPlan. It writes
 * its `reset`'s messages too, in the same write: the client must be given the reset right after it.
 */
export class PipelinedRead {
  private readonly steps: Step[];
  private readonly sink: RowSink;
  private readonly reset: SessionReset;
  private parsers: ((text: string) => unknown)[] = [];
  /** Index of the statement whose rows go to the sink, and of the first `before` statement. */
  private readonly main: number;
  private readonly firstBefore: number;
  private step = 0;
  private rowsRead = 0;
  private stopped = false;
  private suspended = false;
  private described = false;
  private affected = 0;
  private error: unknown;
  private settle: { resolve: (stats: StreamStats) => void; reject: (error: unknown) => void } | undefined;
  /** Told once the sink has all the rows it takes. */
  private readonly onStop: (() => void) | undefined;
  /** Settles once the server is ready for the next query: with the stats, or ReadFailed. */
  readonly done: Promise<StreamStats>;

  constructor(plan: ReadPlan, sink: RowSink, reset: SessionReset, onStop?: () => void) {
    this.sink = sink;
    this.reset = reset;
    this.onStop = onStop;
    this.steps = [
      ...plan.setup.map(text => ({ text })),
      ...(plan.session === undefined ? [] : [{ text: plan.session.text, values: plan.session.values }]),
      ...plan.before.map(text => ({ text })),
      { text: plan.sql, ...(plan.params === undefined ? {} : { values: plan.params }), main: true }
    ];
    this.main = this.steps.findIndex(step => step.main === true);
    this.firstBefore = this.main - plan.before.length;
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Settled through `done`; an unobserved rejection must not crash the process.
    this.done.catch(() => undefined);
  }

  /** Called by the client when the connection is free: writes the whole exchange, the reset's part too, at once. */
  submit(connection: PgConnection): Error | null {
    const limit = this.sink.rowLimit;
    connection.stream.cork();
    try {
      for (const step of this.steps) {
        connection.parse({ text: step.text });
        connection.bind({ values: step.values ?? [], valueMapper: mapValue });
        if (step.main === true) connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: step.main === true && limit !== undefined ? limit : 0 });
      }
      connection.sync();
      this.reset.writeTo(connection);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    } finally {
      connection.stream.uncork();
    }
    return null;
  }

  handleRowDescription(message: { fields: pg.FieldDef[] }): void {
    if (!this.isMain()) return;
    this.described = true;
    const parserOf = postgresTypes.getTypeParser as (oid: number, format: 'text') => (text: string) => unknown;
    this.parsers = message.fields.map(field => parserOf(field.dataTypeID, 'text'));
    this.sink.columns(message.fields.map(toColumn));
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    if (!this.isMain() || this.stopped) return;
    this.rowsRead++;
    const { parsers } = this;
    const { fields } = message;
    const values: unknown[] = new Array(fields.length);
    for (let i = 0; i < fields.length; i++) {
      const raw = fields[i] ?? null;
      values[i] = raw === null ? null : (parsers[i] ?? String)(raw);
    }
    if (!this.sink.row(values)) {
      this.stopped = true;
      this.onStop?.();
    }
  }

  /** The rows so far, when the sink had stopped reading before the exchange failed: a result cut short, not a failure. */
  cutShort(): StreamStats | undefined {
    return this.stopped ? { rowsRead: this.rowsRead, stoppedEarly: true } : undefined;
  }

  handlePortalSuspended(): void {
    if (this.isMain()) this.suspended = true;
    this.step++;
  }

  handleCommandComplete(message: CommandComplete): void {
    // Rows changed count where a statement changed rows (in a read-only transaction: temporary tables at most).
    if (this.step >= this.firstBefore && this.step <= this.main) this.affected += rowsChanged(message);
    this.step++;
  }

  handleEmptyQuery(): void {
    this.step++;
  }

  handleError(error: unknown): void {
    // The client forgets this query on an error; the server skips to the Sync and is then ready.
    this.error ??= error;
    this.settle?.reject(new ReadFailed(error));
  }

  handleReadyForQuery(): void {
    if (this.error !== undefined) {
      this.settle?.reject(new ReadFailed(this.error));
      return;
    }
    if (!this.described) this.sink.columns([]);
    const stats: StreamStats = { rowsRead: this.rowsRead, stoppedEarly: this.stopped || this.suspended };
    if (this.affected > 0) stats.rowsAffected = this.affected;
    this.settle?.resolve(stats);
  }

  /** COPY is refused by the guard; should the server ask for data anyway, it gets none. */
  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('sqlbridge does not send COPY data');
  }

  handleCopyData(): void {
    // Discarded: COPY TO is not a result sqlbridge reads.
  }

  private isMain(): boolean {
    return this.step === this.main;
  }
}

/**
 * The second part of a read (see above), as the submittable that receives its answers. Its
 * messages are written by the read before it; node-postgres makes it the active query once the
 * read's part is over, and it writes nothing then. It settles with the server ready for the next
 * query, or rejects at the first error (the client then forgets it, and the connection must not be
 * lent again).
 */
export class SessionReset {
  /** Settles once the session is reset, or rejects with the first error. */
  readonly done: Promise<void>;
  private written = false;
  private failed = false;
  private settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor() {
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.done.catch(() => undefined);
  }

  /** Writes the reset's messages, within the read's write. */
  writeTo(connection: PgConnection): void {
    for (const text of RESET) {
      connection.parse({ text });
      connection.bind({ values: [], valueMapper: mapValue });
      connection.execute({ portal: '', rows: 0 });
    }
    connection.sync();
    this.written = true;
  }

  /** Called by the client once the read is over: its messages are already on their way, unless the read failed to write them. */
  submit(): Error | null {
    return this.written ? null : new Error('the session reset was not sent');
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}

  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('sqlbridge does not send COPY data');
  }

  handleError(error: unknown): void {
    this.failed = true;
    this.settle?.reject(error);
  }

  handleReadyForQuery(): void {
    if (!this.failed) this.settle?.resolve();
  }
}

/** The parts of pg's Connection a submittable uses. */
export interface PgConnection {
  stream: { cork(): void; uncork(): void };
  parse(query: { text: string }): void;
  bind(config: {
    values: readonly SqlParam[];
    valueMapper: (value: SqlParam | undefined) => string | Buffer | null;
  }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(config: { portal: string; rows: number }): void;
  sync(): void;
  sendCopyFail(message: string): void;
}

/** A bound value in text format, as pg sends it (binary values as bytes). */
function mapValue(value: SqlParam | undefined): string | Buffer | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return String(value);
}

/** `INSERT 0 5`, `UPDATE 3`, `DELETE 2`, `MERGE 1` → the count; anything else (SELECT, SET…) → 0. */
function rowsChanged(message: CommandComplete): number {
  const match = /^(?:INSERT|UPDATE|DELETE|MERGE)(?: (\d+))?(?: (\d+))?$/.exec(message.text ?? message.command ?? '');
  return match === null ? 0 : Number(match[2] ?? match[1] ?? 0);
}

function toColumn(field: pg.FieldDef): DriverColumn {
  return { name: field.name, type: postgresTypeName(field.dataTypeID, field.dataTypeModifier) };
}
