import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig, EnvironmentConfig } from '../../src/config/schema.ts';
import { createDialect } from '../../src/db/registry.ts';
import type { Driver, QuerySpec, RowSink } from '../../src/db/driver.ts';
import { DatabaseRuntime, type Caller, type IdentityMapping, type RuntimeLimits } from '../../src/db/runtime.ts';
import { toResultSet } from '../../src/mcp/result-schema.ts';
import { ConnectionError } from '../../src/errors/connection-error.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { randomId, type EngineFixture } from './engine.ts';
import { ENGINES } from './engines.ts';
import { MSSQL_URL, mssqlEngine } from './engines/mssql.ts';

/**
 * One suite, the same assertions for every engine: introspection, name resolution across schemas,
 * sampling, exact values, caps, timeouts and cancellation (checked on the server), the caller's identity in the session,
 * read-only transactions and the classification of connection failures.
 */

const LIMITS: RuntimeLimits = {
  maxRows: 1000,
  maxResultChars: 50_000,
  queryTimeoutMs: 20_000,
  maxStatements: 1,
  binaryPreviewBytes: 48
};
const logger = createLogger('silent');

function runtime(
  database: DatabaseConfig,
  limits: Partial<RuntimeLimits & { maxRowBytes: number }> = {},
  statementGuard = true,
  identity?: IdentityMapping
): DatabaseRuntime {
  const environment: Pick<EnvironmentConfig, 'database' | 'limits' | 'readOnly' | 'requireLeastPrivilege'> = {
    readOnly: true,
    requireLeastPrivilege: false,
    database,
    limits: { maxSampleRows: 100, maxRowBytes: 16_777_216, ...LIMITS, ...limits }
  };
  return new DatabaseRuntime({
    environment: 'suite',
    dialect: createDialect(environment, { environment: 'suite', dataDir: emptyDir(), logger }),
    readOnly: true,
    limits: { ...LIMITS, ...limits },
    statementGuard,
    ...(identity === undefined ? {} : { identity })
  });
}

/** The same database with a pool of one connection: consecutive calls share one session. */
function oneConnection(database: DatabaseConfig): DatabaseConfig {
  return { ...database, pool: { max: 1, idleTimeoutMs: 60_000 } };
}

/** The session keys the identity tests set, where each comes from, and the caller who has them. */
const IDENTITY: IdentityMapping = { subject: 'sub', client_id: 'client_id', department: 'attributes.department' };
const IDENTITY_KEYS = Object.keys(IDENTITY);
const CALLER: Caller = {
  identity: { subject: 'user-123', clientId: 'client-abc', attributes: { department: '7' } }
};

/** Every row of a statement, straight from a driver (no runtime in between), as arrays. */
async function driverRows(driver: Driver, spec: QuerySpec): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  const sink: RowSink = {
    columns: () => undefined,
    row: values => {
      rows.push([...values]);
      return true;
    }
  };
  await driver.stream(spec, sink, AbortSignal.timeout(20_000));
  return rows;
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

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

for (const engine of ENGINES) {
  describe(`dialect: ${engine.engine}`, () => {
    let fixture: EngineFixture;
    let db: DatabaseRuntime;
    let blackhole: Server;
    const sockets = new Set<Socket>();
    /** What beforeAll made, so that afterAll undoes only that, whichever step failed. */
    const made: { fixture?: EngineFixture; db?: DatabaseRuntime; blackhole?: Server } = {};

    beforeAll(async () => {
      fixture = made.fixture = await engine.create();
      db = made.db = runtime(fixture.database);
      await db.init();
      // A server that accepts connections and never says a word: connecting to it must time out.
      blackhole = made.blackhole = createServer(socket => sockets.add(socket));
      await new Promise<void>(resolve => blackhole.listen(0, '127.0.0.1', resolve));
    }, 120_000);

    /** The statement is gone from the server within 2 seconds. */
    async function expectStopped(marker: string): Promise<void> {
      const count = engine.running;
      if (count === undefined) return;
      expect(await eventually(async () => (await count(fixture, marker)) === 0, 2000)).toBe(true);
    }

    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      made.blackhole?.close();
      try {
        await made.db?.close();
      } finally {
        // The database is dropped even when set-up failed half-way (vitest reports that failure itself).
        await made.fixture?.drop();
      }
    }, 60_000);

    it('names the server it is connected to', () => {
      expect(db.displayName).toMatch(/^(SQLite|PostgreSQL|MySQL|MariaDB|Microsoft SQL Server|Azure SQL \w+) \d+\.\d+/);
    });

    it('lists tables and views of both schemas, with a same-named table in each', async () => {
      const tables = await db.listTables();
      const names = tables.map(t => `${t.schema}.${t.name}:${t.type}`);
      for (const expected of [
        `${fixture.mainSchema}.customers:table`,
        `${fixture.otherSchema}.customers:table`,
        `${fixture.mainSchema}.order_lines:table`,
        `${fixture.mainSchema}.shipments:table`,
        `${fixture.mainSchema}.Odd "Name" Table:table`,
        `${fixture.mainSchema}.customer_names:view`
      ]) {
        expect(names).toContain(expected);
      }
      const customers = tables.find(t => t.schema === fixture.mainSchema && t.name === 'customers');
      expect(customers?.rowEstimate === null || customers?.rowEstimate === 3).toBe(true);
    });

    it('resolves a bare name to the default schema and a qualified one to its schema', async () => {
      expect(await db.resolveTable('customers')).toMatchObject({ schema: fixture.mainSchema, name: 'customers' });
      expect(await db.resolveTable(`${fixture.otherSchema}.customers`)).toMatchObject({
        schema: fixture.otherSchema,
        name: 'customers'
      });
      const other = await db.describeTable(`${fixture.otherSchema}.customers`);
      expect(other.columns.map(c => c.name)).toEqual(['id', 'name', 'region']);
    });

    it('describes a composite primary key', async () => {
      const lines = await db.describeTable('order_lines');
      expect(lines.primaryKey?.columns).toEqual(['order_id', 'line_no']);
      const sku = lines.columns.find(c => c.name === 'sku');
      expect(sku).toMatchObject({ maxLength: 20, nullable: false });
      expect(sku?.dataType).toMatch(/^(varchar|character varying|VARCHAR)\(20\)$/i);
      expect(lines.columns.find(c => c.name === 'qty')?.default).toMatch(/1/);
    });

    it('describes a multi-column foreign key with the columns it references', async () => {
      const shipments = await db.describeTable('shipments');
      expect(shipments.foreignKeys).toHaveLength(1);
      expect(shipments.foreignKeys[0]).toMatchObject({
        columns: ['order_id', 'line_no'],
        referencedSchema: fixture.mainSchema,
        referencedTable: 'order_lines',
        referencedColumns: ['order_id', 'line_no'],
        onDelete: 'CASCADE'
      });
      expect(shipments.indexes.find(i => i.name === 'ix_shipments_line')?.columns).toEqual(['order_id', 'line_no']);
      expect(shipments.columns.find(c => c.name === 'shipped_on')?.nullable).toBe(true);
    });

    it('samples a table whose name has spaces, quotes and mixed case', async () => {
      const table = await db.resolveTable('Odd "Name" Table');
      const sample = await db.sample(table, 2);
      expect(sample.columns.map(c => c.name)).toEqual(['id', 'Mixed Case']);
      expect(sample.rowCount).toBe(2);
    });

    it('returns every type of the mapping exactly', async () => {
      const result = await db.query(`SELECT * FROM typed WHERE id = 1`);
      const row = result.rows[0] ?? [];
      const byName = new Map(result.columns.map((column, i) => [column.name, row[i]]));
      const types = new Map(result.columns.map(column => [column.name, column.type]));
      for (const { column, expected, type } of engine.typed) {
        expect(byName.get(column), column).toStrictEqual(expected);
        if (type !== undefined) expect(types.get(column), `the type of ${column}`).toBe(type);
      }
    });

    it('stops reading at the row cap of a 100,000-row result, and says how to page in this SQL', async () => {
      const result = await db.query(engine.series(100_000));
      expect(result).toMatchObject({ rowCount: 1000, truncated: 'max_rows', rowsRead: 1001 });
      expect(result.rows.at(-1)).toEqual([1000]);
      const { paging } = createDialect(
        { readOnly: true, database: fixture.database, limits: { maxSampleRows: 100, ...LIMITS } },
        { environment: 'suite', dataDir: emptyDir(), logger }
      );
      const note = toResultSet(result, LIMITS, paging).note ?? '';
      expect(note).toContain('1000-row limit');
      if (engine.engine === 'mssql') expect(note).toMatch(/OFFSET .*FETCH NEXT .*ROWS ONLY.*TOP/);
      else expect(note).toContain('LIMIT/OFFSET');
      if (engine.engine === 'mssql') expect(note).not.toContain('LIMIT');
    });

    it('stops at the character budget', async () => {
      const small = runtime(fixture.database, { maxResultChars: 2000 });
      try {
        const result = await small.query(engine.series(5000));
        expect(result.truncated).toBe('max_chars');
        expect(JSON.stringify(result.rows).length).toBeLessThanOrEqual(2000);
      } finally {
        await small.close();
      }
    });

    it('fails a call whose row is larger than limits.maxRowBytes, saying so, and keeps working', async () => {
      const narrow = runtime(fixture.database, { maxRowBytes: 1024 * 1024, maxResultChars: 1_000_000 });
      try {
        const error = await failure(narrow.query(engine.longText(1, 2 * 1024 * 1024)));
        expect(error.code).toBe('row_too_large');
        expect(error.expose).toBe(true);
        expect(error.message).toContain('limits.maxRowBytes');
        expect(error.message).toContain('1 MiB');
        // A row within the limit is read, and the session goes on serving.
        const within = await narrow.query(engine.longText(2, 512 * 1024));
        expect(within.rows[0]?.[0]).toBe(2);
        expect(String(within.rows[0]?.[1])).toHaveLength(512 * 1024);
        expect(within.truncated).toBeNull();
        expect((await narrow.query('SELECT 1 AS one')).rows).toEqual([[1]]);
      } finally {
        await narrow.close();
      }
    });

    it('cancels a query on the database at the timeout, and keeps working', async () => {
      const quick = runtime(fixture.database, { queryTimeoutMs: 1000 });
      const marker = `sqlbridge-timeout-${randomId()}`;
      try {
        const started = Date.now();
        const error = await failure(quick.query(engine.sleep(marker)));
        expect(error.code).toBe('query_timeout');
        await expectStopped(marker);
        // Gone from the server within 2 s of the 1 s timeout.
        expect(Date.now() - started).toBeLessThan(3000);
        expect((await quick.query('SELECT 1 AS one')).rows).toEqual([[1]]);
      } finally {
        await quick.close();
      }
    });

    it('cancels a query on the database when the caller goes away', async () => {
      const marker = `sqlbridge-cancel-${randomId()}`;
      const controller = new AbortController();
      const running = db.query(engine.sleep(marker), { signal: controller.signal });
      // Settled however the check below ends, so that a failed check leaves no query to reject later.
      const settled = running.then(
        () => undefined,
        (error: unknown) => error
      );
      try {
        const count = engine.running;
        if (count === undefined) await new Promise(resolve => setTimeout(resolve, 300));
        else expect(await eventually(async () => (await count(fixture, marker)) > 0, 3000)).toBe(true);
        const cancelledAt = Date.now();
        controller.abort();
        const error = await settled;
        expect(error).toBeInstanceOf(SqlbridgeError);
        expect((error as SqlbridgeError).code).toBe('query_cancelled');
        await expectStopped(marker);
        expect(Date.now() - cancelledAt).toBeLessThan(2000);
      } finally {
        controller.abort();
        await settled;
      }
    });

    it('sets the caller’s identity into the session, and the next caller on the connection sees none of it', async () => {
      const identified = runtime(oneConnection(fixture.database), {}, true, IDENTITY);
      try {
        const sql = engine.identitySql(IDENTITY_KEYS);
        const first = await identified.query(sql, { caller: CALLER });
        expect(first.columns.map(c => c.name)).toEqual(IDENTITY_KEYS);
        expect(first.rows).toEqual([['user-123', 'client-abc', '7']]);
        // A caller without a sign-in, on the same (only) connection: every key unknown.
        const second = await identified.query(sql);
        expect(second.rows).toHaveLength(1);
        for (const value of second.rows[0] ?? []) expect(value).toBeOneOf([null, '']);
        // A caller with only some of the values: the rest are unknown, not the first caller's.
        const partial = await identified.query(sql, { caller: { identity: { subject: 'user-456', clientId: null } } });
        expect(partial.rows[0]?.[0]).toBe('user-456');
        for (const value of partial.rows[0]?.slice(1) ?? []) expect(value).toBeOneOf([null, '']);
      } finally {
        await identified.close();
      }
    });

    it('leaves no identity on a connection for a query that sets none (catalog reads, no identity setting)', async () => {
      const driver = createDialect(
        { readOnly: true, database: oneConnection(fixture.database), limits: { maxSampleRows: 100, ...LIMITS } },
        { environment: 'suite', dataDir: emptyDir(), logger }
      ).createDriver();
      try {
        await driver.init();
        const sql = engine.identitySql(IDENTITY_KEYS);
        const session = { subject: 'user-123', client_id: 'client-abc', department: '7' };
        expect(await driverRows(driver, { sql, readOnly: true, session })).toEqual([['user-123', 'client-abc', '7']]);
        const after = await driverRows(driver, { sql, readOnly: true });
        expect(after).toHaveLength(1);
        for (const value of after[0] ?? []) expect(value).toBeOneOf([null, '']);
      } finally {
        await driver.destroy();
      }
    });

    it('refuses writes with the statement guard', async () => {
      for (const sql of [
        "INSERT INTO canary (id, value) VALUES (2, 'written')",
        "UPDATE canary SET value = 'changed'"
      ]) {
        expect((await failure(db.query(sql))).code).toBe('statement_rejected');
      }
    });

    it('keeps the data unchanged by the engine alone, with the statement guard off', async () => {
      const engineOnly = runtime(fixture.database, {}, false);
      try {
        const writes = [
          "INSERT INTO canary (id, value) VALUES (2, 'written')",
          "UPDATE canary SET value = 'changed'",
          'DELETE FROM canary',
          ...engine.ddlAsReads
        ];
        for (const sql of writes) {
          const outcome = await engineOnly.query(sql).then(
            () => 'ran',
            (error: unknown) => (error instanceof SqlbridgeError ? error.code : String(error))
          );
          expect(outcome, sql).toBe(engine.writesAsReads === 'refused' ? 'query_failed' : 'ran');
        }
        const rows = await db.query('SELECT id, value FROM canary ORDER BY id');
        expect(rows.rows).toEqual([[1, 'untouched']]);
        expect((await failure(db.query('SELECT * FROM sneaky'))).code).toBe('query_failed');
      } finally {
        await engineOnly.close();
      }
    });

    it("passes on the database's own message for a bad statement", async () => {
      const error = await failure(db.query('SELECT * FROM no_such_table_anywhere'));
      expect(error.code).toBe('query_failed');
      expect(error.expose).toBe(true);
      expect(error.message).toMatch(/no_such_table_anywhere/);
    });

    it('classifies connection failures, with the host only in the operator detail', async () => {
      const address = blackhole.address();
      const target = { host: '127.0.0.1', port: typeof address === 'object' && address !== null ? address.port : 0 };
      for (const { name, database, problem } of engine.connectionFailures(fixture, target)) {
        const broken = runtime(database);
        try {
          const error = await failure(broken.init());
          if (!(error instanceof ConnectionError))
            throw new Error(`${name}: expected a ConnectionError, got ${error.code}: ${error.message}`);
          expect(error.problem, `${name}: ${error.message} (${error.detail ?? ''})`).toBe(problem);
          expect(error.message, name).not.toMatch(/127\.0\.0\.1|localhost|password/i);
          expect(error.hint, name).toBeTruthy();
        } finally {
          await broken.close();
        }
      }
    }, 60_000);
  });
}

// SQL Server cannot run on this project's machines; these run wherever SQLBRIDGE_TEST_MSSQL_URL names one.
describe.skipIf(MSSQL_URL === undefined)('SQL Server session context (needs SQLBRIDGE_TEST_MSSQL_URL)', () => {
  let fixture: EngineFixture;
  let created: EngineFixture | undefined;

  beforeAll(async () => {
    fixture = created = await mssqlEngine.create();
  }, 120_000);

  afterAll(async () => {
    await created?.drop();
  }, 60_000);

  it('sets the keys read-only: a statement that sets one again fails, and the value holds', async () => {
    // With the statement guard off, so that the statement reaches the server.
    const engineOnly = runtime(oneConnection(fixture.database), {}, false, IDENTITY);
    try {
      const error = await failure(
        engineOnly.query("EXEC sys.sp_set_session_context @key = N'department', @value = N'9'", { caller: CALLER })
      );
      expect(error.code).toBe('query_failed');
      expect(error.message).toMatch(/read.?only/i);
      const read = await engineOnly.query(mssqlEngine.identitySql(['department']), { caller: CALLER });
      expect(read.rows).toEqual([['7']]);
    } finally {
      await engineOnly.close();
    }
  });

  it('resets the connection before the next caller: no key survives, and the keys can be set again', async () => {
    const identified = runtime(oneConnection(fixture.database), {}, true, IDENTITY);
    try {
      const sql = mssqlEngine.identitySql(IDENTITY_KEYS);
      const spid = 'SELECT @@SPID AS spid';
      const before = await identified.query(spid);
      expect((await identified.query(sql, { caller: CALLER })).rows).toEqual([['user-123', 'client-abc', '7']]);
      const other: Caller = {
        identity: { subject: 'user-456', clientId: 'client-def', attributes: { department: '9' } }
      };
      expect((await identified.query(sql, { caller: other })).rows).toEqual([['user-456', 'client-def', '9']]);
      expect((await identified.query(sql)).rows).toEqual([[null, null, null]]);
      // The same server session all along: the values went with the reset, not with a new connection.
      expect((await identified.query(spid)).rows).toEqual(before.rows);
    } finally {
      await identified.close();
    }
  });
});

describe('SQLite: a view filtering on sqlbridge_identity()', () => {
  it('shows each caller their department’s rows through a read-only connection, and a caller without one none', async () => {
    const path = join(emptyDir('dialect-sqlite-view-'), 'rls.sqlite');
    const file = new DatabaseSync(path);
    file.exec(`
      CREATE TABLE expenses (id INTEGER PRIMARY KEY, department_id INTEGER NOT NULL, item TEXT NOT NULL);
      INSERT INTO expenses VALUES (1, 7, 'chairs'), (2, 9, 'laptops'), (3, 7, 'desks');
      CREATE VIEW my_expenses AS SELECT id, item FROM expenses
        WHERE department_id = CAST(sqlbridge_identity('department') AS INTEGER);
    `);
    const all = file.prepare('SELECT id, department_id, item FROM expenses ORDER BY id').all();
    file.close();
    const db = runtime(
      { engine: 'sqlite', path, attach: {}, pool: { max: 1, idleTimeoutMs: 60_000 } },
      {},
      true,
      IDENTITY
    );
    const inDepartment = (department: number): unknown[][] =>
      all.filter(row => row['department_id'] === department).map(row => [row['id'], row['item']]);
    try {
      const sql = 'SELECT id, item FROM my_expenses ORDER BY id';
      expect((await db.query(sql, { caller: CALLER })).rows).toEqual(inDepartment(7));
      const ben: Caller = { identity: { subject: 'ben', clientId: null, attributes: { department: '9' } } };
      expect((await db.query(sql, { caller: ben })).rows).toEqual(inDepartment(9));
      expect((await db.query(sql)).rows).toEqual([]);
      expect(inDepartment(7).length).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });
});
