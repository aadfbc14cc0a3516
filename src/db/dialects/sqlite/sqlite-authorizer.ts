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

export type Authorizer = typeof readOnlyAuthorizer;

/** PRAGMAs whose argument names a table (or view) whose columns, keys or indexes they read. */
const TABLE_PRAGMAS: ReadonlySet<string> = new Set([
  'table_info',
  'table_xinfo',
  'index_list',
  'foreign_key_list',
  'foreign_key_check'
]);

/**
 * The tables a role may read (`access.tables`), as `schema.table` in lower case (`main.` for a bare
 * name). SQLite has no roles, so this authorizer is the role: it refuses, while a statement is
 * compiled, every access to a table that is not listed, whether the statement names it, reads it in
 * a subquery, through a view that is not listed, or asks its columns with `pragma_table_info`. A
 * listed view may read the tables under it (a view is how a role sees part of a table). The catalog
 * (`sqlite_schema`, statistics) stays readable, as PostgreSQL's pg_catalog does.
 */
export class TableAccess {
  private readonly qualified: ReadonlySet<string>;
  private readonly bare: ReadonlySet<string>;

  constructor(tables: readonly string[]) {
    const qualified = tables.map(table => (table.includes('.') ? table : `main.${table}`).toLowerCase());
    this.qualified = new Set(qualified);
    this.bare = new Set(qualified.map(table => table.slice(table.indexOf('.') + 1)));
  }

  /** Whether the table may be read; `schema` null when SQLite does not say (then any schema's entry counts). */
  allows(schema: string | null, table: string): boolean {
    const name = table.toLowerCase();
    if (name.startsWith('sqlite_') || name.startsWith('pragma_')) return true;
    return schema === null ? this.bare.has(name) : this.qualified.has(`${schema.toLowerCase()}.${name}`);
  }

  /** `base` (the read-only authorizer, or none) narrowed to these tables. */
  authorizer(base: Authorizer | undefined): Authorizer {
    return (action, arg1, arg2, database, trigger) => {
      if (!this.permits(action, arg1, arg2, database, trigger)) return constants.SQLITE_DENY;
      return base === undefined ? constants.SQLITE_OK : base(action, arg1, arg2, database, trigger);
    };
  }

  private permits(
    action: number,
    arg1: string | null,
    arg2: string | null,
    database: string | null,
    trigger: string | null
  ): boolean {
    switch (action) {
      case constants.SQLITE_READ:
        // A read through a listed view is the view's to allow.
        if (trigger !== null && this.allows(database, trigger)) return true;
        return this.allows(database, arg1 ?? '');
      case constants.SQLITE_INSERT:
      case constants.SQLITE_UPDATE:
      case constants.SQLITE_DELETE:
        return this.allows(database, arg1 ?? '');
      case constants.SQLITE_PRAGMA:
        return !(TABLE_PRAGMAS.has((arg1 ?? '').toLowerCase()) && arg2 !== null && !this.allows(null, arg2));
      default:
        return true;
    }
  }
}
