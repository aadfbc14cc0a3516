import { DATA_CHANGE_WORDS, OTHER_CALLERS, SESSION_REASON, transactionStatements } from '../../guard/common-rules.ts';
import type { Token } from '../../guard/lexer.ts';
import {
  isWriteTarget,
  unquote,
  type FunctionRule,
  type GuardRules,
  type PhraseRule
} from '../../guard/statement-guard.ts';

/**
 * What the statement guard allows on PostgreSQL (https://www.postgresql.org/docs/current/sql-commands.html).
 * Statements end at semicolons; strings come as '…' (backslashes depending on
 * standard_conforming_strings), E'…' and $tag$…$tag$; block comments nest.
 */

const FILES = 'reads or writes files on the database server';
const FOREIGN_PASSWORDS = 'user mappings hold the passwords of logins on foreign servers';
const TEMPORARY = 'temporary objects outlive the call on a shared connection and can hide tables';

/** TEMP makes a temporary object after CREATE [OR REPLACE] [GLOBAL|LOCAL] and SELECT … INTO; elsewhere it is a name. */
function notCreating(statement: readonly Token[], index: number): boolean {
  const previous = statement[index - 1];
  return !(previous?.kind === 'word' && ['CREATE', 'REPLACE', 'GLOBAL', 'LOCAL', 'INTO'].includes(previous.upper));
}
const SERVER = 'changes the state of the database server';
/** Words after which a name is a setting being set: SET [LOCAL | SESSION] x, RESET x, ALTER … SET x. */
const SETTING_AFTER = new Set(['SET', 'RESET', 'LOCAL', 'SESSION']);

/**
 * Where a statement would change a `sqlbridge.*` setting, the caller's identity: SET, SET LOCAL or
 * RESET of one (also inside ALTER ROLE, ALTER FUNCTION …), or set_config() naming one. Setting names
 * compare case-insensitively, quoted or not. Every other SET and set_config() is refused anyway.
 */
function postgresIdentityChange(statement: readonly Token[]): string | undefined {
  for (const [i, token] of statement.entries()) {
    if (token.kind !== 'word' && token.kind !== 'quoted') continue;
    const name = unquote(token).toLowerCase();
    const previous = statement[i - 1];
    const dot = statement[i + 1];
    const key = statement[i + 2];
    if (
      name === 'sqlbridge' &&
      dot?.kind === 'symbol' &&
      dot.text === '.' &&
      previous?.kind === 'word' &&
      SETTING_AFTER.has(previous.upper)
    ) {
      const setting = key === undefined ? 'sqlbridge.…' : `sqlbridge.${unquote(key)}`;
      return `${previous.upper === 'RESET' ? 'RESET' : 'SET'} ${setting}`;
    }
    // One quoted name holding the whole setting: SET "sqlbridge.subject", ALTER … SET "sqlbridge.subject".
    if (
      token.kind === 'quoted' &&
      name.startsWith('sqlbridge.') &&
      previous?.kind === 'word' &&
      SETTING_AFTER.has(previous.upper)
    ) {
      return `${previous.upper === 'RESET' ? 'RESET' : 'SET'} ${unquote(token)}`;
    }
    if (name === 'set_config' && dot?.kind === 'symbol' && dot.text === '(') {
      if (key?.kind === 'string' && /sqlbridge\./i.test(key.text)) return `set_config(${key.text}, …)`;
    }
  }
  return undefined;
}

const functions: FunctionRule[] = [
  { name: 'SET_CONFIG', reason: `set_config() ${SESSION_REASON}`, alsoInWrites: true },
  { name: 'SETSEED', reason: `setseed() ${SESSION_REASON}`, alsoInWrites: true },
  { name: 'PG_ADVISORY*', reason: 'advisory locks outlive the statement', alsoInWrites: true },
  { name: 'PG_TRY_ADVISORY*', reason: 'advisory locks outlive the statement', alsoInWrites: true },
  { name: 'PG_TERMINATE_BACKEND', reason: 'pg_terminate_backend() ends other sessions', alsoInWrites: true },
  { name: 'PG_CANCEL_BACKEND', reason: 'pg_cancel_backend() stops other sessions’ queries', alsoInWrites: true },
  { name: 'PG_RELOAD_CONF', reason: `pg_reload_conf() ${SERVER}`, alsoInWrites: true },
  { name: 'PG_ROTATE_LOGFILE', reason: `pg_rotate_logfile() ${SERVER}`, alsoInWrites: true },
  { name: 'PG_SWITCH_WAL', reason: `pg_switch_wal() ${SERVER}`, alsoInWrites: true },
  { name: 'PG_CREATE_*', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_DROP_REPLICATION_SLOT', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_COPY_*', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_REPLICATION_*', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_LOGICAL_*', reason: 'logical decoding functions consume or emit replication data', alsoInWrites: true },
  { name: 'PG_BACKUP_*', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_START_BACKUP', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_STOP_BACKUP', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_PROMOTE', reason: `pg_promote() ${SERVER}`, alsoInWrites: true },
  { name: 'PG_WAL_REPLAY_*', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_STAT_GET_ACTIVITY', reason: `pg_stat_get_activity() ${OTHER_CALLERS}`, alsoInWrites: true },
  {
    name: 'PG_STAT_GET_BACKEND_ACTIVITY',
    reason: `pg_stat_get_backend_activity() ${OTHER_CALLERS}`,
    alsoInWrites: true
  },
  {
    name: 'PG_STAT_GET_BACKEND_*',
    reason:
      'this function shows other sessions (their user, address and times): other callers, since every caller shares the environment’s login',
    alsoInWrites: true
  },
  { name: 'PG_STAT_RESET*', reason: 'this function resets the server’s statistics', alsoInWrites: true },
  { name: 'PG_STAT_STATEMENTS_RESET', reason: 'this function resets the server’s statistics', alsoInWrites: true },
  { name: 'BRIN_SUMMARIZE*', reason: 'this function changes an index', alsoInWrites: true },
  { name: 'BRIN_DESUMMARIZE*', reason: 'this function changes an index', alsoInWrites: true },
  { name: 'GIN_CLEAN_PENDING_LIST', reason: 'this function changes an index', alsoInWrites: true },
  { name: 'PG_IMPORT_SYSTEM_COLLATIONS', reason: 'this function changes the schema', alsoInWrites: true },
  { name: 'PG_NOTIFY', reason: 'pg_notify() sends a message to other sessions', alsoInWrites: true },
  { name: 'PG_SLEEP*', reason: 'pg_sleep() holds a connection without reading data', alsoInWrites: true },
  { name: 'PG_READ_FILE', reason: `pg_read_file() ${FILES}`, alsoInWrites: true },
  { name: 'PG_READ_BINARY_FILE', reason: `pg_read_binary_file() ${FILES}`, alsoInWrites: true },
  { name: 'PG_LS_*', reason: 'this function lists files on the database server', alsoInWrites: true },
  { name: 'PG_STAT_FILE', reason: `pg_stat_file() ${FILES}`, alsoInWrites: true },
  { name: 'PG_FILE_*', reason: `this function ${FILES}`, alsoInWrites: true },
  { name: 'PG_LOGDIR_LS', reason: 'this function lists files on the database server', alsoInWrites: true },
  { name: 'LO_IMPORT', reason: `lo_import() ${FILES}`, alsoInWrites: true },
  { name: 'LO_EXPORT', reason: `lo_export() ${FILES}`, alsoInWrites: true },
  { name: 'LO_*', reason: 'large-object functions create, change or open large objects' },
  { name: 'LOWRITE', reason: 'lowrite() changes a large object' },
  { name: 'LOREAD', reason: 'loread() needs a large-object descriptor opened by lo_open()' },
  { name: 'DBLINK*', reason: 'dblink functions connect to other databases', alsoInWrites: true },
  { name: 'QUERY_TO_XML*', reason: 'query_to_xml() runs SQL text the guard cannot check', alsoInWrites: true },
  {
    name: 'QUERY_TO_XMLSCHEMA',
    reason: 'query_to_xmlschema() runs SQL text the guard cannot check',
    alsoInWrites: true
  },
  { name: 'CURSOR_TO_XML*', reason: 'cursor_to_xml() reads from a cursor the guard cannot check', alsoInWrites: true },
  // The table, schema or database named in a string: pg_stat_activity, say, out of the guard's sight.
  {
    name: 'TABLE_TO_XML*',
    reason: 'table_to_xml() reads a table named in text the guard cannot check',
    alsoInWrites: true
  },
  {
    name: 'SCHEMA_TO_XML*',
    reason: 'schema_to_xml() reads every table of a schema named in text the guard cannot check',
    alsoInWrites: true
  },
  { name: 'DATABASE_TO_XML*', reason: 'database_to_xml() reads every table of the database', alsoInWrites: true },
  { name: 'TS_STAT', reason: 'ts_stat() runs SQL text the guard cannot check', alsoInWrites: true },
  { name: 'TS_REWRITE', reason: 'ts_rewrite() can run SQL text the guard cannot check', alsoInWrites: true },
  { name: 'CROSSTAB*', reason: 'crosstab() runs SQL text the guard cannot check', alsoInWrites: true },
  { name: 'CONNECTBY', reason: 'connectby() runs SQL text the guard cannot check', alsoInWrites: true },
  { name: 'XPATH_TABLE', reason: 'xpath_table() runs SQL text the guard cannot check', alsoInWrites: true },
  { name: 'PG_BACKGROUND_*', reason: 'pg_background runs SQL text in another session', alsoInWrites: true },
  { name: 'SCHEDULE', reason: 'pg_cron jobs run SQL text later', alsoInWrites: true },
  { name: 'SCHEDULE_IN_DATABASE', reason: 'pg_cron jobs run SQL text later', alsoInWrites: true },
  { name: 'UNSCHEDULE', reason: 'this function changes pg_cron jobs', alsoInWrites: true },
  { name: 'ALTER_JOB', reason: 'this function changes pg_cron jobs', alsoInWrites: true },
  { name: 'HEAP_FORCE_*', reason: 'this function changes table data outside any transaction', alsoInWrites: true },
  {
    name: 'PG_TRUNCATE_VISIBILITY_MAP',
    reason: 'this function changes a table outside any transaction',
    alsoInWrites: true
  },
  { name: 'PG_PREWARM', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'AUTOPREWARM_*', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_NEXTOID', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_STOP_MAKING_PINNED_OBJECTS', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'PG_LOG_*', reason: `this function ${SERVER}`, alsoInWrites: true },
  { name: 'NEXTVAL', reason: 'nextval() advances a sequence' },
  { name: 'SETVAL', reason: 'setval() changes a sequence' },
  { name: 'TXID_CURRENT', reason: 'txid_current() assigns a transaction id' },
  { name: 'PG_CURRENT_XACT_ID', reason: 'pg_current_xact_id() assigns a transaction id' }
];

/** Objects outside the database's tables: roles, databases, extensions, foreign servers. */
const SERVER_OBJECTS = [
  'ROLE',
  'USER',
  'GROUP',
  'DATABASE',
  'TABLESPACE',
  'EXTENSION',
  'SERVER',
  'SUBSCRIPTION',
  'PUBLICATION',
  'LANGUAGE',
  'TRANSFORM'
];

const phrases: PhraseRule[] = [
  { words: ['FOR', 'UPDATE'], reason: 'FOR UPDATE locks the rows it reads' },
  { words: ['FOR', 'NO', 'KEY', 'UPDATE'], reason: 'FOR NO KEY UPDATE locks the rows it reads' },
  { words: ['FOR', 'SHARE'], reason: 'FOR SHARE locks the rows it reads' },
  { words: ['FOR', 'KEY', 'SHARE'], reason: 'FOR KEY SHARE locks the rows it reads' },
  { words: ['ALTER', 'SYSTEM'], reason: 'ALTER SYSTEM changes the server’s configuration', alsoInWrites: true },
  {
    words: ['ALTER', 'DEFAULT', 'PRIVILEGES'],
    reason: 'ALTER DEFAULT PRIVILEGES changes permissions',
    alsoInWrites: true
  },
  { words: ['CREATE', 'EVENT', 'TRIGGER'], reason: 'event triggers run code on schema changes', alsoInWrites: true },
  {
    words: ['CREATE', 'FOREIGN', 'DATA', 'WRAPPER'],
    reason: 'foreign data wrappers reach other servers',
    alsoInWrites: true
  },
  {
    words: ['CREATE', 'USER', 'MAPPING'],
    reason: 'user mappings hold credentials for other servers',
    alsoInWrites: true
  },
  ...['CREATE', 'ALTER', 'DROP'].flatMap(verb =>
    SERVER_OBJECTS.map(object => ({
      words: [verb, object],
      reason: `${verb} ${object} changes the server, not the data`,
      alsoInWrites: true
    }))
  ),
  // A function's settings and attributes decide how its code runs: SET role makes it run as another
  // role (any the login may become), SET search_path changes what it calls.
  ...['FUNCTION', 'PROCEDURE', 'ROUTINE', 'AGGREGATE'].map(object => ({
    words: ['ALTER', object],
    reason: `ALTER ${object} changes how code the guard cannot check runs (its role, settings and search path)`,
    alsoInWrites: true
  })),
  // Code that runs later, out of the guard's sight (bodies are strings), and changes to who may see what.
  ...['FUNCTION', 'PROCEDURE', 'TRIGGER', 'RULE', 'AGGREGATE', 'OPERATOR', 'CAST', 'CONVERSION'].flatMap(object => [
    { words: ['CREATE', object], reason: `CREATE ${object} defines code the guard cannot check`, alsoInWrites: true },
    {
      words: ['CREATE', 'OR', 'REPLACE', object],
      reason: `CREATE ${object} defines code the guard cannot check`,
      alsoInWrites: true
    }
  ]),
  // CREATE [OR REPLACE] [TRUSTED] [PROCEDURAL] LANGUAGE, CREATE OR REPLACE TRANSFORM.
  ...[
    ['TRUSTED'],
    ['PROCEDURAL'],
    ['TRUSTED', 'PROCEDURAL'],
    ['OR', 'REPLACE'],
    ['OR', 'REPLACE', 'TRUSTED'],
    ['OR', 'REPLACE', 'PROCEDURAL'],
    ['OR', 'REPLACE', 'TRUSTED', 'PROCEDURAL']
  ].map(middle => ({
    words: ['CREATE', ...middle, 'LANGUAGE'],
    reason: 'procedural languages run code the guard cannot check',
    alsoInWrites: true
  })),
  {
    words: ['CREATE', 'OR', 'REPLACE', 'TRANSFORM'],
    reason: 'transforms run code the guard cannot check',
    alsoInWrites: true
  },
  // Foreign tables read files, run programs or reach other servers through their options.
  ...['CREATE', 'ALTER', 'DROP'].map(verb => ({
    words: [verb, 'FOREIGN', 'TABLE'],
    reason: 'foreign tables reach files, programs and other servers',
    alsoInWrites: true
  })),
  // Triggers, rules and event triggers: switching them off bypasses auditing.
  ...['ENABLE', 'DISABLE'].flatMap(verb =>
    ['TRIGGER', 'RULE', 'REPLICA', 'ALWAYS'].map(object => ({
      words: [verb, object],
      reason: `${verb} ${object} changes what runs on writes`,
      alsoInWrites: true
    }))
  ),
  ...['DROP', 'ALTER'].flatMap(verb =>
    ['TRIGGER', 'RULE', 'EVENT'].map(object => ({
      words: [verb, object],
      reason: `${verb} ${object} changes what runs on writes`,
      alsoInWrites: true
    }))
  ),
  {
    words: ['SECURITY', 'DEFINER'],
    reason: 'SECURITY DEFINER makes code run with its owner’s rights',
    alsoInWrites: true
  },
  {
    words: ['CREATE', 'CONSTRAINT', 'TRIGGER'],
    reason: 'CREATE TRIGGER defines code the guard cannot check',
    alsoInWrites: true
  },
  ...['CREATE', 'ALTER', 'DROP'].map(verb => ({
    words: [verb, 'POLICY'],
    reason: `${verb} POLICY changes row-level security`,
    alsoInWrites: true
  })),
  {
    words: ['ROW', 'LEVEL', 'SECURITY'],
    reason: 'changing ROW LEVEL SECURITY changes who may see which rows',
    alsoInWrites: true
  },
  { words: ['OWNER', 'TO'], reason: 'OWNER TO changes ownership and with it permissions', alsoInWrites: true },
  { words: ['DROP', 'OWNED'], reason: 'DROP OWNED removes every object and privilege of a role', alsoInWrites: true }
];

export const postgresGuardRules: GuardRules = {
  lexer: {
    dashCommentNeedsSpace: false,
    hashComments: false,
    nestedBlockComments: true,
    executableComments: false,
    identifierQuotes: { '"': '"' },
    doubleQuotedStrings: false,
    backslashes: 'setting-dependent',
    escapeStrings: true,
    dollarQuotes: true,
    atVariables: false,
    carriageReturnEndsComment: true,
    bracketEscapes: false,
    hashIdentifiers: false,
    unicodeIdentifiers: true
  },
  readStatements: new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'EXPLAIN', 'SHOW']),
  writeStatements: new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'COMMENT']),
  statementReasons: {
    ...transactionStatements(['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT', 'RELEASE']),
    PREPARE: 'PREPARE stores a statement or a transaction for later',
    EXECUTE: 'EXECUTE runs a prepared statement the guard cannot see',
    DEALLOCATE: `DEALLOCATE ${SESSION_REASON}`,
    SET: `SET ${SESSION_REASON}`,
    RESET: `RESET ${SESSION_REASON}`,
    DISCARD: `DISCARD ${SESSION_REASON}`,
    LISTEN: `LISTEN ${SESSION_REASON}`,
    UNLISTEN: `UNLISTEN ${SESSION_REASON}`,
    NOTIFY: 'NOTIFY sends a message to other sessions',
    LOAD: 'LOAD loads a library into the server',
    COPY: 'COPY reads or writes files and programs on the database server',
    DO: 'DO runs procedural code',
    CALL: 'CALL runs a procedure, which can commit and run any SQL',
    LOCK: 'LOCK locks tables',
    DECLARE: 'DECLARE opens a cursor that outlives the statement',
    FETCH: 'FETCH reads a cursor the guard cannot see',
    MOVE: 'MOVE moves a cursor',
    CLOSE: 'CLOSE closes a cursor',
    VACUUM: `VACUUM ${SERVER}`,
    ANALYZE: 'ANALYZE rewrites table statistics',
    CLUSTER: 'CLUSTER rewrites a table',
    REINDEX: 'REINDEX rebuilds indexes',
    REFRESH: 'REFRESH MATERIALIZED VIEW rewrites a view’s data',
    CHECKPOINT: `CHECKPOINT ${SERVER}`,
    GRANT: 'GRANT changes permissions',
    REVOKE: 'REVOKE changes permissions',
    REASSIGN: 'REASSIGN OWNED changes ownership',
    SECURITY: 'SECURITY LABEL changes security labels',
    IMPORT: 'IMPORT FOREIGN SCHEMA reaches another server'
  },
  words: {
    ...DATA_CHANGE_WORDS,
    INTO: { reason: 'SELECT … INTO creates a table' },
    TEMP: { reason: TEMPORARY, writesOnly: true, allowIf: notCreating },
    TEMPORARY: { reason: TEMPORARY, writesOnly: true, allowIf: notCreating },
    AUTHORIZATION: { reason: 'AUTHORIZATION gives ownership, and with it permissions, to a role', alsoInWrites: true }
  },
  names: [
    { name: 'PG_STAT_ACTIVITY', reason: `pg_stat_activity ${OTHER_CALLERS}`, alsoInWrites: true },
    { name: 'PG_STAT_STATEMENTS', reason: `pg_stat_statements ${OTHER_CALLERS}`, alsoInWrites: true },
    // A user mapping's options hold the login and password used on a foreign server (postgres_fdw,
    // dblink_fdw), shown to the mapping's user and to the server's owner.
    { name: 'PG_USER_MAPPING*', reason: FOREIGN_PASSWORDS, alsoInWrites: true },
    { name: 'USER_MAPPING_OPTIONS', reason: FOREIGN_PASSWORDS, alsoInWrites: true },
    { name: 'PG_SETTINGS', reason: 'writing pg_settings changes the session’s settings', writesOnly: true },
    { name: 'PG_TEMP*', reason: TEMPORARY, writesOnly: true },
    {
      name: 'PG_*',
      reason: 'the system catalog is not written through sqlbridge',
      writesOnly: true,
      allowIf: (statement, index) => !isWriteTarget(statement, index)
    }
  ],
  phrases,
  functions,
  identityChange: postgresIdentityChange
};
