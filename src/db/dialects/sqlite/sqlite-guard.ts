import { DATA_CHANGE_WORDS, transactionStatements } from '../../guard/common-rules.ts';
import type { Token } from '../../guard/lexer.ts';
import type { GuardRules } from '../../guard/statement-guard.ts';
import { READ_ONLY_PRAGMAS } from './sqlite-authorizer.ts';

/**
 * What the statement guard allows on SQLite (https://sqlite.org/lang.html). Statements end at
 * semicolons; identifiers are quoted with "…", […] or `…`; backslashes are never special.
 */

const FILES = 'reads or writes files on the server';
const TEMPORARY = 'temporary objects outlive the call on a shared connection and can hide tables';

function notCreating(statement: readonly Token[], index: number): boolean {
  return statement[index - 1]?.upper !== 'CREATE';
}

/** A name that is not a schema before a `.` (`temp.t`, "temp".t, [temp].t, 'temp'.t name the temp schema). */
function notSchema(statement: readonly Token[], index: number): boolean {
  const next = statement[index + 1];
  return !(next?.kind === 'symbol' && next.text === '.');
}

export const sqliteGuardRules: GuardRules = {
  lexer: {
    dashCommentNeedsSpace: false,
    hashComments: false,
    nestedBlockComments: false,
    executableComments: false,
    identifierQuotes: { '"': '"', '[': ']', '`': '`' },
    doubleQuotedStrings: false,
    backslashes: 'literal',
    escapeStrings: false,
    dollarQuotes: false,
    atVariables: false,
    carriageReturnEndsComment: false,
    bracketEscapes: false,
    sqliteParameters: true,
    hashIdentifiers: false,
    stringSchemaNames: true
  },
  readStatements: new Set(['SELECT', 'WITH', 'VALUES', 'EXPLAIN', 'PRAGMA']),
  writeStatements: new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'ALTER', 'DROP']),
  statementReasons: {
    ...transactionStatements(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']),
    ATTACH: 'ATTACH opens another database file',
    DETACH: 'DETACH closes a database the server opened',
    VACUUM: 'VACUUM rewrites the database file, and VACUUM INTO writes a new one',
    REINDEX: 'REINDEX rebuilds indexes',
    ANALYZE: 'ANALYZE writes statistics tables'
  },
  readOnlyPragmas: READ_ONLY_PRAGMAS,
  words: {
    ...DATA_CHANGE_WORDS,
    // A temporary table or view would hide a main one from later callers on the same write connection.
    TEMP: { reason: TEMPORARY, writesOnly: true, allowIf: notCreating },
    TEMPORARY: { reason: TEMPORARY, writesOnly: true, allowIf: notCreating }
  },
  // Objects made in the temp schema by name (CREATE TABLE temp.t) are temporary ones too.
  names: [{ name: 'TEMP', reason: TEMPORARY, writesOnly: true, allowIf: notSchema }],
  phrases: [],
  functions: [
    { name: 'LOAD_EXTENSION', reason: 'load_extension() loads native code into the server', alsoInWrites: true },
    { name: 'READFILE', reason: `readfile() ${FILES}`, alsoInWrites: true },
    { name: 'WRITEFILE', reason: `writefile() ${FILES}`, alsoInWrites: true },
    { name: 'EDIT', reason: 'edit() starts an editor on the server', alsoInWrites: true },
    { name: 'FTS3_TOKENIZER', reason: 'fts3_tokenizer() can register native code', alsoInWrites: true },
    { name: 'EVAL', reason: 'eval() runs SQL text the guard cannot check', alsoInWrites: true },
    { name: 'FSDIR', reason: 'fsdir() lists files on the server', alsoInWrites: true },
    { name: 'ZIPFILE', reason: `zipfile() ${FILES}`, alsoInWrites: true }
  ]
};
