import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createDialect } from '../../src/db/registry.ts';
import { DatabaseRuntime } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { randomId } from '../dialects/engine.ts';
import {
  MSSQL_URL,
  createMssqlDatabase,
  dropMssqlLogin,
  mssqlAdmin,
  mssqlDatabaseConfig,
  mssqlDatabaseYaml
} from '../dialects/engines/mssql.ts';
import { MYSQL, mysqlAdmin } from '../dialects/engines/mysql.ts';
import { POSTGRES, createPostgresDatabase, pgAdmin } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * Row-level security decided by the database, through the real server and the real OAuth flow: the
 * server connects as one unprivileged login per environment, and sets the signed-in user's
 * `department` attribute into the session before each query. PostgreSQL filters with a policy on
 * `current_setting('sqlbridge.department', true)`; MariaDB, whose views cannot read user variables,
 * through a view over a function returning `@sqlbridge_department`, the only object the login may
 * read; SQL Server with a security policy whose predicate function reads
 * SESSION_CONTEXT(N'department'), which sqlbridge sets read-only (only with SQLBRIDGE_TEST_MSSQL_URL).
 * The same statement returns each person their department's rows and a person without a
 * department none, on one pooled connection shared by all of them; a statement that tries to set
 * the department itself is refused before it reaches the database.
 */

const ANA: Credentials = { username: 'ana', password: 'ana-correct-horse-battery' };
const BEN: Credentials = { username: 'ben', password: 'ben-correct-horse-battery' };
const CY: Credentials = { username: 'cy', password: 'cy-correct-horse-battery' };

/** The rows of the table both databases hold: id, department, item. */
const EXPENSES: [number, number, string][] = [
  [1, 7, 'chairs'],
  [2, 7, 'desks'],
  [3, 9, 'laptops'],
  [4, 9, 'monitors'],
  [5, 11, 'printer']
];
const VALUES = EXPENSES.map(([id, department, item]) => `(${id}, ${department}, '${item}')`).join(', ');

function rowsOf(department: number): [number, number, string][] {
  return EXPENSES.filter(([, d]) => d === department);
}

const suffix = randomId();
/** Cluster-wide names (PostgreSQL roles, MariaDB accounts and databases): unique to this run. */
const PG_LOGIN = `sqlbridge_rls_${suffix}`;
const MARIA_DATABASE = `sqlbridge_rls_${suffix}`;
const MARIA_LOGIN = `sqlbridge_rls_${suffix}`;
const MARIA_PASSWORD = randomBytes(18).toString('base64url');
/** A server login, so unique to this run; the password meets SQL Server's complexity policy. */
const MSSQL_LOGIN = `sqlbridge_test_rls_${suffix}`;
const MSSQL_PASSWORD = `Rls-${randomBytes(18).toString('hex')}-Aa9`;

/**
 * The SQL Server database: a filter predicate on the department the session context holds
 * (https://learn.microsoft.com/sql/relational-databases/security/row-level-security), dbo (the
 * administrator) exempt so that it can count every row. The login may read the table and nothing else.
 */
const MSSQL_SETUP = [
  `CREATE TABLE dbo.expenses (id int PRIMARY KEY, department_id int NOT NULL, item nvarchar(40) NOT NULL);
   INSERT INTO dbo.expenses VALUES ${VALUES};`,
  'CREATE SCHEMA security',
  `CREATE FUNCTION security.department_rows(@department_id int) RETURNS TABLE WITH SCHEMABINDING AS
   RETURN SELECT 1 AS visible
    WHERE @department_id = CAST(SESSION_CONTEXT(N'department') AS int) OR USER_NAME() = N'dbo'`,
  `CREATE SECURITY POLICY security.expenses_by_department
   ADD FILTER PREDICATE security.department_rows(department_id) ON dbo.expenses WITH (STATE = ON)`,
  `CREATE LOGIN ${MSSQL_LOGIN} WITH PASSWORD = N'${MSSQL_PASSWORD}';
   CREATE USER ${MSSQL_LOGIN} FOR LOGIN ${MSSQL_LOGIN};
   GRANT SELECT ON dbo.expenses TO ${MSSQL_LOGIN};`
];

let server: RunningServer | undefined;
let baseUrl = '';
let postgresDatabase = '';
let dropPostgres: (() => Promise<void>) | undefined;
let mariaCreated = false;
let mssqlDatabase = '';
let dropMssql: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const dir = emptyDir('rls-');
  await pgAdmin('test', client => client.query(`CREATE ROLE ${PG_LOGIN} LOGIN NOSUPERUSER NOBYPASSRLS`));
  const database = await createPostgresDatabase(
    [
      'CREATE TABLE expenses (id integer PRIMARY KEY, department_id integer NOT NULL, item text NOT NULL)',
      `INSERT INTO expenses VALUES ${VALUES}`,
      `GRANT SELECT ON expenses TO ${PG_LOGIN}`,
      'ALTER TABLE expenses ENABLE ROW LEVEL SECURITY',
      `CREATE POLICY by_department ON expenses FOR SELECT TO ${PG_LOGIN} USING (department_id = nullif(current_setting('sqlbridge.department', true), '')::int)`
    ].join(';\n')
  );
  postgresDatabase = database.name;
  dropPostgres = database.drop;

  mariaCreated = true;
  await mysqlAdmin(async connection => {
    for (const statement of [
      `CREATE DATABASE ${MARIA_DATABASE}`,
      `CREATE TABLE ${MARIA_DATABASE}.expenses (id INT PRIMARY KEY, department_id INT NOT NULL, item VARCHAR(40) NOT NULL)`,
      `INSERT INTO ${MARIA_DATABASE}.expenses VALUES ${VALUES}`,
      `CREATE FUNCTION ${MARIA_DATABASE}.caller_department() RETURNS INT NOT DETERMINISTIC NO SQL SQL SECURITY DEFINER RETURN CAST(@sqlbridge_department AS SIGNED)`,
      `CREATE SQL SECURITY DEFINER VIEW ${MARIA_DATABASE}.my_expenses AS SELECT id, department_id, item FROM ${MARIA_DATABASE}.expenses WHERE department_id = ${MARIA_DATABASE}.caller_department()`,
      `CREATE USER '${MARIA_LOGIN}'@'%' IDENTIFIED BY '${MARIA_PASSWORD}'`,
      `GRANT SELECT ON ${MARIA_DATABASE}.my_expenses TO '${MARIA_LOGIN}'@'%'`
    ]) {
      await connection.query(statement);
    }
  });

  const mssql: string[] = [];
  if (MSSQL_URL !== undefined) {
    const created = await createMssqlDatabase(MSSQL_SETUP);
    mssqlDatabase = created.name;
    dropMssql = created.drop;
    const login = `user: ${MSSQL_LOGIN}, password: ${JSON.stringify(MSSQL_PASSWORD)}, pool: { max: 1 }`;
    mssql.push('  mssql:', `    database: ${mssqlDatabaseYaml(created.name, login)}`);
  }

  const identity = '    identity: { department: attributes.department, subject: sub }';
  if (mssql.length > 0) mssql.push(identity);
  const environments = mssql.length > 0 ? '[pg, maria, mssql]' : '[pg, maria]';
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      '  pg:',
      // One connection: every caller's statements run in the same server session, one after another.
      `    database: { engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${PG_LOGIN}, database: ${database.name}, tls: disable, pool: { max: 1 } }`,
      identity,
      '  maria:',
      `    database: { engine: mysql, host: ${MYSQL.host}, port: ${MYSQL.port}, user: ${MARIA_LOGIN}, password: "${MARIA_PASSWORD}", database: ${MARIA_DATABASE}, tls: disable, pool: { max: 1 } }`,
      identity,
      ...mssql,
      'auth:',
      '  users:',
      `    - { username: ana, passwordHash: "${await hashPassword(ANA.password)}", environments: ${environments}, attributes: { department: 7 } }`,
      `    - { username: ben, passwordHash: "${await hashPassword(BEN.password)}", environments: ${environments}, attributes: { department: 9 } }`,
      `    - { username: cy, passwordHash: "${await hashPassword(CY.password)}", environments: ${environments} }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
  baseUrl = server.baseUrl;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await dropPostgres?.();
  await pgAdmin('test', client => client.query(`DROP ROLE IF EXISTS ${PG_LOGIN}`));
  if (mariaCreated) {
    await mysqlAdmin(async connection => {
      await connection.query(`DROP DATABASE IF EXISTS ${MARIA_DATABASE}`);
      await connection.query(`DROP USER IF EXISTS '${MARIA_LOGIN}'@'%'`);
    });
  }
  if (MSSQL_URL !== undefined) {
    // The login first: that ends its sessions, which would keep the database in use.
    await dropMssqlLogin(MSSQL_LOGIN);
    await dropMssql?.();
  }
}, 60_000);

/** An MCP client signed in as `person` through the environment's own OAuth flow. */
async function signedIn(person: Credentials, environment: string): Promise<Client> {
  const url = new URL(`${baseUrl}/${environment}/mcp`);
  const provider = new TestOAuthProvider(authorization => signIn(authorization, person));
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await expect(new Client({ name: 'rls-e2e', version: '1' }).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  const callback = provider.callback;
  if (callback === undefined) throw new Error('the client was never sent to sign in');
  await first.finishAuth(callback.searchParams);
  const client = new Client({ name: 'rls-e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  return client;
}

type ToolResult = Awaited<ReturnType<Client['callTool']>>;

function text(result: ToolResult): string {
  const first = (result.content as { type: string; text?: string }[])[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
}

async function rows(client: Client, query: string): Promise<unknown[][]> {
  const result = await client.callTool({ name: 'execute_sql', arguments: { query } });
  expect(result.isError, `${query} → ${text(result)}`).not.toBe(true);
  return (result.structuredContent as { rows: unknown[][] }).rows;
}

async function refusal(client: Client, query: string): Promise<string> {
  const result = await client.callTool({ name: 'execute_sql', arguments: { query } });
  expect(result.isError, `${query} was not refused: ${text(result)}`).toBe(true);
  return text(result);
}

interface Target {
  environment: string;
  name: string;
  /** Only with SQLBRIDGE_TEST_MSSQL_URL: no SQL Server runs on this project's machines. */
  needsMssql?: boolean;
  /** The statement every person sends. */
  select: string;
  /** Statements that try to set the department, with what the refusal must say. */
  spoofs: [query: string, reason: RegExp][];
  /** How many rows the database holds, read as its administrator. */
  adminCount(): Promise<number>;
}

const TARGETS: Target[] = [
  {
    environment: 'pg',
    name: 'PostgreSQL, a policy on the table',
    select: 'SELECT id, department_id, item FROM expenses ORDER BY id',
    spoofs: [
      [
        "SELECT id, department_id, item FROM expenses WHERE set_config('sqlbridge.department', '9', true) IS NOT NULL ORDER BY id",
        /^Not allowed: set_config\('sqlbridge\.department', …\) would change the caller’s identity/
      ],
      ["SELECT set_config('sqlbridge.department', '9', true)", /would change the caller’s identity/],
      ["SET LOCAL sqlbridge.department = '9'", /^Not allowed: SET sqlbridge\.department would change/]
    ],
    adminCount: () =>
      pgAdmin(postgresDatabase, async client => {
        const result = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM expenses');
        return result.rows[0]?.n ?? 0;
      })
  },
  {
    environment: 'maria',
    name: 'MariaDB, a view over a function of @sqlbridge_department',
    select: 'SELECT id, department_id, item FROM my_expenses ORDER BY id',
    spoofs: [
      [
        'SELECT @sqlbridge_department := 9',
        /^Not allowed: @sqlbridge_department := … would change the caller’s identity/
      ],
      [
        'SET @sqlbridge_department = 9',
        /^Not allowed: SET @sqlbridge_department = … would change the caller’s identity/
      ],
      ['SELECT 9 INTO @sqlbridge_department', /would change the caller’s identity/]
    ],
    adminCount: () =>
      mysqlAdmin(async connection => {
        const [result] = await connection.query(`SELECT COUNT(*) AS n FROM ${MARIA_DATABASE}.expenses`);
        // COUNT(*) is a BIGINT, which mysql2 may return as text.
        return Number((result as { n: number | string }[])[0]?.n ?? 0);
      })
  },
  {
    environment: 'mssql',
    name: 'SQL Server, a security policy on SESSION_CONTEXT(N’department’)',
    needsMssql: true,
    select: 'SELECT id, department_id, item FROM dbo.expenses ORDER BY id',
    spoofs: [
      [
        "EXEC sys.sp_set_session_context @key = N'department', @value = N'9'",
        /^Not allowed: sp_set_session_context would change the caller’s identity/
      ],
      ["sp_set_session_context N'department', N'9'", /would change the caller’s identity/],
      [
        "SELECT id FROM dbo.expenses EXEC sp_set_session_context N'department', N'9'",
        /would change the caller’s identity/
      ]
    ],
    adminCount: () =>
      mssqlAdmin(mssqlDatabase, async pool => {
        const result = await pool.request().query<{ n: number }>('SELECT COUNT(*) AS n FROM dbo.expenses');
        return result.recordset[0]?.n ?? 0;
      })
  }
];

for (const target of TARGETS) {
  // SQL Server cannot run on this project's machines; its cases run wherever SQLBRIDGE_TEST_MSSQL_URL names one.
  describe.skipIf(target.needsMssql === true && MSSQL_URL === undefined)(target.name, () => {
    let ana: Client;
    let ben: Client;
    let cy: Client;
    const opened: Client[] = [];

    beforeAll(async () => {
      for (const person of [ANA, BEN, CY]) opened.push(await signedIn(person, target.environment));
      [ana, ben, cy] = opened as [Client, Client, Client];
    }, 60_000);

    afterAll(async () => {
      for (const client of opened) await client.close().catch(() => undefined);
    });

    it('holds rows of several departments, which its administrator sees all of', async () => {
      expect(await target.adminCount()).toBe(EXPENSES.length);
    });

    it('returns each person only their department’s rows for the same statement, and none to a person without one', async () => {
      // Interleaved on the environment's one connection: nobody sees what the previous caller set.
      for (let round = 0; round < 2; round++) {
        expect(await rows(ana, target.select)).toEqual(rowsOf(7));
        expect(await rows(ben, target.select)).toEqual(rowsOf(9));
        expect(await rows(cy, target.select)).toEqual([]);
      }
      expect(rowsOf(7).length).toBeGreaterThan(0);
      expect(rowsOf(9).length).toBeGreaterThan(0);
    });

    it('refuses every statement that sets the department itself, and the next statement is still filtered', async () => {
      for (const [query, reason] of target.spoofs) {
        expect(await refusal(ana, query)).toMatch(reason);
        expect(await refusal(cy, query)).toMatch(reason);
      }
      expect(await rows(ana, target.select)).toEqual(rowsOf(7));
      expect(await rows(cy, target.select)).toEqual([]);
    });
  });
}

describe('what the logins themselves may read', () => {
  it('PostgreSQL: the login is no superuser and cannot bypass row-level security', async () => {
    const role = await pgAdmin('test', client =>
      client.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
        'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1',
        [PG_LOGIN]
      )
    );
    expect(role.rows).toEqual([{ rolsuper: false, rolbypassrls: false }]);
  });

  it('MariaDB: the login reads the view only, not the table under it', async () => {
    const ana = await signedIn(ANA, 'maria');
    try {
      expect(await refusalFromDatabase(ana, 'SELECT id FROM expenses')).toMatch(/SELECT command denied/i);
    } finally {
      await ana.close();
    }
  });
});

// SQL Server cannot run on this project's machines; this runs wherever SQLBRIDGE_TEST_MSSQL_URL names one.
describe.skipIf(MSSQL_URL === undefined)('what the SQL Server login may do', () => {
  it('is no db_owner (the policy exempts only dbo) and may not alter security policies', async () => {
    // Asked as the login itself (EXECUTE AS USER), since both functions answer for the current user.
    const rights = await mssqlAdmin(mssqlDatabase, async pool => {
      const result = await pool
        .request()
        .query<{ is_owner: number; may_alter: number }>(
          [
            `EXECUTE AS USER = N'${MSSQL_LOGIN}';`,
            "SELECT IS_ROLEMEMBER(N'db_owner') AS is_owner, HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'ALTER ANY SECURITY POLICY') AS may_alter;",
            'REVERT;'
          ].join('\n')
        );
      return result.recordset[0];
    });
    expect(rights).toEqual({ is_owner: 0, may_alter: 0 });
  });

  it('cannot change its department even past the guard: the engine holds the key read-only', async () => {
    const limits = {
      maxRows: 100,
      maxResultChars: 50_000,
      queryTimeoutMs: 20_000,
      maxStatements: 1,
      binaryPreviewBytes: 48
    };
    const database = { ...mssqlDatabaseConfig(mssqlDatabase, 1), user: MSSQL_LOGIN, password: MSSQL_PASSWORD };
    // The guard switched off, so that the statement reaches the server.
    const engineOnly = new DatabaseRuntime({
      environment: 'rls',
      dialect: createDialect(
        { readOnly: true, database, limits: { ...limits, maxSampleRows: 10 } },
        { environment: 'rls', dataDir: emptyDir(), logger: createLogger('silent') }
      ),
      readOnly: true,
      limits,
      statementGuard: false,
      identity: { department: 'attributes.department' }
    });
    const caller = { identity: { subject: 'ana', clientId: null, attributes: { department: '7' } } };
    try {
      const refused = await engineOnly
        .query("EXEC sys.sp_set_session_context @key = N'department', @value = N'9'", { caller })
        .then(
          () => undefined,
          (error: unknown) => error
        );
      expect(refused).toBeInstanceOf(SqlbridgeError);
      expect((refused as SqlbridgeError).message).toMatch(/read.?only/i);
      const read = await engineOnly.query('SELECT id, department_id, item FROM dbo.expenses ORDER BY id', { caller });
      expect(read.rows).toEqual(rowsOf(7));
    } finally {
      await engineOnly.close();
    }
  });
});

/** A statement the guard passes and the database refuses. */
async function refusalFromDatabase(client: Client, query: string): Promise<string> {
  const said = await refusal(client, query);
  expect(said).not.toMatch(/^Not allowed/);
  return said;
}
