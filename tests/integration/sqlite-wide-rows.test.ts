import { afterAll, describe, expect, it } from 'vitest';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * A SQLite value longer than V8's longest string: node:sqlite gives back no row at all for it (its
 * iterator answers `undefined`), which the worker takes for what it is, a row too large to read.
 */
describe('SQLite: a value too long to read', () => {
  const db = testRuntime({
    engine: 'sqlite',
    path: createSqliteFixture(),
    attach: {},
    pool: { max: 1, idleTimeoutMs: 60_000 }
  });

  afterAll(async () => {
    await db.close();
  });

  it('fails the call as a row too large, and the next call is served', async () => {
    // 600,000,000 characters: past V8's limit of 2^29 − 24.
    const error = await db.query("SELECT printf('%.*c', 600000000, 'x') AS v").then(
      () => undefined,
      (failure: unknown) => failure
    );
    expect(error).toBeInstanceOf(SqlbridgeError);
    expect((error as SqlbridgeError).code).toBe('row_too_large');
    expect((error as SqlbridgeError).message).toMatch(/takes at least 512\.0 MiB, more than the 16 MiB/);
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([[1]]);
  }, 60_000);
});
