import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RowSink, SessionValues, SqlParam, StreamStats } from '../../driver.ts';
import type { FlowRequest, FromWorker, ToWorker, WorkerError, WorkerMessage } from './sqlite-protocol.ts';

/**
 * The driver's handle on one SQLite worker process: it opens the database, runs one statement at a
 * time, feeds rows to a sink batch by batch, and is killed to cancel a statement.
 */

const WORKER_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const WORKER_PATH = fileURLToPath(new URL(`./sqlite-worker${WORKER_EXTENSION}`, import.meta.url));
/** Rows asked for at a time: a 1000-row result (the default cap) is one exchange. The worker also ends a batch at about 64 KiB of values. */
const BATCH = 1024;

export interface OpenOptions {
  path: string;
  attach: Readonly<Record<string, string>>;
  readOnly: boolean;
  busyTimeoutMs: number;
  maxRowBytes: number;
}

/** A failure reported by SQLite itself; the driver turns it into a SqlbridgeError. */
export class SqliteFailure extends Error {
  readonly errcode: number | null;
  readonly phase: 'open' | 'query' | 'process';
  /** A row beyond the limit stopped the statement: its weight, or at least that (`rowBytesAtLeast`). */
  readonly rowBytes: number | undefined;
  readonly rowBytesAtLeast: boolean;
  /** A value longer than this stopped the statement (SQLITE_TOOBIG): the statement's share of the row limit. */
  readonly valueBytes: number | undefined;

  constructor(error: WorkerError, phase: 'open' | 'query' | 'process') {
    super(error.message);
    this.name = 'SqliteFailure';
    this.errcode = error.errcode;
    this.phase = phase;
    this.rowBytes = error.rowBytes;
    this.rowBytesAtLeast = error.rowBytesAtLeast === true;
    this.valueBytes = error.valueBytes;
  }
}

export class SqliteProcess {
  readonly ready: Promise<string>;
  private readonly child: ChildProcess;
  private exited = false;
  /** Set the moment the process is killed, before its exit event arrives. */
  private killed = false;
  private onMessage: ((message: WorkerMessage) => void) | undefined;
  /** What the driver asks of the running statement next, sent once the worker's messages are handled. */
  private pendingFlow: FlowRequest | undefined;
  private onExit: (() => void) | undefined;
  private stderr = '';

  constructor(options: OpenOptions) {
    this.child = fork(WORKER_PATH, [], {
      serialization: 'advanced',
      execArgv: [],
      env: {},
      stdio: ['ignore', 'ignore', 'pipe', 'ipc']
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-2000);
    });
    this.child.on('message', (message: FromWorker) => {
      if (message.t === 'batch') for (const each of message.messages) this.onMessage?.(each);
      else this.onMessage?.(message);
      // A statement that ended in the same batch (its outcome came with its rows) needs no more.
      const flow = this.pendingFlow;
      this.pendingFlow = undefined;
      if (flow !== undefined && this.onMessage !== undefined) this.send(flow);
    });
    this.child.on('exit', () => {
      this.exited = true;
      this.onExit?.();
    });
    this.child.on('error', () => {
      this.exited = true;
      this.onExit?.();
    });
    this.ready = new Promise<string>((resolve, reject) => {
      this.onMessage = message => {
        if (message.t === 'ready') resolve(message.sqliteVersion);
        else if (message.t === 'open-failed') reject(new SqliteFailure(message.error, 'open'));
      };
      this.onExit = () => reject(this.processFailure('the SQLite worker process ended while opening the database'));
    });
    this.ready.catch(() => this.kill());
    this.send({ t: 'open', ...options });
  }

  get alive(): boolean {
    return !this.exited && !this.killed;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs one statement, reading no more rows than the sink can take; `session` is what sqlbridge_identity() returns meanwhile. */
  run(
    sql: string,
    params: readonly SqlParam[],
    before: readonly string[],
    session: SessionValues,
    sink: RowSink,
    signal: AbortSignal,
    tables?: readonly string[]
  ): Promise<StreamStats> {
    return new Promise<StreamStats>((resolve, reject) => {
      const limit = sink.rowLimit ?? Infinity;
      let delivered = 0;
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        this.onMessage = undefined;
        this.onExit = undefined;
        outcome();
      };
      const onAbort = (): void => {
        // node:sqlite cannot interrupt a statement; ending the process is what stops it.
        this.kill();
        finish(() => reject(signal.reason as Error));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.onExit = () => finish(() => reject(this.processFailure('the SQLite worker process ended unexpectedly')));
      this.onMessage = message => {
        switch (message.t) {
          case 'columns':
          case 'rows':
            try {
              this.deliver(message, sink, () => ++delivered, limit - delivered);
            } catch (error) {
              // A sink that throws (a value it cannot convert) fails the statement; the process is ended.
              this.kill();
              finish(() => reject(error instanceof Error ? error : new Error(String(error))));
            }
            break;
          case 'done':
            finish(() => {
              const stats: StreamStats = { rowsRead: message.rowsRead, stoppedEarly: message.stoppedEarly };
              if (message.changes !== null) stats.rowsAffected = message.changes;
              resolve(stats);
            });
            break;
          case 'error':
            finish(() => reject(new SqliteFailure(message.error, 'query')));
            break;
          default:
            break;
        }
      };
      const batch = Math.max(1, Math.min(BATCH, limit));
      this.send({ t: 'query', sql, params, before, session, batch, ...(tables === undefined ? {} : { tables }) });
    });
  }

  /** Hands columns or a batch of rows to the sink, and decides whether the worker is asked for more or told to stop. */
  private deliver(
    message: Extract<WorkerMessage, { t: 'columns' | 'rows' }>,
    sink: RowSink,
    count: () => number,
    wanted: number
  ): void {
    if (message.t === 'columns') {
      sink.columns(message.columns);
      return;
    }
    let remaining = wanted;
    for (const row of message.rows) {
      count();
      remaining--;
      if (!sink.row(row)) {
        this.pendingFlow = { t: 'stop' };
        return;
      }
    }
    this.pendingFlow = remaining > 0 ? { t: 'more', batch: Math.min(BATCH, remaining) } : { t: 'stop' };
  }

  kill(): void {
    this.killed = true;
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Ends the process and waits until it is gone. */
  async close(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>(resolve => {
      this.child.once('exit', () => resolve());
      this.kill();
    });
  }

  private send(message: ToWorker): void {
    if (!this.exited && this.child.connected) this.child.send(message);
  }

  private processFailure(message: string): SqliteFailure {
    const detail = this.stderr.trim();
    return new SqliteFailure({ message: detail === '' ? message : `${message}: ${detail}`, errcode: null }, 'process');
  }
}
