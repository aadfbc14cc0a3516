import { isSqlbridgeError } from '../../../errors/sqlbridge-error.ts';
import { textOf } from '../../catalog-values.ts';
import type { CatalogReader } from '../../introspector.ts';
import { summarize, type PrivilegeProbe, type PrivilegeReport } from '../../privileges.ts';

/**
 * What the SQL Server login may change: fixed server and database roles (IS_SRVROLEMEMBER,
 * IS_ROLEMEMBER), effective database and server permissions (fn_my_permissions), and INSERT, UPDATE
 * or DELETE on tables and views (HAS_PERMS_BY_NAME, which accounts for roles and DENY).
 * https://learn.microsoft.com/sql/relational-databases/system-functions/sys-fn-my-permissions-transact-sql
 */

const LOGIN = `
SELECT SUSER_SNAME() AS login, USER_NAME() AS db_user,
       CAST(DATABASEPROPERTYEX(DB_NAME(), 'Updateability') AS nvarchar(20)) AS updateability`;

const ROLES = `
SELECT N'server role ' + r.name AS finding
  FROM (VALUES (N'sysadmin'), (N'serveradmin'), (N'securityadmin'), (N'setupadmin'), (N'processadmin'),
               (N'diskadmin'), (N'dbcreator'), (N'bulkadmin')) AS r(name)
 WHERE IS_SRVROLEMEMBER(r.name) = 1
UNION ALL
SELECT N'database role ' + r.name
  FROM (VALUES (N'db_owner'), (N'db_datawriter'), (N'db_ddladmin'), (N'db_securityadmin'), (N'db_accessadmin'),
               (N'db_backupoperator')) AS r(name)
 WHERE IS_ROLEMEMBER(r.name) = 1`;

/**
 * Database permissions that change something (reading ones such as SELECT, CONNECT, VIEW DEFINITION and
 * SHOWPLAN are left out), and VIEW DATABASE STATE, which shows every session's running statement:
 * other callers', since all share the login. VIEW SERVER STATE does the same at server scope.
 */
const DATABASE_PERMISSIONS = `
SELECT permission_name AS permission
  FROM sys.fn_my_permissions(NULL, N'DATABASE')
 WHERE permission_name IN (N'INSERT', N'UPDATE', N'DELETE', N'EXECUTE', N'CONTROL', N'TAKE OWNERSHIP', N'IMPERSONATE',
                           N'BACKUP DATABASE', N'BACKUP LOG', N'CHECKPOINT', N'VIEW DATABASE STATE',
                           N'VIEW DATABASE PERFORMANCE STATE')
    OR permission_name LIKE N'CREATE %' OR permission_name LIKE N'ALTER%' OR permission_name LIKE N'ADMINISTER%'
 ORDER BY permission_name`;

const SERVER_PERMISSIONS = `
SELECT permission_name AS permission
  FROM sys.fn_my_permissions(NULL, N'SERVER')
 WHERE permission_name IN (N'CONTROL SERVER', N'SHUTDOWN', N'EXTERNAL ACCESS ASSEMBLY', N'UNSAFE ASSEMBLY',
                           N'IMPERSONATE ANY LOGIN', N'AUTHENTICATE SERVER', N'CREATE ANY DATABASE',
                           N'VIEW SERVER STATE', N'VIEW SERVER PERFORMANCE STATE')
    OR permission_name LIKE N'ALTER %' OR permission_name LIKE N'ADMINISTER%'
 ORDER BY permission_name`;

const TABLES = `
SELECT TOP (50) s.name AS schema_name, o.name AS table_name, p.permission
  FROM sys.objects AS o
  JOIN sys.schemas AS s ON s.schema_id = o.schema_id
 CROSS JOIN (VALUES (N'INSERT'), (N'UPDATE'), (N'DELETE')) AS p(permission)
 WHERE o.type IN ('U', 'V') AND o.is_ms_shipped = 0
   AND HAS_PERMS_BY_NAME(QUOTENAME(s.name) + N'.' + QUOTENAME(o.name), N'OBJECT', p.permission) = 1
 ORDER BY s.name, o.name, p.permission`;

export class MssqlPrivilegeProbe implements PrivilegeProbe {
  private readonly catalog: CatalogReader;

  constructor(catalog: CatalogReader) {
    this.catalog = catalog;
  }

  async check(): Promise<PrivilegeReport> {
    const [login] = await this.catalog(LOGIN);
    const roles = (await this.catalog(ROLES)).map(row => textOf(row['finding']));
    const notes: string[] = [];
    // Babelfish for PostgreSQL has no sys.fn_my_permissions: roles and table permissions still say
    // what the login may write, and the report says what could not be determined.
    const database = await this.permissions(DATABASE_PERMISSIONS, () =>
      notes.push('sqlbridge could not determine the database permissions: sys.fn_my_permissions is not available')
    );
    // Azure SQL Database has no server scope to ask about.
    const server = await this.permissions(SERVER_PERMISSIONS, () =>
      notes.push(
        'sqlbridge could not determine the server permissions: there is no server scope to ask (Azure SQL Database)'
      )
    );
    const tables = new Map<string, string[]>();
    for (const row of await this.catalog(TABLES)) {
      const name = `${textOf(row['schema_name'])}.${textOf(row['table_name'])}`;
      tables.set(name, [...(tables.get(name) ?? []), textOf(row['permission'])]);
    }
    const findings = [
      ...roles.map(role => `member of ${role}`),
      ...summarize('database permissions', database, 8),
      ...summarize('server permissions', server, 8),
      ...summarize(
        'may write tables',
        [...tables].map(([name, permissions]) => `${name} (${permissions.join('/')})`)
      )
    ];
    const readOnlyDatabase = textOf(login?.['updateability']).toUpperCase() === 'READ_ONLY';
    if (readOnlyDatabase)
      notes.push('the database is read-only (a readable secondary or READ_ONLY): nothing can be written there');
    const who = `${textOf(login?.['login'])} (database user ${textOf(login?.['db_user'])})`;
    return { login: who, canWrite: !readOnlyDatabase && findings.length > 0, findings, notes };
  }

  /** The permissions a fn_my_permissions query finds; none, with `unavailable` called, when the server has no such function. */
  private async permissions(sql: string, unavailable: () => void): Promise<string[]> {
    try {
      return (await this.catalog(sql)).map(row => textOf(row['permission']));
    } catch (error) {
      // Only the server's refusal of the query itself; a connection that failed fails the check.
      if (!isSqlbridgeError(error) || error.code !== 'query_failed') throw error;
      unavailable();
      return [];
    }
  }
}
