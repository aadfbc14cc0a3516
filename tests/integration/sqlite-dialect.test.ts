import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteDialect } from '../../src/db/dialects/sqlite/sqlite-dialect.ts';
import { SqliteDriver } from '../../src/db/dialects/sqlite/sqlite-driver.ts';
import { ResultCollector } from '../../src/db/result.ts';
import { DatabaseRuntime, type RuntimeLimits } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

const LIMITS: RuntimeLimits = {
  maxRows: 1000,
  maxResultChars: 50_000,
  queryTimeoutMs: 10_000,
  maxStatements: 1,
  binaryPreviewBytes: 48
};
const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';

function runtime(path: string, limits: Partial<RuntimeLimits> = {}, statementGuard = true): DatabaseRuntime {
  return new DatabaseRuntime({
    statementGuard,
    environment: 'fixture',
    dialect: new SqliteDialect({ path, readOnly: true, pool: { max: 2, idleTimeoutMs: 60_000 } }),
    readOnly: true,
    limits: { ...LIMITS, ...limits }
  });
}

async function failure(promise: Promise<unknown>): Promise<SqlbridgeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SqlbridgeError);
    return error as SqlbridgeError;
  }
  throw new Error('expected the call to fail');
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise(resolve => setTimeout(resolve, 25));
  }
  return condition();
}

describe('SQLite dialect', () => {
  let path: string;
  let db: DatabaseRuntime;

  beforeAll(async () => {
    path = createSqliteFixture();
    db = runtime(path);
    await db.init();
  });

  afterAll(async () => {
    await db.close();
  });

  describe('introspection', () => {
    it('lists tables and views, with names as they are', async () => {
      const tables = await db.listTables();
      expect(tables.map(t => `${t.schema}.${t.name}:${t.type}`)).toEqual([
        'main.Line Summary:view',
        'main.MixedCase:table',
        'main.Order Lines:table',
        'main.Shipments:table',
        'main.canary:table',
        'main.typed:table',
        'main.we"ird:table'
      ]);
      expect(tables.find(t => t.name === 'Order Lines')?.rowEstimate).toBe(3);
      expect(tables.find(t => t.name === 'Line Summary')?.rowEstimate).toBeNull();
    });

    it('describes a composite primary key with column details', async () => {
      const lines = await db.describeTable('"Order Lines"');
      expect(lines.primaryKey).toEqual({ name: null, columns: ['Order ID', 'Line No'] });
      expect(lines.columns).toEqual([
        {
          name: 'Order ID',
          dataType: 'INTEGER',
          maxLength: null,
          precision: null,
          scale: null,
          nullable: false,
          default: null
        },
        {
          name: 'Line No',
          dataType: 'INTEGER',
          maxLength: null,
          precision: null,
          scale: null,
          nullable: false,
          default: null
        },
        {
          name: 'SKU',
          dataType: 'VARCHAR(20)',
          maxLength: 20,
          precision: null,
          scale: null,
          nullable: false,
          default: null
        },
        {
          name: 'Qty',
          dataType: 'INTEGER',
          maxLength: null,
          precision: null,
          scale: null,
          nullable: false,
          default: '1'
        }
      ]);
      expect(lines.indexes).toEqual([
        { name: 'sqlite_autoindex_Order Lines_1', columns: ['Order ID', 'Line No'], unique: true, primary: true }
      ]);
    });

    it('describes a multi-column foreign key and its index', async () => {
      const shipments = await db.describeTable('shipments');
      expect(shipments.foreignKeys).toEqual([
        {
          name: null,
          columns: ['order_id', 'line_no'],
          referencedSchema: 'main',
          referencedTable: 'Order Lines',
          referencedColumns: ['Order ID', 'Line No'],
          onUpdate: 'NO ACTION',
          onDelete: 'CASCADE'
        }
      ]);
      expect(shipments.indexes).toContainEqual({
        name: 'ix shipments by line',
        columns: ['order_id', 'line_no'],
        unique: false,
        primary: false
      });
      expect(shipments.columns.find(c => c.name === 'shipment_id')?.nullable).toBe(false);
      expect(shipments.columns.find(c => c.name === 'shipped_on')).toMatchObject({ dataType: 'DATE', nullable: true });
    });

    it('reads precision and scale of decimals', async () => {
      const typed = await db.describeTable('typed');
      expect(typed.columns.find(c => c.name === 'price')).toMatchObject({
        dataType: 'DECIMAL(18,4)',
        precision: 18,
        scale: 4
      });
      expect(typed.columns.find(c => c.name === 'amount')).toMatchObject({
        precision: 12,
        scale: 2,
        default: '0',
        nullable: false
      });
    });

    it.each([
      ['order lines', 'Order Lines'],
      ['main."Order Lines"', 'Order Lines'],
      ['[Order Lines]', 'Order Lines'],
      ['"we""ird"', 'we"ird'],
      ['MAIN.mixedcase', 'MixedCase'],
      ['`Line Summary`', 'Line Summary']
    ])('resolves %s', async (input, name) => {
      expect((await db.describeTable(input)).name).toBe(name);
    });
  });

  describe('sampling and values', () => {
    it('samples a table whose name needs quoting', async () => {
      const sample = await db.sample(await db.resolveTable('we"ird'), 10);
      expect(sample.columns.map(c => c.name)).toEqual(['id', 'col"umn']);
      expect(sample.rows).toEqual([[1, 'quote "inside"']]);
      const lines = await db.sample(await db.resolveTable('Order Lines'), 2);
      expect(lines.rowCount).toBe(2);
    });

    it('returns every type exactly', async () => {
      const result = await db.query('SELECT * FROM typed ORDER BY id');
      expect(result.columns.map(c => c.type)).toEqual([
        'INTEGER',
        'DECIMAL(18,4)',
        'NUMERIC(12,2)',
        'BIGINT',
        'REAL',
        'BOOLEAN',
        'BLOB',
        'TIMESTAMP',
        'DATE',
        'CHAR(36)',
        'TEXT'
      ]);
      expect(result.rows[0]).toEqual([
        1,
        '1234567890.1234',
        '19.99',
        '9223372036854775807',
        0.1,
        true,
        'AP8Q',
        '2024-12-31 23:59:59',
        '2024-02-29',
        '6f1e7a7c-0d1b-4c5a-9a3e-2b8e4f0c1d2a',
        'line one\nline two | with a pipe'
      ]);
      const preview = Buffer.alloc(48).toString('base64');
      expect(result.rows[1]).toEqual([
        2,
        '0.0001',
        '20.00',
        '-9007199254740993',
        -1.5e300,
        false,
        `${preview}… (4096 bytes, shortened)`,
        null,
        null,
        null,
        null
      ]);
      expect(result.rows[2]).toEqual([3, null, '0.10', 42, null, null, null, null, null, null, '']);
    });
  });

  describe('limits', () => {
    it('stops reading at the row cap of a 100,000-row query', async () => {
      const result = await db.query(
        'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT i FROM n'
      );
      expect(result.rowCount).toBe(1000);
      expect(result.truncated).toBe('max_rows');
      expect(result.rowsRead).toBe(1001);
    });

    it('stops reading at the character budget', async () => {
      const small = runtime(path, { maxResultChars: 10_000 });
      try {
        const result = await small.query(
          'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) SELECT i, hex(zeroblob(500)) FROM n'
        );
        expect(result.truncated).toBe('max_chars');
        expect(result.rowCount).toBe(9);
        expect(JSON.stringify(result.rows).length).toBeLessThanOrEqual(10_000);
        expect(result.rowsRead).toBeLessThan(300);
      } finally {
        await small.close();
      }
    });

    it('cancels a runaway query at the timeout, and the next query works', async () => {
      // The next query waits for the process that replaces the cancelled one, within its own time
      // limit: a second leaves room for that start on a machine busy with other suites.
      const quick = runtime(path, { queryTimeoutMs: 1000 });
      try {
        const started = Date.now();
        const error = await failure(quick.query(RUNAWAY));
        expect(error.code).toBe('query_timeout');
        expect(error.message).toBe('the query ran longer than 1000 ms and was cancelled on the database');
        expect(Date.now() - started).toBeLessThan(3000);
        expect((await quick.query('SELECT 1')).rows).toEqual([[1]]);
      } finally {
        await quick.close();
      }
    });

    it('cancels when the caller aborts', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const error = await failure(db.query(RUNAWAY, { signal: controller.signal }));
      expect(error.code).toBe('query_cancelled');
    });

    /** A driver of one worker process, destroyed after `use`. */
    async function withOneProcess(use: (driver: SqliteDriver) => Promise<void>): Promise<void> {
      const driver = new SqliteDriver({ path, readOnly: true, pool: { max: 1, idleTimeoutMs: 60_000 } });
      await driver.init();
      try {
        await use(driver);
      } finally {
        await driver.destroy();
      }
    }

    /** Runs the runaway statement and cancels it as a client going away does, once it is running. */
    async function cancelRunaway(driver: SqliteDriver): Promise<void> {
      const controller = new AbortController();
      const running = driver.stream(
        { sql: RUNAWAY, readOnly: true },
        new ResultCollector({ maxRows: 10, maxChars: 1000 }, v => v as number),
        controller.signal
      );
      await new Promise(resolve => setTimeout(resolve, 150));
      controller.abort(new Error('client went away'));
      await expect(running).rejects.toThrow('client went away');
    }

    it('ends the worker process that ran a cancelled statement', async () => {
      await withOneProcess(async driver => {
        const [pid] = driver.processIds();
        expect(pid).toBeDefined();
        await cancelRunaway(driver);
        expect(await waitUntil(() => !isRunning(pid ?? 0), 2000)).toBe(true);
        expect(driver.processIds()).not.toContain(pid);
      });
    });

    it('starts a process in place of the last one, killed to cancel, before the next statement asks', async () => {
      await withOneProcess(async driver => {
        const [killed] = driver.processIds();
        await cancelRunaway(driver);
        // No statement has asked yet: the replacement is started and opened, and waits idle.
        expect(await waitUntil(() => driver.poolStats().idle === 1, 5000)).toBe(true);
        const [replacement] = driver.processIds();
        expect(replacement).toBeDefined();
        expect(replacement).not.toBe(killed);
        const rows = new ResultCollector({ maxRows: 10, maxChars: 1000 }, v => Number(v));
        await driver.stream({ sql: 'SELECT 1', readOnly: true }, rows, new AbortController().signal);
        expect(rows.result().rows).toEqual([[1]]);
        expect(driver.processIds()).toEqual([replacement]);
      });
    });
  });

  describe('read-only connection, with the statement guard off (the engine alone)', () => {
    const fileHash = (): string => createHash('sha256').update(readFileSync(path)).digest('hex');
    let engineOnly: DatabaseRuntime;

    beforeAll(() => {
      engineOnly = runtime(path, {}, false);
    });

    afterAll(async () => {
      await engineOnly.close();
    });

    it.each([
      [
        "INSERT INTO canary VALUES (2, 'x')",
        /^this environment is read-only; SQLite refused the statement \(not authorized\)$/
      ],
      ["UPDATE canary SET value = 'changed'", /not authorized/],
      ['DELETE FROM canary', /not authorized/],
      ['DROP TABLE canary', /not authorized/],
      ['CREATE TABLE t2 (a)', /not authorized/],
      ['CREATE TEMP TABLE t3 (a)', /not authorized/],
      ["ATTACH DATABASE '/tmp/elsewhere.sqlite' AS other", /not authorized/],
      ['PRAGMA query_only = OFF', /not authorized/],
      ['PRAGMA user_version = 7', /not authorized/],
      ['PRAGMA writable_schema = ON', /not authorized/],
      ["SELECT load_extension('/tmp/evil.so')", /not authorized/],
      ['BEGIN IMMEDIATE', /not authorized/],
      ['VACUUM', /read-only; SQLite refused the statement/],
      ['REINDEX', /not authorized/],
      ['ANALYZE', /not authorized/]
    ])('refuses %s and leaves the file unchanged', async (sql, message) => {
      const before = fileHash();
      const error = await failure(engineOnly.query(sql));
      expect(error.code).toBe('query_failed');
      expect(error.message).toMatch(message);
      expect(fileHash()).toBe(before);
      // With the guard on, the statement never reaches SQLite.
      expect((await failure(db.query(sql))).code).toBe('statement_rejected');
    });

    it('allows the catalog PRAGMAs that only read', async () => {
      const result = await db.query("SELECT name FROM pragma_table_info('canary')");
      expect(result.rows).toEqual([['id'], ['value']]);
    });

    it('passes the database’s own message for a bad statement', async () => {
      const error = await failure(db.query('SELECT * FROM no_such_table'));
      expect(error).toMatchObject({ code: 'query_failed', message: 'no such table: no_such_table', expose: true });
    });
  });

  describe('connection failures', () => {
    it('reports a missing file without creating it, path only in the operator detail', async () => {
      const missing = join(emptyDir('missing-'), 'nope.sqlite');
      const error = await failure(runtime(missing).init());
      expect(error).toMatchObject({
        code: 'connection_failed',
        message: 'the SQLite database file does not exist',
        detail: missing
      });
      expect(() => readFileSync(missing)).toThrow();
    });

    it('reports a file that is not a database', async () => {
      const bogus = join(emptyDir('bogus-'), 'bogus.sqlite');
      writeFileSync(bogus, 'this is not a database file, just text that is long enough to have a header'.repeat(20));
      const error = await failure(runtime(bogus).init());
      expect(error).toMatchObject({ code: 'connection_failed', message: 'the file is not a SQLite database' });
    });
  });
});
