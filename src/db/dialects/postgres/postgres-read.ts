import type pg from 'pg';
import type { DriverColumn, RowSink, SqlParam, StreamStats } from '../../driver.ts';
import { postgresTypeName, postgresTypes } from './postgres-types.ts';

/**
 * A read as one exchange with the server: every message is written at once (one write, one round
 * trip) and the server runs them in order until the Sync:
 *
 *   BEGIN TRANSACTION READ ONLY · [SET LOCAL ROLE] · [session values]
 *   · the guarded statements, the last one described and executed for at most `rowLimit` rows
 *   · ROLLBACK · DEALLOCATE ALL · SELECT pg_advisory_unlock_all() · Sync
 *
 * The caller's SQL runs only inside the read-only transaction: if anything before it fails, the
 * server skips every message up to the Sync, the statement included. After a failure the
 * transaction is still open (the server skipped the ROLLBACK too), so the driver sends the same
 * reset in a second exchange: ROLLBACK, then what outlives it (RESET_AFTER_FAILURE).
 *
 * After a ROLLBACK, a session keeps only what is not transactional. Of what DISCARD ALL resets,
 * settings (SET, set_config, SET SESSION AUTHORIZATION, the statement timeout of the session
 * start), LISTEN and cursors, even WITH HOLD ones, are rolled back with the transaction, and
 * temporary tables and sequence values cannot be made in a read-only one. What does outlive it is
 * a prepared statement (PREPARE) and a session-level advisory lock: those two are reset here, in
 * the same exchange. tests/integration/session-reset.test.ts proves each of these with the
 * statement guard off.
 */

/** What a rolled-back read-only transaction can leave in a session, reset before the next caller. */
const AFTER_ROLLBACK = ['DEALLOCATE ALL', 'SELECT pg_advisory_unlock_all()'];

/**
 * The reset after a failed read, as one simple query: the ROLLBACK ends the aborted transaction and
 * the rest runs in a transaction of its own; if any of it fails, the connection is not reused.
 */
export const RESET_AFTER_FAILURE = ['ROLLBACK', ...AFTER_ROLLBACK].join('; ');

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

/** A node-postgres submittable (the interface pg-cursor implements) that runs a ReadPlan. */
export class PipelinedRead {
  private readonly steps: Step[];
  private readonly sink: RowSink;
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
  /** Settles once the server is ready for the next query: with the stats, or ReadFailed. */
  readonly done: Promise<StreamStats>;

  constructor(plan: ReadPlan, sink: RowSink) {
    this.sink = sink;
    this.steps = [
      ...plan.setup.map(text => ({ text })),
      ...(plan.session === undefined ? [] : [{ text: plan.session.text, values: plan.session.values }]),
      ...plan.before.map(text => ({ text })),
      { text: plan.sql, ...(plan.params === undefined ? {} : { values: plan.params }), main: true },
      { text: 'ROLLBACK' },
      ...AFTER_ROLLBACK.map(text => ({ text }))
    ];
    this.main = this.steps.findIndex(step => step.main === true);
    this.firstBefore = this.main - plan.before.length;
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Settled through `done`; an unobserved rejection must not crash the process.
    this.done.catch(() => undefined);
  }

  /** Called by the client when the connection is free: writes the whole exchange at once. */
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
    const values = message.fields.map((raw, i) => (raw === null ? null : (parsers[i] ?? String)(raw)));
    if (!this.sink.row(values)) this.stopped = true;
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
