import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDialect } from '../../src/db/registry.ts';
import { DatabaseRuntime, type RuntimeLimits } from '../../src/db/runtime.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { createMysqlDatabases, MYSQL, mysqlAdmin } from '../dialects/engines/mysql.ts';

/**
 * mysql2 escapes a bound value into the statement with backslashes. On a server whose sql_mode holds
 * NO_BACKSLASH_ESCAPES, `\'` would end the string and the rest of the value would run as SQL. The
 * driver's sessions drop that mode, whatever the server's default.
 */

const LIMITS: RuntimeLimits = {
  maxRows: 100,
  maxStatements: 1,
  maxResultChars: 100_000,
  queryTimeoutMs: 10_000,
  binaryPreviewBytes: 64
};
const BREAKOUT = "x\\' OR 1=1 -- ";

let database: Awaited<ReturnType<typeof createMysqlDatabases>> | undefined;
let db: DatabaseRuntime | undefined;
const runtime = (): DatabaseRuntime => {
  if (db === undefined) throw new Error('the runtime did not start');
  return db;
};

beforeAll(async () => {
  database = await createMysqlDatabases(
    "CREATE TABLE {main}.secrets (id int PRIMARY KEY, owner varchar(20));\nINSERT INTO {main}.secrets VALUES (1, 'ana'), (2, 'ben');"
  );
  const created = new DatabaseRuntime({
    environment: 'modes',
    dialect: createDialect(
      {
        readOnly: true,
        limits: { ...LIMITS, maxSampleRows: 10 },
        database: {
          engine: 'mysql',
          host: MYSQL.host,
          port: MYSQL.port,
          user: MYSQL.user,
          database: database.main,
          tls: 'disable',
          connectTimeoutMs: 5000,
          pool: { max: 1, idleTimeoutMs: 60_000 }
        }
      },
      { environment: 'modes', dataDir: emptyDir(), logger: createLogger('silent') }
    ),
    readOnly: true,
    limits: LIMITS
  });
  db = created;
  // The server's default holds NO_BACKSLASH_ESCAPES only while the pool opens its one connection.
  const previous = await mysqlAdmin(async connection => {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.sql_mode AS mode');
    const mode = String(rows[0]?.['mode'] ?? '');
    await connection.query('SET GLOBAL sql_mode = ?', [[mode, 'NO_BACKSLASH_ESCAPES'].filter(Boolean).join(',')]);
    return mode;
  });
  try {
    await created.init();
  } finally {
    await mysqlAdmin(connection => connection.query('SET GLOBAL sql_mode = ?', [previous]));
  }
}, 60_000);

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

describe('MySQL/MariaDB bound values on a server with NO_BACKSLASH_ESCAPES', () => {
  it('runs sessions without that mode, keeping the others', async () => {
    const outcome = await runtime().query('SELECT @@SESSION.sql_mode AS mode');
    const mode = String(outcome.rows[0]?.[0]);
    expect(mode.split(',')).not.toContain('NO_BACKSLASH_ESCAPES');
  });

  it('keeps a value that tries to close its quote as data', async () => {
    const outcome = await runtime().queryWithParams('SELECT id FROM secrets WHERE owner = ?', [BREAKOUT]);
    expect(outcome.rowCount).toBe(0);
    const echoed = await runtime().queryWithParams('SELECT ? AS v', [BREAKOUT]);
    expect(echoed.rows[0]?.[0]).toBe(BREAKOUT);
  });
});
