import { constants, type DatabaseSync } from 'node:sqlite';

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
 * SQLite compares names without regard to case for ASCII letters only: `"ÄBC"` and `"äbc"` are two
 * tables, `"ABC"` and `"abc"` one.
 */
export function foldName(name: string): string {
  return name.replace(/[A-Z]+/g, letters => letters.toLowerCase());
}

/**
 * The tables a role may read (`access.tables`), as `schema.table` with ASCII letters in lower case
 * (`main.` for a bare name). SQLite has no roles, so this authorizer is the role: it refuses, while a
 * statement is compiled, every access to a table that is not listed, whether the statement names it,
 * reads it in a subquery, through a view that is not listed, or asks its columns with
 * `pragma_table_info`. A listed view may read the tables under it (a view is how a role sees part of
 * a table). The catalog (`sqlite_schema`, statistics, the catalog PRAGMAs) stays readable, as
 * PostgreSQL's pg_catalog does.
 *
 * A catalog PRAGMA's table (`pragma_table_list`) is read under its own name, as a table of the same
 * name would be, and a table so named in `main` hides the PRAGMA's. Before each statement compiles,
 * `survey` notes the tables of `main` named so: a read of such a name is the PRAGMA's only while no
 * table takes it. It also notes which table each index belongs to, when the statement names an
 * index PRAGMA, so that a role may read the columns of the indexes of its own tables.
 */
export class TableAccess {
  private readonly qualified: ReadonlySet<string>;
  private readonly bare: ReadonlySet<string>;
  /**
   * `pragma_…` tables of `main`, hiding the catalog PRAGMAs of the same names (ASCII lower case);
   * undefined until `survey` has run, and then no read of such a name is taken for the PRAGMA's.
   */
  private hiding: ReadonlySet<string> | undefined;
  /** The schema and table of each index, by the index's name (ASCII lower case), when surveyed. */
  private indexTables: ReadonlyMap<string, { schema: string; table: string }[]> = new Map();

  constructor(tables: readonly string[]) {
    const qualified = tables.map(table => foldName(table.includes('.') ? table : `main.${table}`));
    this.qualified = new Set(qualified);
    this.bare = new Set(qualified.map(table => table.slice(table.indexOf('.') + 1)));
  }

  /**
   * Whether the table may be read; `schema` null when SQLite does not say (then any schema's entry
   * counts). `sqlite_` names are SQLite's own catalog (no table may take one).
   */
  allows(schema: string | null, table: string): boolean {
    const name = foldName(table);
    if (name.startsWith('sqlite_')) return true;
    return schema === null ? this.bare.has(name) : this.qualified.has(`${foldName(schema)}.${name}`);
  }

  /**
   * Whether a name is one the role may read by (a listed table or view, any schema). SQLite tells the
   * authorizer which view a read happens through, and names a WITH query there just as it names a
   * view: `WITH listed_view AS (SELECT * FROM secret) …` would read `secret` as the listed view may.
   * The driver refuses a WITH query so named (sqlite-with-names.ts), so a read through a listed view's
   * name is a read through the view.
   */
  lists(name: string): boolean {
    return this.bare.has(foldName(name));
  }

  /**
   * Reads, before `sql` compiles on `connection` (under this authorizer), what the authorizer cannot
   * ask while it decides: which catalog PRAGMA tables a table hides, and, when `sql` names an index
   * PRAGMA, the table of every index.
   */
  survey(connection: DatabaseSync, sql: string): void {
    const hiding = connection
      .prepare(`SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name LIKE 'pragma\\_%' ESCAPE '\\'`)
      .all() as { name: string }[];
    this.hiding = new Set(hiding.map(row => foldName(row.name)));
    if (!/index_x?info/i.test(sql)) {
      this.indexTables = new Map();
      return;
    }
    const indexTables = new Map<string, { schema: string; table: string }[]>();
    // The PRAGMA itself, not its table: no table can take its place.
    for (const { name: schema } of connection.prepare('PRAGMA database_list').all() as { name: string }[]) {
      const quoted = `"${schema.replaceAll('"', '""')}"`;
      const rows = connection
        .prepare(`SELECT name, tbl_name FROM ${quoted}.sqlite_schema WHERE type = 'index'`)
        .all() as { name: string; tbl_name: string }[];
      for (const row of rows) {
        const name = foldName(row.name);
        indexTables.set(name, [...(indexTables.get(name) ?? []), { schema, table: row.tbl_name }]);
      }
    }
    this.indexTables = indexTables;
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
        if (this.allows(database, arg1 ?? '')) return true;
        return trigger === null && this.pragmaTableRead(database, arg1 ?? '');
      case constants.SQLITE_INSERT:
      case constants.SQLITE_UPDATE:
      case constants.SQLITE_DELETE:
        return this.allows(database, arg1 ?? '');
      case constants.SQLITE_PRAGMA: {
        const pragma = foldName(arg1 ?? '');
        // An index's PRAGMAs name the index: the role may read it if it may read the index's table.
        if (INDEX_PRAGMAS.has(pragma)) return arg2 !== null && this.indexReadable(database, arg2);
        return !(TABLE_PRAGMAS.has(pragma) && arg2 !== null && !this.allows(database, arg2));
      }
      default:
        return true;
    }
  }

  /** A read of a catalog PRAGMA's table: only ever in `main`, and only while no table there takes its name. */
  private pragmaTableRead(database: string | null, table: string): boolean {
    const name = foldName(table);
    if (!name.startsWith('pragma_') || !READ_ONLY_PRAGMAS.has(name.slice(7))) return false;
    if (this.hiding === undefined || this.hiding.has(name)) return false;
    return database === null || foldName(database) === 'main';
  }

  /** Whether every index of that name (in `schema`, or in any schema when null) is on a table the role may read. */
  private indexReadable(schema: string | null, index: string): boolean {
    const owners = (this.indexTables.get(foldName(index)) ?? []).filter(
      owner => schema === null || foldName(owner.schema) === foldName(schema)
    );
    return owners.length > 0 && owners.every(owner => this.allows(owner.schema, owner.table));
  }
}
