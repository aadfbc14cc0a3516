/**
 * The caller's database role on SQL Server, which is a database user there: `EXECUTE AS USER` with
 * a cookie (https://learn.microsoft.com/sql/t-sql/statements/execute-as-transact-sql), and
 * `REVERT WITH COOKIE` (https://learn.microsoft.com/sql/t-sql/statements/revert-transact-sql) before
 * the connection goes back to the pool. Both must run as ad hoc batches: a context switch made inside
 * sp_executesql (a parameterised query) ends with it. Only the holder of the cookie can switch back,
 * and the statement guard refuses REVERT and EXECUTE AS anyway. Should the revert fail, the pool's
 * sp_reset_connection refuses to reset an impersonating session and drops the connection (error
 * 18059), so no later caller ever inherits the role.
 */

/** A role (user) name is checked to be a plain identifier; quotes are doubled all the same. */
function unicodeLiteral(name: string): string {
  return `N'${name.replaceAll("'", "''")}'`;
}

/** The batch that switches to `role` and returns the cookie that switches back (column `cookie`). */
export function executeAsSql(role: string): string {
  return [
    'DECLARE @sqlbridge_cookie varbinary(8000);',
    `EXECUTE AS USER = ${unicodeLiteral(role)} WITH COOKIE INTO @sqlbridge_cookie;`,
    'SELECT @sqlbridge_cookie AS cookie;'
  ].join('\n');
}

/** The batch that switches back with the cookie `executeAsSql` returned. */
export function revertSql(cookie: Uint8Array): string {
  return [
    `DECLARE @sqlbridge_cookie varbinary(8000) = 0x${Buffer.from(cookie).toString('hex')};`,
    'REVERT WITH COOKIE = @sqlbridge_cookie;'
  ].join('\n');
}
