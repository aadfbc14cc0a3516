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

/** PRAGMAs whose argument names an index, whose columns they read. */
const INDEX_PRAGMAS: ReadonlySet<string> = new Set(['index_info', 'index_xinfo']);

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

  /**
   * Whether the table may be read; `schema` null when SQLite does not say (then any schema's entry
   * counts). The catalog is: `sqlite_` names are SQLite's own (no table may take one), and so are the
   * `pragma_` tables of the catalog PRAGMAs. Another table named `pragma_…` is a table like any other.
   */
  allows(schema: string | null, table: string): boolean {
    const name = table.toLowerCase();
    if (name.startsWith('sqlite_') || (name.startsWith('pragma_') && READ_ONLY_PRAGMAS.has(name.slice(7)))) return true;
    return schema === null ? this.bare.has(name) : this.qualified.has(`${schema.toLowerCase()}.${name}`);
  }

  /**
   * Whether a name is one the role may read by (a listed table or view, any schema). SQLite tells the
   * authorizer which view a read happens through, and names a WITH query there just as it names a
   * view: `WITH listed_view AS (SELECT * FROM secret) …` would read `secret` as the listed view may.
   * The driver refuses a WITH query so named (sqlite-with-names.ts), so a read through a listed view's
   * name is a read through the view.
   */
  lists(name: string): boolean {
    return this.bare.has(name.toLowerCase());
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
      case constants.SQLITE_PRAGMA: {
        const pragma = (arg1 ?? '').toLowerCase();
        // An index's PRAGMAs name the index, not its table: no way to tell whether the role may read it.
        if (INDEX_PRAGMAS.has(pragma)) return false;
        return !(TABLE_PRAGMAS.has(pragma) && arg2 !== null && !this.allows(null, arg2));
      }
      default:
        return true;
    }
  }
}
