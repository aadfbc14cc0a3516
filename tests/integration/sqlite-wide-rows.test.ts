import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteDriver } from '../../src/db/dialects/sqlite/sqlite-driver.ts';
import { DEFAULT_MAX_ROW_BYTES } from '../../src/db/row-size.ts';
import { ResultCollector } from '../../src/db/result.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * Values longer than a row may be (limits.maxRowBytes): the worker's SQLite refuses to make a string
 * or blob that long, in the result or on the way to it, so such a statement fails at once as a row
 * too large, and the worker never holds the gigabytes SQLite's own limit (1 GB a value) would allow.
 */
describe('SQLite: values longer than a row may be', () => {
  let driver: SqliteDriver;

  beforeAll(async () => {
    driver = new SqliteDriver({
      path: createSqliteFixture(),
      readOnly: true,
      pool: { max: 1, idleTimeoutMs: 60_000 },
      maxRowBytes: DEFAULT_MAX_ROW_BYTES
    });
    await driver.init();
  });

  afterAll(async () => {
    await driver.destroy();
  });

  const run = async (sql: string, maxChars = 100_000): Promise<unknown> => {
    const sink = new ResultCollector({ maxRows: 10, maxChars }, value => value as string);
    return driver.stream({ sql, readOnly: true }, sink, AbortSignal.timeout(60_000)).then(
      () => sink.result().rows,
      (failure: unknown) => failure
    );
  };

  /** The peak resident set of the worker process, in bytes (VmHWM). */
  const workerPeak = (): number => {
    const [pid] = driver.processIds();
    const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
  };

  it('fails a statement making a value longer than the limit as a row too large, and the next one runs', async () => {
    for (const sql of [
      "SELECT printf('%.*c', 600000000, 'x') AS v",
      'SELECT randomblob(999000000) AS a, randomblob(999000000) AS b, randomblob(999000000) AS c',
      // Not even in the result: a value made on the way is bounded too.
      'SELECT length(randomblob(900000000)) AS n'
    ]) {
      const error = await run(sql);
      expect(error, sql).toBeInstanceOf(SqlbridgeError);
      expect((error as SqlbridgeError).code).toBe('row_too_large');
      expect((error as SqlbridgeError).message).toMatch(
        /longer than the 16 MiB one row may take \(limits\.maxRowBytes\)/
      );
    }
    // Three values of a gigabyte each were asked for: the worker never held one.
    expect(workerPeak()).toBeLessThan(256 * 1024 * 1024);
    expect(await run('SELECT length(randomblob(1000000)) AS n')).toEqual([[1000000]]);
  }, 60_000);
  it('bounds a wide row on its way to being weighed: many long values share what one row may take', async () => {
    const columns = (count: number, bytes: number): string =>
      Array.from({ length: count }, (_, i) => `hex(zeroblob(${String(bytes / 2)})) AS c${String(i)}`).join(', ');
    // Twenty values of 16 MiB each (320 MiB a row), each within the limit one value had before.
    const error = await run(`SELECT ${columns(20, 16_000_000)}`);
    expect(error).toBeInstanceOf(SqlbridgeError);
    expect((error as SqlbridgeError).code).toBe('row_too_large');
    expect((error as SqlbridgeError).message).toContain(
      'longer than the 3,276 KiB each value of a result this wide may take (its share of the 16 MiB one row may take, limits.maxRowBytes)'
    );
    expect(workerPeak()).toBeLessThan(256 * 1024 * 1024);
    // Twenty values of half a megabyte: 10 MB, within the row's 16 MiB, read whole.
    const rows = (await run(`SELECT ${columns(20, 500_000)}`, 20_000_000)) as string[][];
    expect(rows[0]?.map(value => value.length)).toEqual(Array.from({ length: 20 }, () => 500_000));
  }, 60_000);
});
