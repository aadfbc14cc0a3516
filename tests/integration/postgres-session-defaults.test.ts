import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { createPostgresDatabase, pgAdmin, postgresDatabaseConfig } from '../dialects/engines/postgres.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * Settings that decide how PostgreSQL writes values out, set by a database's (or a login's, or the
 * server's) defaults to what sqlbridge does not read: every session sqlbridge opens sets its own, so
 * values come back exact whatever the defaults say.
 */
describe('PostgreSQL: the output settings of a database with unusual defaults', () => {
  let drop: () => Promise<void>;
  let db: DatabaseRuntime;

  beforeAll(async () => {
    let name: string;
    ({ name, drop } = await createPostgresDatabase('SELECT 1'));
    await pgAdmin(name, async client => {
      // bytea in the escape format, floats with fewer digits (the default before PostgreSQL 12),
      // instants in another zone, dates day first, intervals in PostgreSQL's own style.
      for (const setting of [
        "bytea_output = 'escape'",
        'extra_float_digits = 0',
        "TimeZone = 'America/New_York'",
        "DateStyle = 'SQL, DMY'",
        "IntervalStyle = 'postgres_verbose'"
      ])
        await client.query(`ALTER DATABASE ${name} SET ${setting}`);
    });
    db = testRuntime(postgresDatabaseConfig(name, { poolMax: 1 }));
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await drop();
  });

  it('returns binary, floating-point numbers, instants and intervals exactly', async () => {
    const result = await db.query(
      `SELECT '\\x00ff10'::bytea AS b, 'hello'::bytea AS h, 0.1::float8 + 0.2::float8 AS sum, pi() AS pi,
              1.1::float4 AS real, timestamptz '2024-02-29 12:00:00+00' AS at, date '2024-02-29' AS d,
              interval '1 day 2 hours' AS span`
    );
    expect(result.rows[0]).toEqual([
      'AP8Q',
      'aGVsbG8=',
      0.30000000000000004,
      3.141592653589793,
      1.1,
      '2024-02-29T12:00:00+00:00',
      '2024-02-29',
      'P1DT2H'
    ]);
  });
});
