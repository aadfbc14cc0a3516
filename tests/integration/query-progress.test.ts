import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../src/config/schema.ts';
import type { QueryProgress } from '../../src/db/progress.ts';
import { createDialect } from '../../src/db/registry.ts';
import { DatabaseRuntime, type RuntimeLimits } from '../../src/db/runtime.ts';
import { isSqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { POSTGRES, createPostgresDatabase } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { busyFor, failsAfter, rowsOverTime } from '../helpers/slow-postgres.ts';

/**
 * A running statement reports the rows read so far and the time elapsed, every interval, to a
 * caller that asked, and stops reporting when it ends, however it ends. Against PostgreSQL, whose
 * statements below take a known time on any machine.
 */

const INTERVAL = 300;
/** Long enough for a stray timer to have fired a few times. */
const QUIET = INTERVAL * 4;

const LIMITS: RuntimeLimits = {
  maxRows: 5000,
  maxResultChars: 70_000,
  queryTimeoutMs: 20_000,
  maxStatements: 1,
  binaryPreviewBytes: 48
};

let database: { name: string; drop: () => Promise<void> } | undefined;
const runtimes: DatabaseRuntime[] = [];

function postgresDialect(limits: RuntimeLimits) {
  const config: DatabaseConfig = {
    engine: 'postgres',
    host: POSTGRES.host,
    port: POSTGRES.port,
    user: POSTGRES.user,
    database: database!.name,
    tls: 'disable',
    connectTimeoutMs: 5000,
    pool: { max: 4, idleTimeoutMs: 60_000 }
  };
  return createDialect(
    { readOnly: true, database: config, limits: { ...limits, maxSampleRows: 100 } },
    { environment: 'progress', dataDir: emptyDir(), logger: createLogger('silent') }
  );
}

function runtime(overrides: Partial<RuntimeLimits> = {}): DatabaseRuntime {
  const limits = { ...LIMITS, ...overrides };
  const db = new DatabaseRuntime({
    environment: 'progress',
    dialect: postgresDialect(limits),
    readOnly: true,
    limits,
    progressIntervalMs: INTERVAL
  });
  runtimes.push(db);
  return db;
}

/** A listener that records every report. */
function recorder(): { reports: QueryProgress[]; onProgress: (progress: QueryProgress) => void } {
  const reports: QueryProgress[] = [];
  return { reports, onProgress: progress => reports.push(progress) };
}

function expectIncreasingTime(reports: readonly QueryProgress[]): void {
  reports.slice(1).forEach((report, i) => {
    expect(report.elapsedMs).toBeGreaterThan(reports[i]!.elapsedMs);
  });
}

/** Settles with the query's error (its code), failing the test if the query succeeds. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isSqlbridgeError(error) ? error.code : String(error);
  }
  throw new Error('the query succeeded');
}

beforeAll(async () => {
  database = await createPostgresDatabase(`CREATE VIEW slow_view AS ${rowsOverTime(40, 30)}`);
});

afterAll(async () => {
  await Promise.all(runtimes.map(db => db.close()));
  await database?.drop();
});

describe('query progress (PostgreSQL)', () => {
  it('reports a long query every interval with growing elapsed time, and nothing once it has ended', async () => {
    const db = runtime();
    const { reports, onProgress } = recorder();
    const outcome = await db.query(busyFor(2), { onProgress });
    expect(outcome.rows).toEqual([[1]]);
    const atEnd = reports.length;
    // ~6 reports in 2 s; a busy machine delays timers, so ask for fewer.
    expect(atEnd).toBeGreaterThanOrEqual(3);
    expectIncreasingTime(reports);
    expect(reports[0]!.elapsedMs).toBeGreaterThanOrEqual(INTERVAL - 50);
    expect(reports.at(-1)!.elapsedMs).toBeLessThanOrEqual(outcome.elapsedMs + 50);
    // The one row comes at the end, after the last report.
    expect(reports.every(r => r.rowsRead === 0)).toBe(true);
    await sleep(QUIET);
    expect(reports).toHaveLength(atEnd);
  });

  it('reports nothing for a query faster than one interval', async () => {
    const db = runtime();
    const { reports, onProgress } = recorder();
    const outcome = await db.query('SELECT 42 AS answer', { onProgress });
    expect(outcome.rows).toEqual([[42]]);
    await sleep(QUIET);
    expect(reports).toEqual([]);
  });

  it('reports the rows a streaming query has delivered so far, growing as they arrive', async () => {
    const db = runtime();
    const { reports, onProgress } = recorder();
    const outcome = await db.query(rowsOverTime(2000, 1), { onProgress });
    expect(outcome.rowCount).toBe(2000);
    expect(outcome.rows.at(-1)).toEqual([2000, 1]);
    const atEnd = reports.length;
    expect(atEnd).toBeGreaterThanOrEqual(3);
    expectIncreasingTime(reports);
    const counts = reports.map(r => r.rowsRead);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    // Rows arrive as the server sends them (its 8 KB output buffer at a time): reports see them grow, never past the end.
    expect(new Set(counts.filter(n => n > 0 && n < 2000)).size).toBeGreaterThanOrEqual(2);
    expect(counts.at(-1)!).toBeLessThanOrEqual(2000);
    await sleep(QUIET);
    expect(reports).toHaveLength(atEnd);
  });

  it('reports while a table sample runs', async () => {
    const db = runtime();
    const { reports, onProgress } = recorder();
    const table = await db.resolveTable('slow_view');
    const outcome = await db.sample(table, 40, { onProgress });
    expect(outcome.rowCount).toBe(40);
    expect(reports.length).toBeGreaterThanOrEqual(1);
    const atEnd = reports.length;
    await sleep(QUIET);
    expect(reports).toHaveLength(atEnd);
  });

  it('stops reporting when the query times out', async () => {
    const db = runtime({ queryTimeoutMs: 1500 });
    const { reports, onProgress } = recorder();
    expect(await failure(db.query(busyFor(30), { onProgress }))).toBe('query_timeout');
    const atEnd = reports.length;
    expect(atEnd).toBeGreaterThanOrEqual(2);
    expectIncreasingTime(reports);
    await sleep(QUIET);
    expect(reports).toHaveLength(atEnd);
  });

  it('stops reporting when the caller cancels the query', async () => {
    const db = runtime();
    const { reports, onProgress } = recorder();
    const controller = new AbortController();
    const query = db.query(busyFor(30), { onProgress, signal: controller.signal });
    // Cancel once the query has reported, so the reports are known to have been running.
    const deadline = Date.now() + 10_000;
    while (reports.length < 2 && Date.now() < deadline) await sleep(50);
    controller.abort();
    expect(await failure(query)).toBe('query_cancelled');
    const atEnd = reports.length;
    expect(atEnd).toBeGreaterThanOrEqual(2);
    await sleep(QUIET);
    expect(reports).toHaveLength(atEnd);
  });

  it('stops reporting when the query fails', async () => {
    const db = runtime();
    const { reports, onProgress } = recorder();
    expect(await failure(db.query(failsAfter(1), { onProgress }))).toBe('query_failed');
    const atEnd = reports.length;
    expect(atEnd).toBeGreaterThanOrEqual(1);
    await sleep(QUIET);
    expect(reports).toHaveLength(atEnd);
  });

  it('keeps running a query whose listener throws, and stops calling that listener', async () => {
    const db = runtime();
    let calls = 0;
    const outcome = await db.query(busyFor(1.5), {
      onProgress: () => {
        calls++;
        throw new Error('listener bug');
      }
    });
    expect(outcome.rows).toEqual([[1]]);
    expect(calls).toBe(1);
  });

  it('refuses an interval that is not a positive number of milliseconds', () => {
    for (const progressIntervalMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(
        () =>
          new DatabaseRuntime({
            environment: 'progress',
            dialect: postgresDialect(LIMITS),
            readOnly: true,
            limits: LIMITS,
            progressIntervalMs
          })
      ).toThrow(RangeError);
    }
  });
});
