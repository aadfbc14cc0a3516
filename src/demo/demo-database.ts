import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { SqlbridgeError } from '../errors/sqlbridge-error.ts';
import type { Logger } from '../observability/logger.ts';
import type { CatchUpAnswer } from './catch-up-worker.ts';
import { DEMO_FILE } from './demo-file.ts';
import { DemoGenerator } from './generator.ts';
import { DEMO_APPLICATION_ID } from './schema.ts';

/**
 * The embedded demo database: created once in the data directory, then kept current. While the
 * server runs, a feed adds what happened each minute, so "failed payments in the last hour" always
 * has an answer. Several sqlbridge processes may share one data directory.
 */

export { DEMO_FILE };
const WORKER_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const CATCH_UP_WORKER = new URL(`./catch-up-worker${WORKER_EXTENSION}`, import.meta.url);
const DEMO_ID_MASK = 0xffffff00;

export interface DemoDatabaseOptions {
  dataDir: string;
  logger: Logger;
  liveFeed: boolean;
  now?: () => number;
  feedIntervalMs?: number;
}

export class DemoDatabase {
  readonly path: string;
  private readonly logger: Logger;
  private readonly now: () => number;
  private db: DatabaseSync | undefined;
  private generator: DemoGenerator | undefined;
  private worker: Worker | undefined;
  private pending: ((answer: CatchUpAnswer) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(path: string, options: DemoDatabaseOptions) {
    this.path = path;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    // The live feed of a running server catches up in a worker thread, so that neither the start
    // nor a query waits for it: until it has, queries see the data as the last run left it (each
    // catch-up is one transaction). A database opened without the feed (or with a test clock)
    // catches up here, before open() returns.
    if (options.liveFeed && options.now === undefined) {
      void this.catchUpInWorker();
      this.timer = setInterval(() => void this.catchUpInWorker(), options.feedIntervalMs ?? 60_000);
    } else {
      this.db = new DatabaseSync(path, { timeout: 10_000, enableForeignKeyConstraints: true });
      this.generator = new DemoGenerator(this.db);
      this.catchUp();
      if (options.liveFeed) this.timer = setInterval(() => this.catchUp(), options.feedIntervalMs ?? 60_000);
    }
    this.timer?.unref();
  }

  static demoPath(dataDir: string): string {
    return join(dataDir, DEMO_FILE);
  }

  /** Creates the demo database if needed, brings it up to now and starts the live feed. */
  static open(options: DemoDatabaseOptions): DemoDatabase {
    const path = DemoDatabase.demoPath(options.dataDir);
    const now = options.now ?? Date.now;
    mkdirSync(options.dataDir, { recursive: true });
    if (existsSync(path) && !isCurrentDemoFile(path)) {
      options.logger.warn({ path }, 'the demo database has an older format and is rebuilt');
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    }
    removeAbandonedBuilds(options.dataDir);
    if (!existsSync(path)) {
      options.logger.info({ path }, 'building the demo database (once, a few seconds)');
      options.logger.flush();
      create(path, now(), options.logger);
    }
    return new DemoDatabase(path, options);
  }

  /** Adds what happened since the database was last extended (in-process). */
  catchUp(): void {
    if (this.generator === undefined) return;
    const started = performance.now();
    try {
      const { from, to, orders } = this.generator.extendTo(this.now());
      this.logExtended({ from, to, orders, ms: Math.round(performance.now() - started) });
    } catch (error) {
      this.logger.error({ err: error }, 'extending the demo database failed');
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.db?.close();
    void this.worker?.terminate();
    this.worker = undefined;
  }

  /**
   * Asks the worker thread to add what happened up to now; a request while one runs waits for it.
   * Never rejects: a failure is logged, and the next minute tries again.
   */
  private async catchUpInWorker(): Promise<void> {
    if (this.pending !== undefined) return;
    let answer: CatchUpAnswer;
    try {
      const worker = (this.worker ??= this.startWorker());
      answer = await new Promise<CatchUpAnswer>(resolve => {
        this.pending = resolve;
        worker.postMessage('catch-up');
      });
    } catch (error) {
      answer = { error: error instanceof Error ? error.message : String(error) };
    }
    this.pending = undefined;
    if ('ok' in answer) this.logExtended(answer.ok);
    else
      this.logger.error({ err: { message: answer.error, stack: answer.stack } }, 'extending the demo database failed');
  }

  private startWorker(): Worker {
    const worker = new Worker(CATCH_UP_WORKER, { workerData: { path: this.path } });
    worker.unref();
    worker.on('message', (answer: CatchUpAnswer) => this.pending?.(answer));
    const fail = (error: unknown): void => {
      this.worker = undefined;
      this.pending?.({ error: error instanceof Error ? error.message : String(error) });
    };
    worker.on('error', fail);
    worker.on('exit', code => {
      if (this.worker === worker) fail(new Error(`the demo feed worker ended (exit code ${code})`));
    });
    return worker;
  }

  private logExtended({ from, to, orders, ms }: { from: number; to: number; orders: number; ms: number }): void {
    if (to <= from) return;
    this.logger.debug({ orders, through: new Date(to).toISOString(), ms }, 'demo database extended');
  }
}

/** Whether the file is a demo database of the current format (an older one is rebuilt; anything else is left alone). */
function isCurrentDemoFile(path: string): boolean {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare('PRAGMA application_id').get() as { application_id: number } | undefined;
    const id = row?.application_id ?? 0;
    if (id === DEMO_APPLICATION_ID) return true;
    if ((id & DEMO_ID_MASK) >>> 0 === (DEMO_APPLICATION_ID & DEMO_ID_MASK) >>> 0) return false;
  } finally {
    db.close();
  }
  throw new SqlbridgeError(
    'connection_failed',
    'the data directory holds a demo.sqlite that sqlbridge did not create',
    {
      detail: path,
      hint: 'move that file away or choose another data directory'
    }
  );
}

/** A build's temporary file: `<demo file>.<pid>.<random>.tmp`. */
const BUILD_FILE = new RegExp(`^${DEMO_FILE.replaceAll('.', '\\.')}\\.(\\d+)\\.[a-z0-9]+\\.tmp$`);

/** A build writes its file all along: one untouched this long was abandoned. */
const ABANDONED_MS = 5 * 60_000;

/**
 * Removes the temporary files of builds that were stopped before they finished (a process killed
 * mid-build leaves one of about 100 MB): any carrying this process's id, which a container's process
 * has at every start, and those of processes not running here that have not been written for
 * ABANDONED_MS (a process of another container sharing the directory may still be building).
 */
function removeAbandonedBuilds(dataDir: string): void {
  for (const name of readdirSync(dataDir)) {
    const pid = Number(BUILD_FILE.exec(name)?.[1] ?? Number.NaN);
    if (Number.isNaN(pid)) continue;
    const path = join(dataDir, name);
    const stale = () => Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0) > ABANDONED_MS;
    if (pid === process.pid || (!isRunning(pid) && stale())) rmSync(path, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Builds the database in a temporary file and links it into place only if no other process did first. */
function create(path: string, now: number, logger: Logger): void {
  const started = performance.now();
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const db = new DatabaseSync(temporary);
  try {
    db.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536');
    const generator = new DemoGenerator(db);
    generator.initialize();
    const { orders } = generator.extendTo(now);
    db.exec('ANALYZE');
    db.exec('PRAGMA journal_mode = WAL');
    db.close();
    try {
      linkSync(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    logger.info({ orders, ms: Math.round(performance.now() - started), path }, 'demo database created');
  } finally {
    if (db.isOpen) db.close();
    rmSync(temporary, { force: true });
  }
}
