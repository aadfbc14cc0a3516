import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDialect } from '../../src/db/registry.ts';
import { DatabaseRuntime } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { randomId } from '../dialects/engine.ts';
import {
  MSSQL_URL,
  createMssqlDatabase,
  mssqlAdmin,
  mssqlDatabaseConfig,
  mssqlEngine,
  mssqlSessionsIn,
  runningMssqlRequests,
  type MssqlTestDatabase
} from '../dialects/engines/mssql.ts';
import { emptyDir } from '../helpers/data-dir.ts';

/**
 * SQL Server ends sqlbridge's pooled session (an administrator's KILL, a failover, a server that
 * restarts the session): the call that was running fails with a safe error, and the next call works
 * on a fresh connection, without restarting anything. Recovery from a database that goes away
 * altogether is tests/recovery/database-restart.test.ts, on the engines this project's machines run;
 * a SQL Server it does not own cannot be restarted, so this is the SQL Server case.
 * https://learn.microsoft.com/sql/t-sql/language-elements/kill-transact-sql
 */

const LIMITS = {
  maxRows: 100,
  maxResultChars: 50_000,
  queryTimeoutMs: 20_000,
  maxStatements: 1,
  binaryPreviewBytes: 48
};

/** This connection's own id, unique for the life of the server (unlike session ids, which are reused). */
const CONNECTION_ID =
  'SELECT CAST(connection_id AS nvarchar(36)) AS connection_id FROM sys.dm_exec_connections WHERE session_id = @@SPID';

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

// SQL Server cannot run on this project's machines; this runs wherever SQLBRIDGE_TEST_MSSQL_URL names one.
describe.skipIf(MSSQL_URL === undefined)('SQL Server: a killed pooled session', () => {
  let database: MssqlTestDatabase;
  let db: DatabaseRuntime;

  beforeAll(async () => {
    database = await createMssqlDatabase([
      'CREATE TABLE dbo.t (id int PRIMARY KEY); INSERT INTO dbo.t VALUES (1), (2), (3);'
    ]);
    // One connection: the session killed is the one the next call would be lent.
    const config = mssqlDatabaseConfig(database.name, 1);
    const limits = { ...LIMITS, maxSampleRows: 10 };
    db = new DatabaseRuntime({
      environment: 'killed',
      dialect: createDialect(
        { readOnly: true, database: config, limits },
        { environment: 'killed', dataDir: emptyDir(), logger: createLogger('silent') }
      ),
      readOnly: true,
      limits: LIMITS
    });
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await database.drop();
  }, 60_000);

  async function connectionId(): Promise<unknown> {
    const result = await db.query(CONNECTION_ID);
    return result.rows[0]?.[0];
  }

  /** KILLs every session sqlbridge holds in the test database and waits until the server has none. */
  async function killSessions(): Promise<number[]> {
    const sessions = await mssqlSessionsIn(database.name);
    for (const session of sessions) {
      await mssqlAdmin(undefined, pool => pool.request().batch(`KILL ${session}`));
    }
    expect(await until(async () => (await mssqlSessionsIn(database.name)).length === 0, 5000)).toBe(true);
    return sessions;
  }

  it('an idle session killed: the next call works, on a new connection', async () => {
    const before = await connectionId();
    expect(before).toEqual(expect.any(String));
    expect(await killSessions()).toHaveLength(1);
    const after = await db.query('SELECT COUNT(*) AS n FROM dbo.t');
    expect(after.rows).toEqual([[3]]);
    const now = await connectionId();
    expect(now).toEqual(expect.any(String));
    expect(now).not.toBe(before);
  });

  it('a running statement’s session killed: that call fails safely, and the next call works', async () => {
    const before = await connectionId();
    const marker = `sqlbridge-killed-${randomId()}`;
    const running = db.query(mssqlEngine.sleep(marker)).then(
      () => undefined,
      (error: unknown) => error
    );
    expect(await until(async () => (await runningMssqlRequests(marker)) > 0, 5000)).toBe(true);
    expect(await killSessions()).toHaveLength(1);
    const error = await running;
    expect(error).toBeInstanceOf(SqlbridgeError);
    const message = (error as SqlbridgeError).message;
    expect(message).not.toMatch(/password|User Id|Server=|\bat \S+\.(js|ts)/i);
    expect(await runningMssqlRequests(marker)).toBe(0);
    const after = await db.query('SELECT COUNT(*) AS n FROM dbo.t');
    expect(after.rows).toEqual([[3]]);
    expect(await connectionId()).not.toBe(before);
  });
});
