import { DATA_CHANGE_WORDS, OTHER_CALLERS, SESSION_REASON, transactionStatements } from '../../guard/common-rules.ts';
import type { GuardRules } from '../../guard/statement-guard.ts';
import { foldName, type Token } from '../../guard/lexer.ts';

/**
 * What the statement guard allows on MySQL and MariaDB
 * (https://dev.mysql.com/doc/refman/8.4/en/sql-statements.html, https://mariadb.com/kb/en/sql-statements/).
 * Schema statements commit the open transaction by themselves, so they never run through sqlbridge;
 * executable comments, optimizer hints and backslash escapes whose meaning depends on sql_mode are
 * refused by the lexer.
 */

const LOCKS = 'locks the rows it reads';
const LOCKED_ROWS =
  'show the key values of the rows other sessions lock: other callers’ data, since every caller shares the environment’s login';
/** Allowed unless named in `schema` (`performance_schema.threads`): elsewhere the name is a user's table. */
function notIn(schema: string): (statement: readonly Token[], index: number) => boolean {
  return (statement, index) => {
    const dot = statement[index - 1];
    const owner = statement[index - 2];
    if (dot?.kind !== 'symbol' || dot.text !== '.' || owner === undefined) return true;
    const name = owner.kind === 'quoted' ? foldName(owner.text.slice(1, -1)) : owner.upper;
    return name !== schema;
  };
}

/** INTO is the target of INSERT/REPLACE; anywhere else it writes a file, variables or a table. */
function isInsertTarget(statement: readonly Token[], index: number): boolean {
  const first = statement.find(t => t.kind === 'word');
  if (first === undefined || (first.upper !== 'INSERT' && first.upper !== 'REPLACE')) return false;
  return !statement.slice(0, index).some(t => t.kind === 'word' && t.upper === 'INTO');
}

/** Whether a variable token is one of the user variables that hold the caller's identity (`@sqlbridge_…`, any case, quoted or not). */
function isIdentityVariable(token: Token): boolean {
  if (token.kind !== 'variable' || token.text.startsWith('@@')) return false;
  const name = token.text.slice(1).replace(/^([`'"])(.*)\1$/s, '$2');
  return name.toLowerCase().startsWith('sqlbridge_');
}

/**
 * Where a statement would assign a `@sqlbridge_…` variable, the caller's identity: `SET @v = …`,
 * `@v := …` anywhere, `SELECT … INTO @v`. Every other assignment, SET and INTO is refused anyway.
 */
function mysqlIdentityChange(statement: readonly Token[]): string | undefined {
  const isSet = statement[0]?.kind === 'word' && statement[0].upper === 'SET';
  for (const [i, token] of statement.entries()) {
    if (!isIdentityVariable(token)) continue;
    const next = statement[i + 1];
    if (next?.kind === 'symbol' && next.text === ':=') return `${token.text} := …`;
    if (isSet && next?.kind === 'symbol' && next.text === '=') return `SET ${token.text} = …`;
    if (statement.slice(0, i).some(t => t.kind === 'word' && t.upper === 'INTO')) return `INTO ${token.text}`;
  }
  return undefined;
}

export const mysqlGuardRules: GuardRules = {
  lexer: {
    dashCommentNeedsSpace: true,
    hashComments: true,
    foldNames: true,
    nestedBlockComments: false,
    executableComments: true,
    identifierQuotes: { '`': '`' },
    doubleQuotedStrings: true,
    backslashes: 'setting-dependent',
    escapeStrings: false,
    dollarQuotes: false,
    atVariables: true,
    carriageReturnEndsComment: false,
    bracketEscapes: false,
    hashIdentifiers: false,
    optimizerHints: true
  },
  readStatements: new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'EXPLAIN', 'DESCRIBE', 'DESC', 'SHOW']),
  writeStatements: new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'RENAME']),
  catalogStatements: new Set(['SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN']),
  ddlCommitsImplicitly: true,
  statementReasons: {
    ...transactionStatements(['BEGIN', 'START', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'XA']),
    SET: `SET ${SESSION_REASON}`,
    USE: `USE ${SESSION_REASON}`,
    RESET: `RESET ${SESSION_REASON}`,
    LOCK: 'LOCK TABLES locks tables until the session unlocks them',
    UNLOCK: 'UNLOCK TABLES releases the session’s table locks',
    LOAD: 'LOAD DATA and LOAD XML read files into tables',
    CALL: 'CALL runs a stored procedure, which can commit and run any SQL',
    DO: 'DO evaluates expressions for their side effects',
    HANDLER: 'HANDLER opens a table cursor that outlives the statement',
    PREPARE: 'PREPARE stores SQL text the guard cannot check',
    EXECUTE: 'EXECUTE runs a prepared statement the guard cannot see',
    DEALLOCATE: `DEALLOCATE ${SESSION_REASON}`,
    GRANT: 'GRANT changes permissions',
    REVOKE: 'REVOKE changes permissions',
    FLUSH: 'FLUSH changes the server’s caches and logs',
    KILL: 'KILL ends other sessions',
    PURGE: 'PURGE deletes server logs',
    CHANGE: 'CHANGE REPLICATION changes the server’s replication',
    STOP: 'STOP changes the server’s replication',
    INSTALL: 'INSTALL loads code into the server',
    UNINSTALL: 'UNINSTALL removes code from the server',
    SHUTDOWN: 'SHUTDOWN stops the server',
    RESTART: 'RESTART restarts the server',
    OPTIMIZE: 'OPTIMIZE TABLE rewrites tables',
    REPAIR: 'REPAIR TABLE rewrites tables',
    ANALYZE: 'ANALYZE TABLE rewrites table statistics',
    CHECK: 'CHECK TABLE can change a table’s status',
    CHECKSUM: 'CHECKSUM TABLE reads whole tables outside the row limits',
    CACHE: 'CACHE INDEX changes the server’s caches',
    BINLOG: 'BINLOG replays changes',
    CLONE: 'CLONE copies data between servers',
    IMPORT: 'IMPORT TABLE reads files into tables',
    SIGNAL: 'SIGNAL raises errors from procedural code',
    RESIGNAL: 'RESIGNAL raises errors from procedural code'
  },
  words: {
    ...DATA_CHANGE_WORDS,
    // INSERT(str, pos, len, newstr) is a string function.
    INSERT: { reason: 'INSERT changes data', unlessFollowedBy: ['('] },
    INTO: {
      reason: 'SELECT … INTO writes a file, variables or a table',
      alsoInWrites: true,
      allowIf: isInsertTarget
    },
    LOCK: { reason: `LOCK IN SHARE MODE ${LOCKS}` },
    PROCEDURE: { reason: 'PROCEDURE runs a procedure over the result', alsoInWrites: true }
  },
  names: [
    // SHOW PROCESSLIST, information_schema.PROCESSLIST, performance_schema.processlist, sys.processlist.
    { name: 'PROCESSLIST', reason: `the process list ${OTHER_CALLERS}`, alsoInWrites: true },
    { name: 'X$PROCESSLIST', reason: `the process list ${OTHER_CALLERS}`, alsoInWrites: true },
    // information_schema.INNODB_TRX: every transaction's running statement; the lock tables: the key values other sessions lock.
    { name: 'INNODB_TRX', reason: `information_schema.INNODB_TRX ${OTHER_CALLERS}`, alsoInWrites: true },
    { name: 'INNODB_LOCK*', reason: `InnoDB's lock tables ${LOCKED_ROWS}`, alsoInWrites: true },
    {
      name: 'DATA_LOCK*',
      reason: `performance_schema's lock tables ${LOCKED_ROWS}`,
      alsoInWrites: true,
      allowIf: notIn('PERFORMANCE_SCHEMA')
    },
    { name: 'SESSION', reason: `sys.session ${OTHER_CALLERS}`, alsoInWrites: true, allowIf: notIn('SYS') },
    { name: 'X$SESSION', reason: `sys.x$session ${OTHER_CALLERS}`, alsoInWrites: true },
    {
      name: 'THREADS',
      reason: `performance_schema.threads ${OTHER_CALLERS}`,
      alsoInWrites: true,
      allowIf: notIn('PERFORMANCE_SCHEMA')
    },
    {
      name: 'EVENTS_STATEMENTS_*',
      reason: `performance_schema’s statement events ${OTHER_CALLERS}`,
      alsoInWrites: true
    },
    {
      name: 'PREPARED_STATEMENTS_INSTANCES',
      reason: `performance_schema’s prepared statements ${OTHER_CALLERS}`,
      alsoInWrites: true
    },
    {
      name: 'MYSQL',
      reason: 'the mysql schema holds accounts and privileges; it is not written through sqlbridge',
      writesOnly: true
    },
    {
      name: 'PERFORMANCE_SCHEMA',
      reason: 'performance_schema controls the server’s instrumentation',
      writesOnly: true
    },
    {
      name: 'SYS',
      reason: 'the sys schema holds server settings',
      writesOnly: true,
      allowIf: (statement, index) => statement[index + 1]?.text !== '.'
    }
  ],
  phrases: [
    { words: ['FOR', 'UPDATE'], reason: `FOR UPDATE ${LOCKS}` },
    { words: ['FOR', 'SHARE'], reason: `FOR SHARE ${LOCKS}` },
    { words: ['INTO', 'OUTFILE'], reason: 'INTO OUTFILE writes a file on the database server', alsoInWrites: true },
    { words: ['INTO', 'DUMPFILE'], reason: 'INTO DUMPFILE writes a file on the database server', alsoInWrites: true },
    { words: ['NEXT', 'VALUE', 'FOR'], reason: 'NEXT VALUE FOR advances a sequence' },
    {
      words: ['SHOW', 'GRANTS'],
      reason: 'SHOW GRANTS shows the environment’s login, its roles and (on MariaDB) its password hash',
      alsoInWrites: true
    },
    {
      words: ['SHOW', 'CREATE', 'USER'],
      reason: 'SHOW CREATE USER shows a login’s password hash',
      alsoInWrites: true
    },
    {
      words: ['SHOW', 'ENGINE'],
      reason: `SHOW ENGINE … STATUS ${OTHER_CALLERS}`,
      alsoInWrites: true
    },
    {
      words: ['SHOW', 'EXPLAIN'],
      reason: `SHOW EXPLAIN ${OTHER_CALLERS}`,
      alsoInWrites: true
    },
    {
      words: ['SHOW', 'ANALYZE'],
      reason: `SHOW ANALYZE ${OTHER_CALLERS}`,
      alsoInWrites: true
    },
    {
      words: ['FOR', 'CONNECTION'],
      reason: `EXPLAIN FOR CONNECTION ${OTHER_CALLERS}`,
      alsoInWrites: true
    },
    {
      words: ['SHOW', 'BINLOG'],
      reason: 'SHOW BINLOG EVENTS shows every change written to the server, by anyone',
      alsoInWrites: true
    },
    {
      words: ['SHOW', 'RELAYLOG'],
      reason: 'SHOW RELAYLOG EVENTS shows every change replicated to the server',
      alsoInWrites: true
    }
  ],
  symbols: { ':=': ':= assigns a user variable, which outlives the statement' },
  functions: [
    { name: 'GET_LOCK', reason: 'GET_LOCK() takes a named lock that outlives the statement', alsoInWrites: true },
    { name: 'RELEASE_LOCK', reason: 'RELEASE_LOCK() releases a named lock', alsoInWrites: true },
    { name: 'RELEASE_ALL_LOCKS', reason: 'RELEASE_ALL_LOCKS() releases named locks', alsoInWrites: true },
    { name: 'LOAD_FILE', reason: 'LOAD_FILE() reads a file on the database server', alsoInWrites: true },
    { name: 'SLEEP', reason: 'SLEEP() holds a connection without reading data', alsoInWrites: true },
    { name: 'BENCHMARK', reason: 'BENCHMARK() runs an expression repeatedly to burn server time', alsoInWrites: true },
    { name: 'MASTER_POS_WAIT', reason: 'this function waits on replication', alsoInWrites: true },
    { name: 'SOURCE_POS_WAIT', reason: 'this function waits on replication', alsoInWrites: true },
    { name: 'MASTER_GTID_WAIT', reason: 'this function waits on replication', alsoInWrites: true },
    { name: 'WAIT_FOR_EXECUTED_GTID_SET', reason: 'this function waits on replication', alsoInWrites: true },
    { name: 'WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS', reason: 'this function waits on replication', alsoInWrites: true },
    { name: 'SYS_EXEC', reason: 'sys_exec() runs operating-system commands', alsoInWrites: true },
    { name: 'SYS_EVAL', reason: 'sys_eval() runs operating-system commands', alsoInWrites: true },
    { name: 'SYS_SET', reason: 'sys_set() changes the server’s environment', alsoInWrites: true },
    { name: 'NEXTVAL', reason: 'NEXTVAL() advances a sequence' },
    { name: 'SETVAL', reason: 'SETVAL() changes a sequence' },
    { name: 'LAST_INSERT_ID', reason: 'LAST_INSERT_ID(expr) sets a session value' },
    {
      name: 'FOUND_ROWS',
      reason:
        'FOUND_ROWS() reads what the previous statement on the connection left, which may be another caller’s; count with COUNT(*)',
      alsoInWrites: true
    },
    { name: 'SPIDER_*', reason: 'Spider functions run SQL on other servers', alsoInWrites: true },
    { name: 'SERVICE_GET_*', reason: 'this function takes locking-service locks', alsoInWrites: true },
    { name: 'SERVICE_RELEASE_*', reason: 'this function releases locking-service locks', alsoInWrites: true },
    { name: 'AUDIT_LOG_*', reason: 'this function changes the audit log', alsoInWrites: true },
    { name: 'KEYRING_*', reason: 'this function changes the keyring', alsoInWrites: true },
    { name: 'GROUP_REPLICATION_*', reason: 'this function changes replication', alsoInWrites: true },
    { name: 'VERSION_TOKENS_*', reason: 'this function changes version tokens', alsoInWrites: true }
  ],
  identityChange: mysqlIdentityChange
};
