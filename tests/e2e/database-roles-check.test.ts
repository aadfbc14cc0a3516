import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlAdmin } from '../dialects/engines/mysql.ts';
import { pgAdmin } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { createMariadbRoles, createPostgresRoles, type RolesFixture } from '../helpers/database-roles.ts';
import { runCli, startServer } from '../helpers/server-process.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * `sqlbridge check` with database roles per user and group: for each role an environment's `access`
 * setting maps callers to, what it may read and whether it could write (a read-only environment
 * warns about a role that could, and a server that requires least privilege does not start), and on
 * PostgreSQL whether the login inherits its roles' privileges.
 */

let pgFixture: RolesFixture | undefined;
let mariaFixture: RolesFixture | undefined;
let config = '';

beforeAll(async () => {
  pgFixture = await createPostgresRoles();
  mariaFixture = await createMariadbRoles();
  const pg = pgFixture;
  const maria = mariaFixture;
  // The finance role may also change salaries: the check must say so.
  await pgAdmin(pg.database, client => client.query(`GRANT INSERT ON salaries TO ${pg.finance}`));
  await mysqlAdmin(connection => connection.query(`GRANT INSERT ON ${maria.database}.salaries TO ${maria.finance}`));
  const dir = emptyDir('roles-check-');
  config = join(dir, 'sqlbridge.yaml');
  const access = (f: RolesFixture): string =>
    `    access: { roles: { analysts: ${f.reporting}, finance: ${f.finance} }, default: none }`;
  writeFileSync(
    config,
    [
      `dataDir: ${dir}`,
      'environments:',
      '  pg:',
      `    database: ${pg.yaml}`,
      access(pg),
      '  maria:',
      `    database: ${maria.yaml}`,
      access(maria),
      '  lite:',
      `    database: { engine: sqlite, path: ${createSqliteFixture()} }`,
      '    access: { roles: { analysts: reporting }, tables: { reporting: [MixedCase, "Line Summary"] } }',
      ''
    ].join('\n')
  );
}, 60_000);

afterAll(async () => {
  await pgFixture?.drop();
  await mariaFixture?.drop();
}, 60_000);

describe('sqlbridge check with database roles', () => {
  it('reports what each mapped role reads and warns about one that could write', async () => {
    const pg = pgFixture as RolesFixture;
    const maria = mariaFixture as RolesFixture;
    const result = await runCli(['check', '--config', config]);
    const lines = result.stdout.trim().split('\n');
    expect(lines[1]).toMatch(
      /^ok {4}pg {5}postgres {2}connected in \d+ ms; 1 tables, 0 views; PostgreSQL [\d.]+; read-only$/
    );
    expect(lines[2]).toBe(`ok    pg     postgres  the login ${pg.login} can only read`);
    expect(lines[3]).toBe(`ok    pg     postgres  role ${pg.reporting} reads 1 tables and 0 views, and can only read`);
    expect(lines[4]).toBe(
      `WARN  pg     postgres  role ${pg.finance} reads 2 tables and 0 views, and could write: may write tables: public.salaries (INSERT)`
    );
    expect(lines[5]).toMatch(
      /^ok {4}maria {2}mysql {5}connected in \d+ ms; 1 tables, 0 views; MariaDB [\d.]+; read-only$/
    );
    expect(lines[7]).toBe(
      `ok    maria  mysql     role ${maria.reporting} reads 2 tables and 0 views, and can only read`
    );
    expect(lines[8]).toMatch(
      new RegExp(`^WARN  maria  mysql     role ${maria.finance} reads 3 tables and 0 views, and could write: .*INSERT`)
    );
    expect(lines[9]).toMatch(/^ok {4}lite {3}sqlite {4}connected in \d+ ms; 6 tables, 1 views; SQLite/);
    expect(lines[11]).toBe(
      'ok    lite   sqlite    role reporting reads 1 tables and 1 views, and can only read (the database file is opened read-only, with PRAGMA query_only and an authorizer)'
    );
    expect(lines).toHaveLength(12);
    // A warning is not a failure unless the environment requires least privilege.
    expect(result.code).toBe(0);
  }, 60_000);

  it('keeps a server from starting when a role of an environment that requires least privilege could write', async () => {
    const pg = pgFixture as RolesFixture;
    const dir = emptyDir('roles-start-');
    const strict = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      strict,
      [
        'environments:',
        '  pg:',
        `    database: ${pg.yaml}`,
        '    requireLeastPrivilege: true',
        `    access: { roles: { analysts: ${pg.reporting}, finance: ${pg.finance} }, default: none }`,
        ''
      ].join('\n')
    );
    const failure = await startServer({ args: ['serve', '--no-auth', '--config', strict, '--data-dir', dir] }).then(
      async server => {
        await server.stop();
        return 'started';
      },
      (error: unknown) => (error instanceof Error ? error.message : String(error))
    );
    expect(failure).toMatch(/exited with 1 before serving/);
    const refusal = failure.split('\n').find(line => line.includes('will not start')) ?? '';
    expect(refusal).toContain(
      `sqlbridge will not start: environment \\"pg\\" is read-only, but the role ${pg.finance} could write: may write tables: public.salaries (INSERT)`
    );
    expect(refusal).not.toContain(pg.reporting);
    expect(failure).toContain(`environment \\"pg\\": the role ${pg.reporting} can only read`);
  }, 60_000);

  it('notes a PostgreSQL login that inherits the privileges of its roles', async () => {
    const pg = pgFixture as RolesFixture;
    await pgAdmin('test', client => client.query(`ALTER ROLE ${pg.login} INHERIT`));
    try {
      const result = await runCli(['check', '--config', config]);
      const line = result.stdout.split('\n').find(l => l.includes(`the login ${pg.login}`));
      expect(line).toMatch(/the login inherits the privileges of its roles: .*make it NOINHERIT/);
      expect(line).toContain(pg.finance);
    } finally {
      await pgAdmin('test', client => client.query(`ALTER ROLE ${pg.login} NOINHERIT`));
    }
  }, 60_000);
});
