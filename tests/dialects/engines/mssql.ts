import { readFileSync } from 'node:fs';
import sql from 'mssql';
import {
  mssqlConnectionConfig,
  resolveMssqlSettings,
  type MssqlDatabaseConfig
} from '../../../src/db/dialects/mssql/mssql-config.ts';
import type { EngineSpec, EngineFixture } from '../engine.ts';
import { randomId } from '../engine.ts';

/**
 * SQL Server, when SQLBRIDGE_TEST_MSSQL_URL holds an ADO connection string to one whose login may
 * create a database (e.g. `Server=localhost,1433;User Id=sa;Password=…;TrustServerCertificate=true`).
 */
export const MSSQL_URL = process.env['SQLBRIDGE_TEST_MSSQL_URL'];
const FIXTURE = readFileSync(new URL('../../fixtures/dialects/mssql.sql', import.meta.url), 'utf8');

function settings(database: string | undefined): MssqlDatabaseConfig {
  return {
    engine: 'mssql',
    connectionString: MSSQL_URL,
    authentication: 'sql',
    pool: { max: 4, idleTimeoutMs: 60_000 },
    ...(database === undefined ? {} : { database })
  };
}

export async function mssqlAdmin<T>(
  database: string | undefined,
  work: (pool: sql.ConnectionPool) => Promise<T>
): Promise<T> {
  const config = mssqlConnectionConfig({
    settings: resolveMssqlSettings(settings(database), 'SQLBRIDGE_TEST_MSSQL_URL'),
    readOnly: false,
    pool: { max: 1, idleTimeoutMs: 10_000 },
    requestTimeoutMs: 60_000
  });
  const pool = await new sql.ConnectionPool(config).connect();
  try {
    return await work(pool);
  } finally {
    await pool.close();
  }
}

/** Error 3702: "Cannot drop database … because it is currently in use" (a closed pool's session not yet gone). */
const DATABASE_IN_USE = 3702;

/** Drops the test database once the sessions of the pools just closed have left the server. */
export async function dropMssqlDatabase(name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mssqlAdmin(undefined, pool => pool.request().batch(`DROP DATABASE IF EXISTS ${name}`));
      return;
    } catch (error) {
      if ((error as { number?: number }).number !== DATABASE_IN_USE || attempt === 20) throw error;
      await new Promise(resolve => setTimeout(resolve, 250));
    }
  }
}

export const mssqlEngine: EngineSpec = {
  engine: 'mssql',
  async create(): Promise<EngineFixture> {
    const name = `sqlbridge_test_${randomId()}`;
    await mssqlAdmin(undefined, pool => pool.request().batch(`CREATE DATABASE ${name}`));
    try {
      await mssqlAdmin(name, async pool => {
        for (const batch of FIXTURE.split(/^GO\s*$/m)) {
          const body = batch.replace(/^--.*$/gm, '').trim();
          if (body !== '') await pool.request().batch(body);
        }
      });
    } catch (error) {
      // A fixture that failed half-way leaves no database behind; the fixture's error is the one reported.
      await dropMssqlDatabase(name).catch(() => undefined);
      throw error;
    }
    return {
      database: settings(name),
      mainSchema: 'dbo',
      otherSchema: 'other',
      drop: () => dropMssqlDatabase(name)
    };
  },
  longText: (n, length) => `SELECT ${n} AS i, REPLICATE(CAST('x' AS varchar(max)), ${length}) AS v`,
  series: n =>
    `WITH n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n}) SELECT i FROM n OPTION (MAXRECURSION 0)`,
  sleep: marker =>
    `SELECT COUNT_BIG(*) FROM sys.all_columns AS a CROSS JOIN sys.all_columns AS b CROSS JOIN sys.all_columns AS c /* ${marker} */`,
  running: async (_fixture, marker) =>
    mssqlAdmin(undefined, async pool => {
      const result = await pool
        .request()
        .input('pattern', sql.NVarChar, `%${marker}%`)
        .query<{ n: number }>(
          'SELECT COUNT(*) AS n FROM sys.dm_exec_requests AS r CROSS APPLY sys.dm_exec_sql_text(r.sql_handle) AS t WHERE t.text LIKE @pattern AND r.session_id <> @@SPID'
        );
      return result.recordset[0]?.n ?? 0;
    }),
  identitySql: keys =>
    `SELECT ${keys.map(key => `CAST(SESSION_CONTEXT(N'${key}') AS nvarchar(4000)) AS ${key}`).join(', ')}`,
  writesAsReads: 'rolled-back',
  ddlAsReads: ['CREATE TABLE sneaky (a int)', 'DROP TABLE canary'],
  typed: [
    { column: 'dec', expected: '12345678901234.5678' },
    { column: 'big_dec', expected: '1234567890123456789012345678.0123456789' },
    { column: 'money_value', expected: '922337203685477.5807' },
    { column: 'small_money', expected: '214748.3647' },
    { column: 'big', expected: '9223372036854775807' },
    { column: 'small_big', expected: 42 },
    { column: 'int_value', expected: -7 },
    { column: 'flag', expected: true },
    { column: 'ratio', expected: 0.1 },
    { column: 'real_value', expected: 1.5 },
    { column: 'born', expected: '2024-02-29' },
    { column: 'ts', expected: '2024-12-31T23:59:59.1234567' },
    { column: 'dto', expected: '2024-12-31T23:59:59.1234567+02:00' },
    { column: 'dt', expected: '2024-12-31T23:59:59.997' },
    { column: 'sdt', expected: '2024-12-31T23:59:00' },
    { column: 't', expected: '12:34:56.1234567' },
    { column: 'guid', expected: '6F1E7A7C-0D1B-4C5A-9A3E-2B8E4F0C1D2A' },
    { column: 'bin', expected: 'AP8Q' },
    { column: 'long_bin', expected: `${Buffer.alloc(48).toString('base64')}… (4096 bytes, shortened)` },
    { column: 'txt', expected: 'line one\nline two | with a pipe' },
    { column: 'x', expected: '<a>1</a>' },
    { column: 'geo', expected: 'POINT (-122.35 47.65)' },
    { column: 'nul', expected: null }
  ],
  connectionFailures: (fixture, blackhole) => {
    const base = fixture.database.engine === 'mssql' ? fixture.database : undefined;
    if (base === undefined) return [];
    return [
      {
        name: 'a wrong password',
        database: { ...base, password: 'definitely-wrong-password' },
        problem: 'authentication'
      },
      {
        name: 'a database that does not exist',
        database: { ...base, database: 'sqlbridge_no_such_database' },
        problem: 'database_not_found'
      },
      { name: 'a closed port', database: { ...base, host: '127.0.0.1', port: 1 }, problem: 'unreachable' },
      {
        name: 'a server that never answers',
        database: { ...base, host: blackhole.host, port: blackhole.port, connectTimeoutMs: 700 },
        problem: 'timeout'
      }
    ];
  }
};

/** The `database:` settings of a test database on the SQL Server, with a pool of `poolMax` connections. */
export function mssqlDatabaseConfig(name: string, poolMax = 4): MssqlDatabaseConfig {
  return { ...settings(name), pool: { max: poolMax, idleTimeoutMs: 60_000 } };
}

/** The same as a YAML flow mapping for a sqlbridge configuration; `extra` adds settings (`user: x, password: "y"`). */
export function mssqlDatabaseYaml(name: string, extra = ''): string {
  return `{ engine: mssql, connectionString: ${JSON.stringify(MSSQL_URL)}, database: ${name}${extra === '' ? '' : `, ${extra}`} }`;
}

export interface MssqlTestDatabase {
  name: string;
  drop: () => Promise<void>;
}

/** A database of its own, `batches` run in it in order as the administrator; none is left behind when one fails. */
export async function createMssqlDatabase(batches: readonly string[] = []): Promise<MssqlTestDatabase> {
  const name = `sqlbridge_test_${randomId()}`;
  await mssqlAdmin(undefined, pool => pool.request().batch(`CREATE DATABASE ${name}`));
  try {
    await mssqlAdmin(name, async pool => {
      for (const batch of batches) await pool.request().batch(batch);
    });
  } catch (error) {
    await dropMssqlDatabase(name).catch(() => undefined);
    throw error;
  }
  return { name, drop: () => dropMssqlDatabase(name) };
}

/**
 * How many requests whose text holds `marker` the server is running, other than this one
 * (https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-exec-requests-transact-sql).
 */
export function runningMssqlRequests(marker: string): Promise<number> {
  return mssqlAdmin(undefined, async pool => {
    const result = await pool
      .request()
      .input('pattern', sql.NVarChar, `%${marker}%`)
      .query<{ n: number }>(
        'SELECT COUNT(*) AS n FROM sys.dm_exec_requests AS r CROSS APPLY sys.dm_exec_sql_text(r.sql_handle) AS t WHERE t.text LIKE @pattern AND r.session_id <> @@SPID'
      );
    return result.recordset[0]?.n ?? 0;
  });
}

/** The ids of the user sessions connected to `database`, other than this one (sys.dm_exec_sessions). */
export function mssqlSessionsIn(database: string): Promise<number[]> {
  return mssqlAdmin(undefined, async pool => {
    const result = await pool
      .request()
      .input('database', sql.NVarChar, database)
      .query<{ session_id: number }>(
        'SELECT session_id FROM sys.dm_exec_sessions WHERE is_user_process = 1 AND database_id = DB_ID(@database) AND session_id <> @@SPID ORDER BY session_id'
      );
    return result.recordset.map(row => row.session_id);
  });
}

/** Ends the login's sessions (a closed pool's may linger) and drops it, if it exists. */
export async function dropMssqlLogin(login: string): Promise<void> {
  await mssqlAdmin(undefined, pool =>
    pool
      .request()
      .input('login', sql.NVarChar, login)
      .query(
        [
          "DECLARE @kill nvarchar(max) = N'';",
          "SELECT @kill += N'KILL ' + CAST(session_id AS nvarchar(10)) + N';' FROM sys.dm_exec_sessions WHERE login_name = @login;",
          'EXEC (@kill);',
          `IF SUSER_ID(@login) IS NOT NULL DROP LOGIN ${login};`
        ].join('\n')
      )
  );
}

/** Runs `work` on a connection to `database` as `user` (a login the test made), not as the administrator. */
export async function mssqlAsLogin<T>(
  database: string,
  user: string,
  password: string,
  work: (pool: sql.ConnectionPool) => Promise<T>
): Promise<T> {
  const config = mssqlConnectionConfig({
    settings: resolveMssqlSettings({ ...settings(database), user, password }, 'SQLBRIDGE_TEST_MSSQL_URL'),
    readOnly: false,
    pool: { max: 1, idleTimeoutMs: 10_000 },
    requestTimeoutMs: 60_000
  });
  const pool = await new sql.ConnectionPool(config).connect();
  try {
    return await work(pool);
  } finally {
    await pool.close();
  }
}
