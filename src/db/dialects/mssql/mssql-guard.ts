import { DATA_CHANGE_WORDS, OTHER_CALLERS, SESSION_REASON, transactionWords } from '../../guard/common-rules.ts';
import { foldName, type Token } from '../../guard/lexer.ts';
import { unquote, type GuardRules, type PhraseRule, type WordRule } from '../../guard/statement-guard.ts';

/**
 * What the statement guard allows on SQL Server
 * (https://learn.microsoft.com/sql/t-sql/statements/statements). T-SQL needs no semicolon between
 * statements (`SELECT 1 DELETE t` is two), so every keyword that can begin a statement is a rule
 * wherever it appears, and the splitter finds where a new statement begins to count them.
 */

const NEVER = { alsoInWrites: true } as const;

/** Keywords that begin a T-SQL statement and are never part of a query. */
const STATEMENT_ONLY: Record<string, string> = {
  EXEC: 'EXEC runs a procedure or SQL text the guard cannot check',
  EXECUTE: 'EXECUTE runs a procedure or SQL text the guard cannot check',
  USE: `USE ${SESSION_REASON}`,
  DECLARE: 'DECLARE starts procedural code',
  WAITFOR: 'WAITFOR holds a connection without reading data',
  IF: 'IF starts procedural code',
  WHILE: 'WHILE starts procedural code',
  GOTO: 'GOTO starts procedural code',
  RETURN: 'RETURN ends procedural code',
  BREAK: 'BREAK is procedural code',
  CONTINUE: 'CONTINUE is procedural code',
  PRINT: 'PRINT is procedural code',
  RAISERROR: 'RAISERROR is procedural code',
  THROW: 'THROW is procedural code',
  OPEN: 'OPEN opens a cursor',
  CLOSE: 'CLOSE closes a cursor',
  DEALLOCATE: 'DEALLOCATE removes a cursor',
  FETCH: 'FETCH reads a cursor the guard cannot see',
  OPENROWSET: 'OPENROWSET reads files and other servers',
  OPENQUERY: 'OPENQUERY runs SQL on a linked server',
  OPENDATASOURCE: 'OPENDATASOURCE connects to another server',
  OPENXML: 'OPENXML reads documents prepared by system procedures',
  BULK: 'BULK reads files on the database server',
  BACKUP: 'BACKUP writes files on the database server',
  RESTORE: 'RESTORE replaces databases from files',
  DBCC: 'DBCC runs maintenance commands',
  KILL: 'KILL ends other sessions',
  SHUTDOWN: 'SHUTDOWN stops the server',
  RECONFIGURE: 'RECONFIGURE changes the server’s configuration',
  CHECKPOINT: 'CHECKPOINT changes the state of the database server',
  READTEXT: 'READTEXT reads text outside a query',
  WRITETEXT: 'WRITETEXT changes data',
  UPDATETEXT: 'UPDATETEXT changes data',
  SETUSER: `SETUSER ${SESSION_REASON}`,
  REVERT: `REVERT ${SESSION_REASON}`,
  RECEIVE: 'RECEIVE takes messages off a Service Broker queue',
  DENY: 'DENY changes permissions',
  GRANT: 'GRANT changes permissions',
  REVOKE: 'REVOKE changes permissions'
};

/** Words that may name an object between DROP and IF EXISTS. */
const DROPPABLE = [
  'TABLE',
  'VIEW',
  'INDEX',
  'PROCEDURE',
  'PROC',
  'FUNCTION',
  'TRIGGER',
  'SCHEMA',
  'SEQUENCE',
  'TYPE',
  'SYNONYM',
  'DEFAULT',
  'RULE',
  'STATISTICS',
  'CONSTRAINT',
  'COLUMN'
];

/** Locking hints that hold locks until the transaction ends or change its isolation. */
const LOCK_HINTS = [
  'UPDLOCK',
  'XLOCK',
  'TABLOCK',
  'TABLOCKX',
  'HOLDLOCK',
  'PAGLOCK',
  'ROWLOCK',
  'SERIALIZABLE',
  'REPEATABLEREAD',
  'READCOMMITTEDLOCK'
];

/** Objects of the server or its security, never created or changed through sqlbridge. */
const SERVER_OBJECTS = [
  'LOGIN',
  'USER',
  'ROLE',
  'SERVER',
  'DATABASE',
  'CREDENTIAL',
  'ENDPOINT',
  'EXTERNAL',
  'ASSEMBLY',
  'CERTIFICATE',
  'ASYMMETRIC',
  'SYMMETRIC',
  'MASTER',
  'APPLICATION',
  'AVAILABILITY',
  'EVENT',
  'AUDIT',
  'CRYPTOGRAPHIC',
  'RESOURCE',
  'WORKLOAD',
  'BROKER',
  'ROUTE',
  'REMOTE',
  'SERVICE',
  'QUEUE',
  'TRIGGER',
  'AUTHORIZATION'
];

/** Tokens that can sit between UPDATE and SET: a table or variable name, TOP (n), WITH (hints). */
function isUpdateSet(statement: readonly Token[], index: number): boolean {
  const depth = statement[index]?.depth;
  // ALTER TABLE t SET (LOCK_ESCALATION = …) is a table option.
  if (statement[0]?.upper === 'ALTER' && statement[1]?.upper === 'TABLE' && statement[index + 1]?.text === '(')
    return true;
  // ON DELETE / ON UPDATE SET NULL | SET DEFAULT is a foreign key action.
  const [before, action, after] = [statement[index - 2], statement[index - 1], statement[index + 1]];
  const foreignKeyAction = action?.upper === 'UPDATE' || action?.upper === 'DELETE';
  if (before?.upper === 'ON' && foreignKeyAction && (after?.upper === 'NULL' || after?.upper === 'DEFAULT'))
    return true;
  for (let j = index - 1; j >= 0; j--) {
    const t = statement[j];
    if (t === undefined || t.depth !== depth) continue;
    if (t.kind === 'word') {
      if (t.upper === 'UPDATE') return beginsUpdate(statement, j);
      if (t.upper === 'SET' || STATEMENT_WORDS.has(t.upper)) return false;
      continue;
    }
    if (t.kind === 'quoted' || t.kind === 'variable') continue;
    if (t.kind === 'symbol' && ['.', '..', '(', ')'].includes(t.text)) continue;
    return false;
  }
  return false;
}

/** Whether the UPDATE at `index` begins an UPDATE statement (not ON UPDATE CASCADE): first, after MERGE's THEN, or after a CTE. */
function beginsUpdate(statement: readonly Token[], index: number): boolean {
  const depth = statement[index]?.depth;
  const previous = statement.slice(0, index).findLast(t => t.depth === depth);
  if (previous === undefined) return true;
  if (previous.kind === 'word' && previous.upper === 'THEN') return true;
  return previous.kind === 'symbol' && previous.text === ')' && statement[0]?.upper === 'WITH';
}

const STATEMENT_WORDS = new Set([
  ...Object.keys(STATEMENT_ONLY),
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'SAVE',
  'SELECT',
  'INSERT',
  'DELETE',
  'MERGE',
  'CREATE',
  'ALTER',
  'DROP',
  'TRUNCATE'
]);

const DML = ['INSERT', 'UPDATE', 'DELETE', 'MERGE'];
const DDL = new Set(['CREATE', 'ALTER', 'DROP', 'TRUNCATE']);
const SET_OPERATORS = new Set(['UNION', 'ALL', 'EXCEPT', 'INTERSECT', 'DISTINCT']);
/** Before these, a DML keyword continues the statement: MERGE's THEN UPDATE, ON DELETE CASCADE, AFTER INSERT, UPDATE. */
const DML_CONTINUES_AFTER = new Set([
  'THEN',
  'ON',
  ',',
  'AFTER',
  'FOR',
  'OF',
  'OR',
  'INSTEAD',
  '(',
  'INNER',
  'LEFT',
  'RIGHT',
  'FULL',
  'OUTER'
]);

/**
 * Where a new statement begins without a semicolon. Splitting only counts statements: every
 * keyword that could begin a harmful statement is also a word rule, wherever it appears.
 */
function startsStatement(current: readonly Token[], token: Token): boolean {
  if (token.kind !== 'word') return false;
  const top = current.filter(t => t.depth === 0);
  const previous = top.at(-1);
  const previousText = previous === undefined ? '' : previous.kind === 'word' ? previous.upper : previous.text;
  const lead = top.find(t => t.kind === 'word')?.upper ?? '';
  const seen = (words: readonly string[]): boolean => top.some(t => t.kind === 'word' && words.includes(t.upper));
  if (token.upper === 'SELECT') {
    if (SET_OPERATORS.has(previousText) || previousText === '(' || previousText === 'AS') return false;
    // WITH cte AS (…) SELECT, INSERT INTO t SELECT: the statement's own query.
    if ((lead === 'WITH' || lead === 'INSERT') && !seen(['SELECT', 'VALUES'])) return false;
    return true;
  }
  if (DML.includes(token.upper)) {
    if (DML_CONTINUES_AFTER.has(previousText)) return false;
    if (lead === 'WITH' && !seen([...DML, 'SELECT'])) return false;
    return !['CREATE', 'ALTER', 'GRANT', 'DENY', 'REVOKE'].includes(lead);
  }
  if (DDL.has(token.upper)) return !DDL.has(lead) && previousText !== ',';
  return false;
}

const words: Record<string, WordRule> = {
  ...DATA_CHANGE_WORDS,
  ...Object.fromEntries(Object.entries(STATEMENT_ONLY).map(([word, reason]) => [word, { reason, ...NEVER }])),
  ...transactionWords(['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVE']),
  INTO: { reason: 'SELECT … INTO creates a table' },
  SET: { reason: `SET ${SESSION_REASON}`, ...NEVER, allowIf: isUpdateSet },
  IF: { reason: STATEMENT_ONLY.IF ?? '', ...NEVER, unlessPrecededBy: DROPPABLE },
  FETCH: { reason: STATEMENT_ONLY.FETCH ?? '', ...NEVER, unlessPrecededBy: ['ROWS', 'ROW'] },
  ADD: { reason: 'ADD changes the schema or its signatures' },
  SYSTEM_VERSIONING: { reason: 'changing SYSTEM_VERSIONING rewrites a table’s history', ...NEVER },
  // Query hints: OPTION (USE HINT (…)), USE PLAN, MERGE JOIN, MERGE UNION.
  USE: {
    reason: STATEMENT_ONLY.USE ?? '',
    ...NEVER,
    // Only inside OPTION (…): at the top level USE HINT switches to a database named HINT.
    allowIf: (statement, index) => {
      const next = statement[index + 1];
      return (statement[index]?.depth ?? 0) > 0 && next?.kind === 'word' && ['HINT', 'PLAN'].includes(next.upper);
    }
  },
  // An ODBC {call …} escape runs a procedure; elsewhere CALL is a name (a column of call records).
  CALL: {
    reason: 'an ODBC {call …} escape runs a procedure',
    ...NEVER,
    allowIf: (statement, index) => statement[index - 1]?.text !== '{'
  },
  MERGE: { reason: 'MERGE changes data', unlessFollowedBy: ['JOIN', 'UNION'] },
  // END CONVERSATION @handle; a column alias named "conversation" after CASE … END is not one.
  CONVERSATION: {
    reason: 'Service Broker conversation statements change queues',
    ...NEVER,
    allowIf: (statement, index) => {
      const next = statement[index + 1];
      // Not END CONVERSATION f(…): a handle computed by a function call.
      const after = statement[index + 2];
      if (next?.kind === 'word') return !(after?.kind === 'symbol' && after.text === '(');
      return next === undefined || (next.kind === 'symbol' && next.text !== '(');
    }
  },
  ...Object.fromEntries(
    LOCK_HINTS.map(hint => [hint, { reason: `the ${hint} hint takes locks held until the transaction ends` }])
  )
};

const phrases: PhraseRule[] = [
  { words: ['NEXT', 'VALUE', 'FOR'], reason: 'NEXT VALUE FOR advances a sequence' },
  { words: ['UPDATE', 'STATISTICS'], reason: 'UPDATE STATISTICS rewrites statistics', ...NEVER },
  { words: ['SEND', 'ON', 'CONVERSATION'], reason: 'SEND puts messages on a Service Broker queue', ...NEVER },
  { words: ['GET', 'CONVERSATION'], reason: 'GET CONVERSATION GROUP locks Service Broker conversations', ...NEVER },
  { words: ['MOVE', 'CONVERSATION'], reason: 'MOVE CONVERSATION changes Service Broker conversations', ...NEVER },
  // Code that runs later, with EXEC refused here but not elsewhere.
  ...['PROC', 'PROCEDURE', 'FUNCTION', 'TRIGGER'].flatMap(object => [
    { words: ['CREATE', object], reason: `CREATE ${object} defines code the guard cannot check`, ...NEVER },
    { words: ['ALTER', object], reason: `ALTER ${object} changes code the guard cannot check`, ...NEVER },
    {
      words: ['CREATE', 'OR', 'ALTER', object],
      reason: `CREATE OR ALTER ${object} defines code the guard cannot check`,
      ...NEVER
    }
  ]),
  ...['CREATE', 'ALTER', 'DROP'].map(verb => ({
    words: [verb, 'SECURITY', 'POLICY'],
    reason: `${verb} SECURITY POLICY changes row-level security`,
    ...NEVER
  })),
  { words: ['ENABLE', 'TRIGGER'], reason: 'ENABLE TRIGGER changes what runs on writes', ...NEVER },
  { words: ['DISABLE', 'TRIGGER'], reason: 'DISABLE TRIGGER changes what runs on writes', ...NEVER },
  { words: ['ADD', 'SIGNATURE'], reason: 'ADD SIGNATURE changes code signing', ...NEVER },
  { words: ['ADD', 'COUNTER', 'SIGNATURE'], reason: 'ADD SIGNATURE changes code signing', ...NEVER },
  { words: ['ADD', 'SENSITIVITY'], reason: 'ADD SENSITIVITY CLASSIFICATION changes security metadata', ...NEVER },
  ...['CREATE', 'ALTER', 'DROP'].flatMap(verb =>
    SERVER_OBJECTS.map(object => ({
      words: [verb, object],
      reason: `${verb} ${object} changes the server or its security, not the data`,
      ...NEVER
    }))
  )
];

/**
 * Where a statement names sp_set_session_context, which sets SESSION_CONTEXT keys, the caller's
 * identity among them: bare, as sys.…, quoted or bracketed. EXEC and sp_ procedures are refused
 * anyway; this says why it matters here.
 */
function mssqlIdentityChange(statement: readonly Token[]): string | undefined {
  const named = statement.some(
    t => (t.kind === 'word' || t.kind === 'quoted') && foldName(unquote(t)) === 'SP_SET_SESSION_CONTEXT'
  );
  return named ? 'sp_set_session_context' : undefined;
}

/**
 * The procedure a statement runs without EXEC, as written (`sales.touch_prices`, `[sales].[touch prices]`):
 * T-SQL runs a batch that begins with a name as EXECUTE of that procedure
 * (https://learn.microsoft.com/sql/t-sql/language-elements/execute-transact-sql: "You do not have to
 * specify the EXECUTE keyword … if the statement is the first one in a batch"). Asked only of a
 * statement whose first word is no statement keyword.
 */
export function mssqlProcedureCall(statement: readonly Token[]): string | undefined {
  let name = '';
  for (const [i, token] of statement.entries()) {
    const part = i % 2 === 0;
    if (part && (token.kind === 'word' || token.kind === 'quoted')) name += token.text;
    else if (!part && token.kind === 'symbol' && (token.text === '.' || token.text === '..')) name += token.text;
    else break;
  }
  return name === '' || name.endsWith('.') ? undefined : name;
}

export const mssqlGuardRules: GuardRules & { procedureCall: (statement: readonly Token[]) => string | undefined } = {
  lexer: {
    dashCommentNeedsSpace: false,
    hashComments: false,
    nestedBlockComments: true,
    executableComments: false,
    identifierQuotes: { '[': ']', '"': '"' },
    doubleQuotedStrings: false,
    backslashes: 'literal',
    escapeStrings: false,
    dollarQuotes: false,
    atVariables: true,
    carriageReturnEndsComment: false,
    bracketEscapes: true,
    hashIdentifiers: true,
    letterNames: true
  },
  startsStatement,
  readStatements: new Set(['SELECT', 'WITH']),
  writeStatements: new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'CREATE', 'ALTER', 'DROP', 'TRUNCATE']),
  statementReasons: { ...STATEMENT_ONLY, SET: `SET ${SESSION_REASON}` },
  words,
  wordPrefixes: [
    { prefix: 'SP_', reason: 'sp_ procedures run code on the server' },
    { prefix: 'XP_', reason: 'xp_ procedures run code on the server' }
  ],
  phrases,
  functions: [
    { name: 'FN_GET_AUDIT_FILE*', reason: 'fn_get_audit_file() reads files on the database server', ...NEVER },
    { name: 'FN_TRACE_GETTABLE', reason: 'fn_trace_gettable() reads files on the database server', ...NEVER },
    { name: 'FN_XE_FILE_TARGET_READ_FILE', reason: 'this function reads files on the database server', ...NEVER },
    { name: 'FN_DUMP_DBLOG', reason: 'fn_dump_dblog() reads backup files', ...NEVER },
    {
      name: 'FN_DBLOG*',
      reason: 'fn_dblog() reads row images from the transaction log, past row-level security and column permissions',
      ...NEVER
    },
    {
      name: 'FN_FULL_DBLOG',
      reason: 'fn_full_dblog() reads row images from transaction logs and their backups, past row-level security',
      ...NEVER
    },
    { name: 'FN_GET_SQL', reason: `fn_get_sql() ${OTHER_CALLERS}`, ...NEVER },
    {
      name: 'FN_XE_TELEMETRY_BLOB_TARGET_READ_FILE',
      reason: 'this function reads files on the database server',
      ...NEVER
    },
    { name: 'DM_OS_FILE_EXISTS', reason: 'this function probes files on the database server', ...NEVER },
    { name: 'DM_OS_ENUMERATE_FILESYSTEM', reason: 'this function lists files on the database server', ...NEVER }
  ],
  // What other sessions run, to a login with VIEW SERVER STATE or VIEW DATABASE STATE (monitoring logins often have it).
  names: [
    { name: 'DM_EXEC_*', reason: `the sys.dm_exec_* views and functions ${OTHER_CALLERS}`, ...NEVER },
    { name: 'SYSPROCESSES', reason: `sys.sysprocesses ${OTHER_CALLERS}`, ...NEVER },
    { name: 'QUERY_STORE_*', reason: `the Query Store ${OTHER_CALLERS}`, ...NEVER },
    { name: 'DM_XE_*', reason: `extended event sessions ${OTHER_CALLERS}`, ...NEVER },
    {
      name: 'DM_TRAN_LOCKS',
      reason:
        'sys.dm_tran_locks shows what other sessions lock: other callers, since every caller shares the environment’s login',
      ...NEVER
    },
    {
      name: 'SYSLOCKINFO',
      reason:
        'sys.syslockinfo shows what other sessions lock: other callers, since every caller shares the environment’s login',
      ...NEVER
    },
    // The first 3,900 characters of each cached batch (its `sql` column).
    { name: 'SYSCACHEOBJECTS', reason: `sys.syscacheobjects ${OTHER_CALLERS}`, ...NEVER },
    {
      name: 'DM_TRAN_VERSION_STORE',
      reason:
        'sys.dm_tran_version_store holds images of versioned rows, past row-level security and column permissions',
      ...NEVER
    }
  ],
  maxNameParts: 3,
  identityChange: mssqlIdentityChange,
  procedureCall: mssqlProcedureCall
};
