import { describe, expect, it } from 'vitest';
import { executeAsSql, revertSql } from '../../src/db/dialects/mssql/mssql-role.ts';

/**
 * The SQL Server role switch without a SQL Server (the database-roles integration suite runs it on
 * one where SQLBRIDGE_TEST_MSSQL_URL names a server): ad hoc batches, never parameterised (a context
 * switch inside sp_executesql would end with it), the name a Unicode literal, the cookie a binary one.
 */

describe('switching SQL Server to a caller’s database user', () => {
  it('impersonates the user with a cookie and returns the cookie', () => {
    expect(executeAsSql('reporting_eu')).toBe(
      [
        'DECLARE @sqlbridge_cookie varbinary(8000);',
        "EXECUTE AS USER = N'reporting_eu' WITH COOKIE INTO @sqlbridge_cookie;",
        'SELECT @sqlbridge_cookie AS cookie;'
      ].join('\n')
    );
  });

  it('doubles quotes in a name, though configuration only admits plain identifiers', () => {
    expect(executeAsSql("o'brien")).toContain("EXECUTE AS USER = N'o''brien' WITH COOKIE");
  });

  it('reverts with the cookie as a binary literal', () => {
    expect(revertSql(Uint8Array.from([0x01, 0xab, 0xff]))).toBe(
      ['DECLARE @sqlbridge_cookie varbinary(8000) = 0x01abff;', 'REVERT WITH COOKIE = @sqlbridge_cookie;'].join('\n')
    );
  });
});
