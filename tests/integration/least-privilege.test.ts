import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../src/config/schema.ts';
import { createDialect } from '../../src/db/registry.ts';
import { DatabaseRuntime } from '../../src/db/runtime.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { randomId } from '../dialects/engine.ts';
import {
  MSSQL_URL,
  createMssqlDatabase,
  dropMssqlLogin,
  mssqlAdmin,
  mssqlAsLogin,
  mssqlDatabaseConfig,
  mssqlDatabaseYaml,
  type MssqlTestDatabase
} from '../dialects/engines/mssql.ts';
import { MYSQL, createMysqlDatabases, mysqlAdmin } from '../dialects/engines/mysql.ts';
import { POSTGRES, createPostgresDatabase, pgAdmin } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { runCli, startServer } from '../helpers/server-process.ts';

/**
 * The least-privilege check against real logins: the scripts in docs/least-privilege/ run as
 * written (names and password substituted) and yield a login the check calls read-only and the
 * database refuses writes from; a deliberately over-privileged login is reported with what it may
 * change; and a server that requires least privilege refuses to start with it.
 */

const script = (name: string): string =>
  readFileSync(new URL(`../../docs/least-privilege/${name}`, import.meta.url), 'utf8');

const LIMITS = {
  maxRows: 100,
  maxResultChars: 50_000,
  queryTimeoutMs: 20_000,
  maxStatements: 1,
  binaryPreviewBytes: 48
};

function runtime(database: DatabaseConfig): DatabaseRuntime {
  const limits = { ...LIMITS, maxSampleRows: 10 };
  return new DatabaseRuntime({
    environment: 'lp',
    dialect: createDialect(
      { readOnly: true, database, limits },
      { environment: 'lp', dataDir: emptyDir(), logger: createLogger('silent') }
    ),
    readOnly: true,
    limits: LIMITS
  });
}

async function report(database: DatabaseConfig) {
  const db = runtime(database);
  try {
    return await db.privileges();
  } finally {
    await db.close();
  }
}

const SCHEMA =
  "CREATE TABLE accounts (id integer PRIMARY KEY, owner text NOT NULL); INSERT INTO accounts VALUES (1, 'ada'); CREATE SEQUENCE invoice_numbers;";

describe('PostgreSQL', () => {
  const id = randomId();
  const reader = `sqlbridge_test_reader_${id}`;
  const writer = `sqlbridge_test_writer_${id}`;
  let database: { name: string; drop: () => Promise<void> };
  const settings = (user: string): DatabaseConfig => ({
    engine: 'postgres',
    host: POSTGRES.host,
    port: POSTGRES.port,
    user,
    database: database.name,
    tls: 'disable',
    connectTimeoutMs: 5000,
    pool: { max: 2, idleTimeoutMs: 10_000 }
  });

  beforeAll(async () => {
    database = await createPostgresDatabase(SCHEMA);
    const restricted = script('postgres.sql')
      .replaceAll('sqlbridge_reader', reader)
      .replaceAll('analytics', database.name)
      .replaceAll('change-me', `pw-${id}`);
    await pgAdmin(database.name, client => client.query(restricted));
    await pgAdmin(database.name, async client => {
      await client.query(`CREATE ROLE ${writer} LOGIN`);
      await client.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${writer}`);
      await client.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${writer}`);
    });
  }, 60_000);

  afterAll(async () => {
    await database.drop();
    await pgAdmin('test', async client => {
      await client.query(`DROP ROLE IF EXISTS ${reader}`);
      await client.query(`DROP ROLE IF EXISTS ${writer}`);
    });
  });

  it('reports the login made by docs/least-privilege/postgres.sql as read-only', async () => {
    const result = await report(settings(reader));
    expect(result).toMatchObject({ login: reader, canWrite: false, findings: [] });
    expect(result.notes.join(' ')).toContain('default_transaction_read_only is on');
  });

  it('and that login can read but not write, even in a transaction it asks to be read-write', async () => {
    const client = new pg.Client({ ...POSTGRES, user: reader, database: database.name });
    await client.connect();
    try {
      expect((await client.query('SELECT owner FROM accounts')).rows).toEqual([{ owner: 'ada' }]);
      await client.query('BEGIN READ WRITE');
      await expect(client.query("INSERT INTO accounts VALUES (2, 'x')")).rejects.toThrow(/permission denied/);
      await client.query('ROLLBACK');
      await expect(client.query('CREATE TABLE t2 (a int)')).rejects.toThrow(/read-only transaction|permission denied/);
      await expect(client.query("SELECT nextval('invoice_numbers')")).rejects.toThrow(/permission denied|read-only/);
    } finally {
      await client.end();
    }
  });

  it('reports what an over-privileged login may change', async () => {
    const result = await report(settings(writer));
    expect(result.canWrite).toBe(true);
    expect(result.findings).toContain('may write tables: public.accounts (DELETE/INSERT/TRUNCATE/UPDATE)');
    expect(result.findings).toContain('may advance sequences: public.invoice_numbers');
  });

  it('reports a superuser as such', async () => {
    const result = await report(settings(POSTGRES.user));
    expect(result.canWrite).toBe(true);
    expect(result.findings).toContain('the login is a superuser');
  });
});

describe('MariaDB', () => {
  const id = randomId();
  const reader = `sqlbridge_test_reader_${id}`;
  const writer = `sqlbridge_test_writer_${id}`;
  const password = `pw-${id}`;
  let database: { main: string; drop: () => Promise<void> };
  const settings = (user: string, withPassword: boolean): DatabaseConfig => ({
    engine: 'mysql',
    host: MYSQL.host,
    port: MYSQL.port,
    user,
    ...(withPassword ? { password } : {}),
    database: database.main,
    tls: 'disable',
    connectTimeoutMs: 5000,
    pool: { max: 2, idleTimeoutMs: 10_000 }
  });

  beforeAll(async () => {
    database = await createMysqlDatabases(
      "CREATE TABLE {main}.accounts (id int PRIMARY KEY, owner varchar(20) NOT NULL);\nINSERT INTO {main}.accounts VALUES (1, 'ada');\n"
    );
    const statements = script('mysql.sql')
      .replaceAll('sqlbridge_reader', reader)
      .replaceAll('analytics', database.main)
      .replaceAll('change-me', password)
      .split(/;\s*\n/)
      .map(s => s.replace(/^--.*$/gm, '').trim())
      .filter(s => s !== '');
    await mysqlAdmin(async connection => {
      for (const statement of statements) await connection.query(statement);
      await connection.query(`CREATE USER '${writer}'@'%' IDENTIFIED BY '${password}'`);
      await connection.query(`GRANT ALL PRIVILEGES ON ${database.main}.* TO '${writer}'@'%'`);
    });
  }, 60_000);

  afterAll(async () => {
    await database.drop();
    await mysqlAdmin(async connection => {
      await connection.query(`DROP USER IF EXISTS '${reader}'@'%'`);
      await connection.query(`DROP USER IF EXISTS '${writer}'@'%'`);
    });
  });

  it('reports the login made by docs/least-privilege/mysql.sql as read-only', async () => {
    const result = await report(settings(reader, true));
    expect(result).toMatchObject({ login: `${reader}@%`, canWrite: false, findings: [] });
  });

  it('and that login can read but not write', async () => {
    const connection = await mysql.createConnection({ ...MYSQL, user: reader, password, database: database.main });
    try {
      const [rows] = await connection.query('SELECT owner FROM accounts');
      expect(rows).toEqual([{ owner: 'ada' }]);
      await expect(connection.query("INSERT INTO accounts VALUES (2, 'x')")).rejects.toThrow(/command denied/);
      await expect(connection.query('CREATE TABLE t2 (a int)')).rejects.toThrow(/command denied/);
      await expect(connection.query("SELECT LOAD_FILE('/etc/hostname') INTO @x")).resolves.toBeDefined();
      const [loaded] = await connection.query('SELECT @x AS x');
      expect(loaded).toEqual([{ x: null }]);
    } finally {
      await connection.end();
    }
  });

  it('reports what an over-privileged login may change', async () => {
    const result = await report(settings(writer, true));
    expect(result.canWrite).toBe(true);
    expect(result.findings.join(' ')).toContain(`ALL PRIVILEGES on \`${database.main}\`.*`);
  });

  it('reports root as able to do anything', async () => {
    const result = await report(settings(MYSQL.user, false));
    expect(result.canWrite).toBe(true);
    expect(result.findings.join(' ')).toContain('ALL PRIVILEGES on *.*');
  });

  function writeConfig(dir: string, requireLeastPrivilege: boolean): string {
    const config = join(dir, 'sqlbridge.yaml');
    const line = (user: string): string =>
      `    database: { engine: mysql, host: ${MYSQL.host}, port: ${MYSQL.port}, user: ${user}, password: ${password}, database: ${database.main}, tls: disable }`;
    const require = `    requireLeastPrivilege: ${requireLeastPrivilege}`;
    writeFileSync(
      config,
      ['environments:', '  ok:', require, line(reader), '  bad:', require, line(writer), ''].join('\n')
    );
    return config;
  }

  it('sqlbridge check warns about the over-privileged login, and fails when least privilege is required', async () => {
    const dir = emptyDir('lp-check-');
    const warned = await runCli(['check', '--config', writeConfig(dir, false), '--data-dir', dir]);
    expect(warned.code).toBe(0);
    expect(warned.stdout).toContain(`ok    ok   mysql     the login ${reader}@% can only read`);
    expect(warned.stdout).toContain(
      `WARN  bad  mysql     the login ${writer}@% could write: privileges beyond reading: ALL PRIVILEGES on`
    );
    const failed = await runCli(['check', '--config', writeConfig(dir, true), '--data-dir', dir]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`FAIL  bad  mysql     the login ${writer}@% could write`);
  }, 60_000);

  it('keeps a server that requires least privilege from starting with an over-privileged login', async () => {
    const dir = emptyDir('lp-');
    const config = writeConfig(dir, true);
    const failure = await startServer({ args: ['serve', '--no-auth', '--config', config, '--data-dir', dir] }).then(
      async server => {
        await server.stop();
        return 'started';
      },
      (error: unknown) => (error instanceof Error ? error.message : String(error))
    );
    expect(failure).toMatch(/exited with 1 before serving/);
    const refusal = failure.split('\n').find(line => line.includes('will not start')) ?? '';
    expect(refusal).toContain('sqlbridge will not start: environment \\"bad\\" is read-only, but the login');
    expect(refusal).not.toContain('environment \\"ok\\"');
    // The restricted environment was checked and found read-only.
    expect(failure).toContain(`environment \\"ok\\": the login ${reader}@% can only read`);
  }, 60_000);
});

// SQL Server cannot run on this project's machines; this runs wherever SQLBRIDGE_TEST_MSSQL_URL names one.
describe.skipIf(MSSQL_URL === undefined)('SQL Server', () => {
  const id = randomId();
  const reader = `sqlbridge_test_reader_${id}`;
  const writer = `sqlbridge_test_writer_${id}`;
  // SQL Server's password policy (CHECK_POLICY = ON) wants three kinds of character.
  const password = `Lp-${id}-Aa9`;
  let database: MssqlTestDatabase;
  const settings = (user: string): DatabaseConfig => ({ ...mssqlDatabaseConfig(database.name, 2), user, password });

  beforeAll(async () => {
    database = await createMssqlDatabase([
      "CREATE TABLE dbo.accounts (id int PRIMARY KEY, owner nvarchar(20) NOT NULL); INSERT INTO dbo.accounts VALUES (1, N'ada');"
    ]);
    const batches = script('mssql.sql')
      .replaceAll('sqlbridge_reader', reader)
      .replaceAll('analytics', database.name)
      .replaceAll('change-me: a long random password', password)
      .split(/^GO\s*$/m)
      .map(batch => batch.replace(/^--.*$/gm, '').trim())
      .filter(batch => batch !== '');
    // One connection, so that the script's USE holds for the batches after it, as in sqlcmd.
    await mssqlAdmin(undefined, async pool => {
      for (const batch of batches) await pool.request().batch(batch);
      await pool.request().batch(`CREATE LOGIN ${writer} WITH PASSWORD = N'${password}'`);
    });
    await mssqlAdmin(database.name, pool =>
      pool
        .request()
        .batch(
          `CREATE USER ${writer} FOR LOGIN ${writer}; ALTER ROLE db_datareader ADD MEMBER ${writer}; ALTER ROLE db_datawriter ADD MEMBER ${writer};`
        )
    );
  }, 60_000);

  afterAll(async () => {
    // The logins first: that ends their sessions, which would keep the database in use.
    await dropMssqlLogin(reader);
    await dropMssqlLogin(writer);
    await database.drop();
  }, 60_000);

  it('reports the login made by docs/least-privilege/mssql.sql as read-only', async () => {
    const result = await report(settings(reader));
    expect(result).toMatchObject({ login: `${reader} (database user ${reader})`, canWrite: false, findings: [] });
  });

  it('and that login can read but not write', async () => {
    await mssqlAsLogin(database.name, reader, password, async pool => {
      expect((await pool.request().query('SELECT owner FROM dbo.accounts')).recordset).toEqual([{ owner: 'ada' }]);
      await expect(pool.request().query("INSERT INTO dbo.accounts VALUES (2, N'x')")).rejects.toThrow(
        /INSERT permission was denied/
      );
      await expect(pool.request().query('CREATE TABLE dbo.t2 (a int)')).rejects.toThrow(
        /CREATE TABLE permission denied/
      );
    });
  });

  it('reports a login in db_datawriter with what it may change', async () => {
    const result = await report(settings(writer));
    expect(result.canWrite).toBe(true);
    expect(result.findings).toContain('member of database role db_datawriter');
    expect(result.findings).toContain('may write tables: dbo.accounts (DELETE/INSERT/UPDATE)');
  });

  it('sqlbridge check warns about the login in db_datawriter, and fails when least privilege is required', async () => {
    const dir = emptyDir('lp-check-mssql-');
    const writeConfig = (requireLeastPrivilege: boolean): string => {
      const config = join(dir, 'sqlbridge.yaml');
      const line = (user: string): string =>
        `    database: ${mssqlDatabaseYaml(database.name, `user: ${user}, password: ${JSON.stringify(password)}`)}`;
      const require = `    requireLeastPrivilege: ${requireLeastPrivilege}`;
      writeFileSync(
        config,
        ['environments:', '  ok:', require, line(reader), '  bad:', require, line(writer), ''].join('\n')
      );
      return config;
    };
    const warned = await runCli(['check', '--config', writeConfig(false), '--data-dir', dir]);
    expect(warned.code).toBe(0);
    expect(warned.stdout).toContain(`ok    ok   mssql     the login ${reader} (database user ${reader}) can only read`);
    expect(warned.stdout).toContain(
      `WARN  bad  mssql     the login ${writer} (database user ${writer}) could write: member of database role db_datawriter`
    );
    const failed = await runCli(['check', '--config', writeConfig(true), '--data-dir', dir]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`FAIL  bad  mssql     the login ${writer} (database user ${writer}) could write`);
  }, 60_000);
});
