import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { plainMarkdownTable } from '../../src/mcp/rendering.ts';
import { POSTGRES, createPostgresDatabase, postgresDatabaseConfig } from '../dialects/engines/postgres.ts';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.ts';
import { TEST_LIMITS, testRuntime } from '../helpers/test-runtime.ts';

/**
 * Rows too wide for a PostgreSQL read, through sqlbridge's real driver and a real server: a value
 * longer than V8's longest string (which node-postgres would try to make one string of, from a
 * socket event, ending the process), and rows sent on after the character budget is spent (which
 * would be read and parsed, gigabytes of them, for nothing).
 */

const MIB = 1024 * 1024;

describe('PostgreSQL: rows too wide to read', () => {
  let drop: () => Promise<void>;
  let proxy: CountingProxy;
  let direct: DatabaseRuntime;
  let relayed: DatabaseRuntime;
  /** A read-write environment through the relay: its results come through a cursor. */
  let written: DatabaseRuntime;

  beforeAll(async () => {
    let name: string;
    ({ name, drop } = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY);'));
    proxy = await startCountingProxy(POSTGRES, 'unused');
    // The default limits.maxRowBytes (16 MiB), and the default 1000-row cap.
    direct = testRuntime(postgresDatabaseConfig(name, { poolMax: 1 }), { limits: { maxRows: 1000 } });
    relayed = testRuntime(postgresDatabaseConfig(name, { port: proxy.port, poolMax: 1 }), {
      limits: { maxRows: 1000 }
    });
    // The subject is the driver's write path: the statement reaches the engine as written.
    written = testRuntime(postgresDatabaseConfig(name, { port: proxy.port, poolMax: 1 }), {
      readOnly: false,
      statementGuard: false,
      limits: { maxRows: 1000 }
    });
  }, 60_000);

  afterAll(async () => {
    await direct.close();
    await relayed.close();
    await written.close();
    await proxy.close();
    await drop();
  });

  it('fails a call whose value is longer than the longest string Node can hold, and the process serves on', async () => {
    // 600,000,000 characters: past V8's limit of 2^29 − 24.
    const error = await direct.query("SELECT repeat('x', 600000000) AS v").then(
      () => undefined,
      (failure: unknown) => failure
    );
    expect(error).toBeInstanceOf(SqlbridgeError);
    expect((error as SqlbridgeError).code).toBe('row_too_large');
    expect((error as SqlbridgeError).message).toMatch(/takes 572\.2 MiB, more than the 16 MiB one row may take/);
    expect((await direct.query('SELECT 1 AS one')).rows).toEqual([[1]]);
  }, 60_000);

  it('stops reading rows once the character budget is spent: a gigabyte result costs sqlbridge about a megabyte', async () => {
    const before = proxy.relayedToClients();
    // 1,000 rows of 1,000,000 characters each (about 1 GB), none of which fits the 50,000-character budget.
    const result = await relayed.query("SELECT g AS i, repeat('x', 1000000) AS v FROM generate_series(1, 1000) AS g");
    expect(result).toMatchObject({ rowCount: 0, truncated: 'max_chars' });
    const received = proxy.relayedToClients() - before;
    // About 2 MiB on a quiet machine; what the relay has in flight when the connection closes grows with
    // the machine's load (15 MiB seen with both cores busy). Without the cut it is the whole gigabyte.
    expect(received).toBeLessThan(64 * MIB);
    // The connection closed to stop the rows is replaced; the next call is served.
    expect((await relayed.query('SELECT 1 AS one')).rows).toEqual([[1]]);
  }, 60_000);

  it('reads a change’s wide RETURNING rows a few at a time: 200 rows of a megabyte cost sqlbridge about ten', async () => {
    const before = proxy.relayedToClients();
    const result = await written.write(
      "INSERT INTO t SELECT g FROM generate_series(1, 200) AS g RETURNING id, repeat('x', 1000000) AS v"
    );
    expect(result).toMatchObject({ rowCount: 0, truncated: 'max_chars' });
    // The cursor's first batch is 10 rows: the 190 others are never sent, and the insert is whole.
    expect(proxy.relayedToClients() - before).toBeLessThan(16 * MIB);
    expect((await written.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([[200]]);
  }, 60_000);

  it('counts the narrow RETURNING rows of a change past the row cap', async () => {
    const result = await written.write('INSERT INTO t SELECT g FROM generate_series(1001, 3500) AS g RETURNING id');
    expect(result).toMatchObject({ rowCount: 1000, truncated: 'max_rows', rowsAffected: 2500 });
  }, 60_000);

  it('runs a write whose last statement is a SELECT to its end, whatever its rows cost', async () => {
    // 40 rows of a megabyte, each drawing a number: all 40 drawn, not the 10 of a first batch.
    await written.write('CREATE SEQUENCE draws');
    const result = await written.write(
      "SELECT nextval('draws') AS n, repeat('x', 1000000) AS v FROM generate_series(1, 40) AS g"
    );
    expect(result).toMatchObject({ rowCount: 0, truncated: 'max_chars' });
    expect((await written.query('SELECT last_value FROM draws')).rows).toEqual([[40]]);
    // A nested comment that hides an INSERT does not pass the SELECT for one.
    await written.write(
      "/* /* */ INSERT */ SELECT nextval('draws') AS n, repeat('x', 1000000) AS v FROM generate_series(1, 40) AS g"
    );
    expect((await written.query('SELECT last_value FROM draws')).rows).toEqual([[80]]);
  }, 60_000);

  it('reads a cut result of narrow rows to its end, keeping its connection', async () => {
    const session = async (): Promise<unknown> => (await relayed.query('SELECT pg_backend_pid()')).rows[0]?.[0];
    const before = await session();
    // Rows of about 200 characters: the budget is spent after some 250 of them, the rest (at most to the cap) read on.
    const result = await relayed.query("SELECT g AS i, repeat('x', 200) AS v FROM generate_series(1, 1000) AS g");
    expect(result.truncated).toBe('max_chars');
    expect(result.rowCount).toBeGreaterThan(200);
    expect(await session()).toBe(before);
  });

  it('weighs rows by what their text shows: characters escaped there (C1 controls, |) spend more of the budget', async () => {
    // chr(133) is NEL, shown as \u0085 in the text a client reads: 6 characters where JSON has 1.
    const result = await direct.query("SELECT repeat(chr(133) || '|', 400) AS s FROM generate_series(1, 100) AS g");
    expect(result.truncated).toBe('max_chars');
    const text = plainMarkdownTable(
      result.columns.map(column => column.name),
      result.rows
    );
    expect(JSON.stringify(result.rows).length).toBeLessThanOrEqual(TEST_LIMITS.maxResultChars);
    expect(text.length).toBeLessThanOrEqual(TEST_LIMITS.maxResultChars);
    expect(result.rowCount).toBeGreaterThan(0);
  });
});
