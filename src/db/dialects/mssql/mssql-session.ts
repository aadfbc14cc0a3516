import { SqlbridgeError } from '../../../errors/sqlbridge-error.ts';
import type { SessionValues } from '../../driver.ts';
import { sessionEntries } from '../session-keys.ts';

/**
 * The caller's identity as SQL Server session context
 * (https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-set-session-context-transact-sql):
 * one batch of `EXEC sys.sp_set_session_context @key = N'<key>', @value = @vN, @read_only = 1`, the
 * key exactly as configured (policies read `SESSION_CONTEXT(N'DepartmentID')`), the value a bound
 * nvarchar. Read-only keys cannot be set again on the same logical connection, so nothing the caller
 * sends can change them; the pool resets every connection before lending it out again (see
 * mssql-pool.ts), which starts a new logical connection with no keys at all.
 */

/** sysname: 128 characters, more than the configuration allows. */
const MAX_KEY_LENGTH = 128;
/** A session context value is at most 8,000 bytes: 4,000 UTF-16 characters as nvarchar. */
export const MAX_VALUE_LENGTH = 4000;

export interface SessionContextSql {
  sql: string;
  /** Parameters `v1`, `v2`, … in order, each bound as nvarchar(4000). */
  values: (string | null)[];
}

/** The statements that set `session`, or undefined when there is nothing to set. */
export function sessionContextSql(session: SessionValues | undefined): SessionContextSql | undefined {
  const entries = sessionEntries(session, MAX_KEY_LENGTH);
  if (entries.length === 0) return undefined;
  for (const [key, value] of entries) {
    if (value !== null && value.length > MAX_VALUE_LENGTH) {
      throw new SqlbridgeError(
        'query_failed',
        `the caller’s value for the identity key ${key} is longer than SQL Server’s session context holds (${MAX_VALUE_LENGTH} characters)`,
        { expose: true, hint: 'shorten the user attribute it comes from' }
      );
    }
  }
  // Keys are checked to be plain names; the quotes are doubled all the same.
  const sql = entries
    .map(
      ([key], i) =>
        `EXEC sys.sp_set_session_context @key = N'${key.replaceAll("'", "''")}', @value = @v${i + 1}, @read_only = 1;`
    )
    .join('\n');
  return { sql, values: entries.map(([, value]) => value) };
}
