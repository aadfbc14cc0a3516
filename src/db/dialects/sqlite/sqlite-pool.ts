import { statSync } from 'node:fs';
import { ConnectionError } from '../../../errors/connection-error.ts';
import type { PoolStats } from '../../driver.ts';
import { SqliteProcess, type OpenOptions } from './sqlite-process.ts';

/**
 * A pool of SQLite worker processes. Idle processes beyond the first are closed after
 * `idleTimeoutMs`. A process killed to cancel a statement is replaced for a caller already waiting,
 * or at once when it was the pool's last one: the next statement finds a process ready instead of
 * spending its own time limit on starting one.
 *
 * A process keeps its files open: one whose database file has since been replaced (a new copy moved
 * into place, as deployments and restores do) or deleted would go on reading the old file. Before a
 * process is lent again, the files' identities (device and inode) are compared with those it opened;
 * a process of files replaced is closed and a new one opens them; a missing file fails the statement
 * (opening it would create an empty database).
 */

export interface PoolOptions extends OpenOptions {
  max: number;
  idleTimeoutMs: number;
}

interface Waiter {
  resolve: (process: SqliteProcess) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class SqlitePool {
  private readonly options: PoolOptions;
  private readonly idle: { process: SqliteProcess; timer: NodeJS.Timeout | undefined }[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly all = new Set<SqliteProcess>();
  /** The identity of the files each process opened (see fileIdentity). */
  private readonly opened = new WeakMap<SqliteProcess, string>();
  private size = 0;
  private closed = false;
  /** A replacement process opening (see replaceLast). */
  private replacing: Promise<void> | undefined;

  constructor(options: PoolOptions) {
    this.options = options;
  }

  /** Starts one process and waits until the database is open: surfaces open errors early. */
  async warm(): Promise<string> {
    const process = await this.acquire(AbortSignal.timeout(30_000));
    try {
      return await process.ready;
    } finally {
      this.release(process);
    }
  }

  async acquire(signal: AbortSignal): Promise<SqliteProcess> {
    if (this.closed) throw new Error('the SQLite pool is closed');
    signal.throwIfAborted();
    const files = this.fileIdentity();
    for (;;) {
      const entry = this.idle.pop();
      if (entry === undefined) break;
      clearTimeout(entry.timer);
      if (entry.process.alive && this.opened.get(entry.process) === files) return entry.process;
      this.size--;
      this.all.delete(entry.process);
      if (entry.process.alive) void entry.process.close();
    }
    if (this.size < this.options.max) {
      this.size++;
      const process = this.start(files);
      try {
        await process.ready;
      } catch (error) {
        this.size--;
        this.all.delete(process);
        throw error;
      }
      return process;
    }
    return new Promise<SqliteProcess>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(signal.reason as Error);
        }
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(process: SqliteProcess): void {
    // A process whose files were replaced since it opened them is not handed to a caller waiting
    // for one (an idle one is looked at when it is next lent, in acquire).
    if (process.alive && !this.closed && this.waiters.length > 0 && !this.current(process)) process.kill();
    if (!process.alive || this.closed) {
      this.size--;
      this.all.delete(process);
      if (this.closed) process.kill();
      // A writer killed in a transaction leaves its journal behind, which read-only connections
      // cannot roll back: a new writer does so as it opens (it reads the schema), and then serves
      // whoever waits.
      if (!this.options.readOnly) this.replaceLast();
      else if (this.waiters.length > 0) this.wakeWaiter();
      else if (this.size === 0) this.replaceLast();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(process);
      return;
    }
    const timer =
      this.idle.length === 0
        ? undefined
        : setTimeout(() => {
            const index = this.idle.findIndex(entry => entry.process === process);
            if (index >= 0) {
              this.idle.splice(index, 1);
              this.size--;
              this.all.delete(process);
              void process.close();
            }
          }, this.options.idleTimeoutMs).unref();
    this.idle.push({ process, timer });
  }

  /** Settles once a replacement process started after a death has opened (or failed to), at once if none is. */
  replaced(): Promise<void> {
    return this.replacing ?? Promise.resolve();
  }

  /** Processes lent out (or starting for a caller), idle, and callers waiting for one. */
  stats(): PoolStats {
    return { inUse: this.size - this.idle.length, idle: this.idle.length, waiting: this.waiters.length };
  }

  /** Operating-system ids of the worker processes, for diagnostics. */
  processIds(): number[] {
    return [...this.all].flatMap(process => (process.pid === undefined ? [] : [process.pid]));
  }

  async destroy(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('the SQLite pool is closed'));
    for (const entry of this.idle.splice(0)) clearTimeout(entry.timer);
    const processes = [...this.all];
    this.all.clear();
    await Promise.all(processes.map(process => process.close()));
  }

  /**
   * A process died (killed to cancel its statement, or it crashed) that was the pool's last, or a
   * writer: one is started for the next caller and kept idle. If it cannot open the database, the
   * next caller's own attempt reports why.
   */
  private replaceLast(): void {
    if (this.closed) return;
    let files: string;
    try {
      files = this.fileIdentity();
    } catch {
      // The next caller's own attempt reports the missing file, and so does each waiting one's.
      while (this.waiters.length > 0) this.wakeWaiter();
      return;
    }
    this.size++;
    const process = this.start(files);
    const opened = process.ready.then(
      () => undefined,
      () => undefined
    );
    this.replacing = opened;
    void opened.then(() => {
      if (this.replacing === opened) this.replacing = undefined;
    });
    process.ready.then(
      () => {
        this.release(process);
      },
      () => {
        this.size--;
        this.all.delete(process);
        // Whoever waited for it tries a process of its own, and hears why it cannot open.
        if (this.waiters.length > 0) this.wakeWaiter();
      }
    );
  }

  /** Whether the files a process opened are still the ones at their paths. */
  private current(process: SqliteProcess): boolean {
    try {
      return this.opened.get(process) === this.fileIdentity();
    } catch {
      return false;
    }
  }

  private start(files: string): SqliteProcess {
    const process = new SqliteProcess(this.options);
    this.all.add(process);
    this.opened.set(process, files);
    return process;
  }

  /**
   * The device and inode of the database file and each attached one, as one string; a missing file
   * throws, as the driver's start does (a ConnectionError the caller is shown).
   */
  private fileIdentity(): string {
    const files = [this.options.path, ...Object.values(this.options.attach)];
    return files
      .map(file => {
        const stats = statSync(file, { throwIfNoEntry: false });
        if (stats === undefined) {
          throw new ConnectionError('database_not_found', file, {
            message: 'the SQLite database file does not exist',
            hint: 'check the path in the configuration, and that nothing moved or deleted the file'
          });
        }
        return `${stats.dev}:${stats.ino}`;
      })
      .join(',');
  }

  /** A process died while a caller waited: start a fresh one for the first waiter. */
  private wakeWaiter(): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined || this.closed) return;
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    this.acquire(waiter.signal).then(waiter.resolve, waiter.reject);
  }
}
