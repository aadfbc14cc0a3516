import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mssqlGuardRules } from '../../src/db/dialects/mssql/mssql-guard.ts';
import { parseGrant, writingGrants } from '../../src/db/dialects/mysql/mysql-privileges.ts';
import { lex } from '../../src/db/guard/lexer.ts';
import { MssqlPrivilegeProbe } from '../../src/db/dialects/mssql/mssql-privileges.ts';
import type { CatalogReader } from '../../src/db/introspector.ts';
import { summarize } from '../../src/db/privileges.ts';
import { describePrivileges } from '../../src/cli/commands/least-privilege.ts';
import { ConnectionError } from '../../src/errors/connection-error.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';

describe('SHOW GRANTS lines (MySQL and MariaDB)', () => {
  it.each([
    ['GRANT USAGE ON *.* TO `reader`@`%`', { privileges: ['USAGE'], scope: '*.*', roles: [], grantOption: false }],
    [
      "GRANT USAGE ON *.* TO `reader`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
      { privileges: ['USAGE'], scope: '*.*', roles: [], grantOption: false }
    ],
    [
      'GRANT SELECT, SHOW VIEW ON `analytics`.* TO `reader`@`%`',
      { privileges: ['SELECT', 'SHOW VIEW'], scope: '`analytics`.*', roles: [], grantOption: false }
    ],
    [
      'GRANT SELECT (`id`, `name`), UPDATE (`name`) ON `shop`.`customers` TO `clerk`@`localhost`',
      { privileges: ['SELECT', 'UPDATE'], scope: '`shop`.`customers`', roles: [], grantOption: false }
    ],
    [
      'GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION',
      { privileges: ['ALL PRIVILEGES'], scope: '*.*', roles: [], grantOption: true }
    ],
    [
      'GRANT EXECUTE ON PROCEDURE `shop`.`archive` TO `app`@`%`',
      { privileges: ['EXECUTE'], scope: '`shop`.`archive`', roles: [], grantOption: false }
    ],
    [
      'GRANT BACKUP_ADMIN,BINLOG_ADMIN,CONNECTION_ADMIN ON *.* TO `ops`@`%`',
      { privileges: ['BACKUP_ADMIN', 'BINLOG_ADMIN', 'CONNECTION_ADMIN'], scope: '*.*', roles: [], grantOption: false }
    ],
    [
      'GRANT `analyst`@`%`,`auditor`@`%` TO `reader`@`%`',
      { privileges: [], scope: undefined, roles: ['`analyst`@`%`', '`auditor`@`%`'], grantOption: false }
    ],
    ['GRANT `analyst` TO `reader`@`%`', { privileges: [], scope: undefined, roles: ['`analyst`'], grantOption: false }]
  ])('%s', (line, expected) => {
    expect(parseGrant(line)).toEqual(expected);
  });

  it('counts every privilege beyond reading, and GRANT OPTION', () => {
    expect(
      writingGrants(['GRANT USAGE ON *.* TO `reader`@`%`', 'GRANT SELECT, SHOW VIEW ON `analytics`.* TO `reader`@`%`'])
    ).toEqual({ writes: [], roles: [] });
    // PROCESS reads every session's running statement, other callers' literals included.
    expect(writingGrants(['GRANT PROCESS ON *.* TO `reader`@`%`'])).toEqual({ writes: ['PROCESS on *.*'], roles: [] });
    expect(
      writingGrants([
        'GRANT SELECT, INSERT ON `analytics`.* TO `app`@`%`',
        'GRANT FILE ON *.* TO `app`@`%`',
        "GRANT PROXY ON ''@'%' TO 'app'@'%' WITH GRANT OPTION",
        'GRANT `loader` TO `app`@`%`'
      ])
    ).toEqual({
      writes: ['INSERT on `analytics`.*', 'FILE on *.*', "PROXY on ''@'%'", "GRANT OPTION on ''@'%'"],
      roles: ['`loader`']
    });
  });
});

describe('summaries of findings', () => {
  it('lists a few and counts the rest', () => {
    expect(summarize('may write tables', [])).toEqual([]);
    expect(summarize('may write tables', ['a', 'b'])).toEqual(['may write tables: a, b']);
    expect(summarize('may write tables', ['a', 'b', 'c', 'd'], 2)).toEqual(['may write tables: a, b and 2 more']);
  });
});

describe('docs/least-privilege/mssql.sql (SQL Server cannot run here; checked as text)', () => {
  const script = readFileSync(new URL('../../docs/least-privilege/mssql.sql', import.meta.url), 'utf8');
  const batches = script
    .split(/^GO$/m)
    .map(batch => batch.replace(/^--.*$/gm, '').trim())
    .filter(batch => batch !== '');

  it('reads as T-SQL, batch by batch', () => {
    for (const batch of batches) expect(() => lex(batch, mssqlGuardRules.lexer), batch).not.toThrow();
  });

  it('creates the login in master and the user in the database it reads', () => {
    expect(batches[0]).toBe('USE master;');
    expect(batches[1]).toMatch(
      /^CREATE LOGIN sqlbridge_reader\s+WITH PASSWORD = N'[^']+', CHECK_POLICY = ON, DEFAULT_DATABASE = analytics;$/
    );
    expect(batches[2]).toBe('USE analytics;');
    expect(batches[3]).toMatch(/^CREATE USER sqlbridge_reader FOR LOGIN sqlbridge_reader/);
  });

  it('grants reading and denies every kind of write database-wide, without denying CONTROL (which would deny SELECT)', () => {
    const body = batches[3] ?? '';
    expect(body).toContain('ALTER ROLE db_datareader ADD MEMBER sqlbridge_reader;');
    expect(body).toMatch(/DENY INSERT, UPDATE, DELETE, EXECUTE, ALTER, TAKE OWNERSHIP TO sqlbridge_reader;/);
    expect(body).toMatch(/DENY CREATE TABLE, CREATE VIEW, CREATE PROCEDURE, CREATE FUNCTION, CREATE SCHEMA/);
    expect(body).not.toMatch(/DENY[^;]*\bCONTROL\b/);
    // The state views show what every session runs: other callers' statements.
    expect(body).toContain('DENY VIEW DATABASE STATE TO sqlbridge_reader;');
    expect(body).not.toMatch(/ON SCHEMA::dbo TO/);
  });
});

/**
 * The SQL Server probe over a catalog that answers as the runtime's catalog reader does: rows as
 * objects, and a statement the server refuses as a query_failed SqlbridgeError carrying its message.
 */
describe('SQL Server privilege probe when the server lacks sys.fn_my_permissions (Babelfish)', () => {
  const NO_FUNCTION = new SqlbridgeError(
    'query_failed',
    'function sys.fn_my_permissions(unknown, unknown) does not exist',
    {
      expose: true
    }
  );

  function catalog(answers: {
    tables?: Record<string, unknown>[];
    permissions?: 'missing' | Error | string[];
    updateability?: string;
  }): CatalogReader {
    return (sql: string) => {
      if (sql.includes('SUSER_SNAME()'))
        return Promise.resolve([
          { login: 'reader', db_user: 'reader', updateability: answers.updateability ?? 'READ_WRITE' }
        ]);
      if (sql.includes('IS_SRVROLEMEMBER')) return Promise.resolve([]);
      if (sql.includes('fn_my_permissions')) {
        const permissions = answers.permissions ?? 'missing';
        if (permissions === 'missing') return Promise.reject(NO_FUNCTION);
        if (permissions instanceof Error) return Promise.reject(permissions);
        return Promise.resolve(permissions.map(permission => ({ permission })));
      }
      if (sql.includes('HAS_PERMS_BY_NAME')) return Promise.resolve(answers.tables ?? []);
      return Promise.reject(new Error(`unexpected catalog query: ${sql}`));
    };
  }

  it('says what it could not determine instead of failing, and reads as a login that can only read', async () => {
    const report = await new MssqlPrivilegeProbe(catalog({})).check();
    expect(report.canWrite).toBe(false);
    expect(report.notes).toContain(
      'sqlbridge could not determine the database permissions: sys.fn_my_permissions is not available'
    );
    expect(describePrivileges(report)).toMatch(
      /can only read \(sqlbridge could not determine the database permissions/
    );
  });

  it('still finds the tables the login may write', async () => {
    const tables = [
      { schema_name: 'dbo', table_name: 'orders', permission: 'INSERT' },
      { schema_name: 'dbo', table_name: 'orders', permission: 'UPDATE' }
    ];
    const report = await new MssqlPrivilegeProbe(catalog({ tables })).check();
    expect(report.canWrite).toBe(true);
    expect(report.findings).toEqual(['may write tables: dbo.orders (INSERT/UPDATE)']);
  });

  it('reads a read-only database whatever the case of the catalog value', async () => {
    const tables = [{ schema_name: 'dbo', table_name: 'orders', permission: 'INSERT' }];
    const report = await new MssqlPrivilegeProbe(catalog({ tables, updateability: 'read_only' })).check();
    expect(report.canWrite).toBe(false);
    expect(report.notes.at(-1)).toMatch(/^the database is read-only/);
  });

  it('reports the permissions where the function exists', async () => {
    const report = await new MssqlPrivilegeProbe(catalog({ permissions: ['ALTER', 'INSERT'] })).check();
    expect(report.canWrite).toBe(true);
    expect(report.findings).toContain('database permissions: ALTER, INSERT');
    expect(report.notes).toEqual([]);
  });

  it('fails when the database cannot be reached, rather than calling that undetermined', async () => {
    const lost = new ConnectionError('unavailable', 'connection reset');
    await expect(new MssqlPrivilegeProbe(catalog({ permissions: lost })).check()).rejects.toBe(lost);
  });
});
