import { existsSync, linkSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqlbridgeError } from '../errors/sqlbridge-error.ts';
import type { Logger } from '../observability/logger.ts';
import { DemoGenerator } from './generator.ts';
import { DEMO_APPLICATION_ID } from './schema.ts';

/**
 * The embedded demo database: created once in the data directory, then kept current. While the
 * server runs, a feed adds what happened each minute, so "failed payments in the last hour" always
 * has an answer. Several sqlbridge processes may share one data directory.
 */

export const DEMO_FILE = 'demo.sqlite';
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
  private readonly db: DatabaseSync;
  private readonly generator: DemoGenerator;
  private readonly now: () => number;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;

  private constructor(path: string, db: DatabaseSync, options: DemoDatabaseOptions) {
    this.path = path;
    this.db = db;
    this.generator = new DemoGenerator(db);
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
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
    if (!existsSync(path)) create(path, now(), options.logger);
    const db = new DatabaseSync(path, { timeout: 10_000, enableForeignKeyConstraints: true });
    const demo = new DemoDatabase(path, db, options);
    demo.catchUp();
    if (options.liveFeed) {
      demo.timer = setInterval(() => demo.catchUp(), options.feedIntervalMs ?? 60_000);
      demo.timer.unref();
    }
    return demo;
  }

  /** Adds what happened since the database was last extended. */
  catchUp(): void {
    const started = performance.now();
    try {
      const { from, to, orders } = this.generator.extendTo(this.now());
      if (to > from) {
        this.logger.debug(
          { orders, through: new Date(to).toISOString(), ms: Math.round(performance.now() - started) },
          'demo database extended'
        );
      }
    } catch (error) {
      this.logger.error({ err: error }, 'extending the demo database failed');
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.db.close();
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
