import { constants } from 'node:sqlite';

/**
 * The authorizer of a read-only SQLite connection (https://sqlite.org/c3ref/set_authorizer.html):
 * SQLite asks it about every action while compiling a statement. Reads, functions and recursive CTEs
 * pass; writes, schema changes, ATTACH/DETACH, transactions and any PRAGMA outside a list of
 * catalog-reading ones are denied. It backs the read-only open flag and `PRAGMA query_only`.
 */

export const READ_ONLY_PRAGMAS: ReadonlySet<string> = new Set([
  'table_info',
  'table_xinfo',
  'table_list',
  'index_list',
  'index_info',
  'index_xinfo',
  'foreign_key_list',
  'database_list',
  'collation_list',
  'function_list',
  'pragma_list',
  'compile_options',
  'data_version'
]);

const ALLOWED_ACTIONS = new Set<number>([
  constants.SQLITE_SELECT,
  constants.SQLITE_READ,
  constants.SQLITE_FUNCTION,
  constants.SQLITE_RECURSIVE
]);

/** Functions that reach outside the database or change the connection, refused even in a SELECT. */
const DENIED_FUNCTIONS = new Set(['load_extension', 'readfile', 'writefile', 'edit', 'fts3_tokenizer']);

export function readOnlyAuthorizer(
  action: number,
  arg1: string | null,
  arg2: string | null,
  _database: string | null,
  _trigger: string | null
): number {
  if (action === constants.SQLITE_FUNCTION) {
    return DENIED_FUNCTIONS.has((arg2 ?? '').toLowerCase()) ? constants.SQLITE_DENY : constants.SQLITE_OK;
  }
  if (ALLOWED_ACTIONS.has(action)) return constants.SQLITE_OK;
  if (action === constants.SQLITE_PRAGMA && READ_ONLY_PRAGMAS.has((arg1 ?? '').toLowerCase()))
    return constants.SQLITE_OK;
  return constants.SQLITE_DENY;
}
