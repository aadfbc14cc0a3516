import { describe, expect, it } from 'vitest';
import { mssqlGuardRules } from '../../src/db/dialects/mssql/mssql-guard.ts';
import { mysqlGuardRules } from '../../src/db/dialects/mysql/mysql-guard.ts';
import { postgresGuardRules } from '../../src/db/dialects/postgres/postgres-guard.ts';
import { sqliteGuardRules } from '../../src/db/dialects/sqlite/sqlite-guard.ts';
import { LexError, lex, type LexerRules, type TokenKind } from '../../src/db/guard/lexer.ts';

/**
 * The statement guard's lexer, dialect by dialect: where strings, quoted names and comments begin and
 * end, and what it refuses to read because the engine's reading depends on a setting or hides code.
 */

type Dialect = 'postgres' | 'mysql' | 'sqlite' | 'mssql';

const RULES: Record<Dialect, LexerRules> = {
  postgres: postgresGuardRules.lexer,
  mysql: mysqlGuardRules.lexer,
  sqlite: sqliteGuardRules.lexer,
  mssql: mssqlGuardRules.lexer
};

const ALL: Dialect[] = ['postgres', 'mysql', 'sqlite', 'mssql'];

/** Each token as [kind, text]; with its start, the text also fixes where the token ends. */
function tokens(dialect: Dialect, sql: string): [TokenKind, string][] {
  return lex(sql, RULES[dialect]).map(t => [t.kind, t.text]);
}

/** Each token as [start, end), checked against the text it claims to cover. */
function spans(dialect: Dialect, sql: string): [number, number][] {
  return lex(sql, RULES[dialect]).map(t => {
    expect(sql.slice(t.start, t.start + t.text.length)).toBe(t.text);
    return [t.start, t.start + t.text.length];
  });
}

function lexError(dialect: Dialect, sql: string): LexError {
  try {
    lex(sql, RULES[dialect]);
  } catch (error) {
    if (error instanceof LexError) return error;
    throw error;
  }
  throw new Error(`${dialect} lexed ${JSON.stringify(sql)} without an error`);
}

const each = (
  dialects: Dialect[],
  sql: string,
  expected: [TokenKind, string][]
): [Dialect, string, [TokenKind, string][]][] => dialects.map(dialect => [dialect, sql, expected]);

describe('lexer: strings', () => {
  it.each([
    ...each(ALL, "SELECT 'it''s', x", [
      ['word', 'SELECT'],
      ['string', "'it''s'"],
      ['symbol', ','],
      ['word', 'x']
    ]),
    ...each(ALL, "'''' x", [
      ['string', "''''"],
      ['word', 'x']
    ]),
    ...each(ALL, "'a' 'b'", [
      ['string', "'a'"],
      ['string', "'b'"]
    ]),
    ...each(['postgres', 'sqlite', 'mssql'], "N'caf''e' n'x'", [
      ['string', "N'caf''e'"],
      ['string', "n'x'"]
    ]),
    ...each(['postgres', 'mysql', 'sqlite'], "X'0F' x'ab'", [
      ['string', "X'0F'"],
      ['string', "x'ab'"]
    ]),
    ...each(['mysql'], "_utf8mb4'abc' _binary'x''y' x", [
      ['string', "_utf8mb4'abc'"],
      ['string', "_binary'x''y'"],
      ['word', 'x']
    ]),
    ...each(['mysql'], 'SELECT "a""b", "c"', [
      ['word', 'SELECT'],
      ['string', '"a""b"'],
      ['symbol', ','],
      ['string', '"c"']
    ]),
    ...each(['sqlite', 'mssql'], "'a\\' x", [
      ['string', "'a\\'"],
      ['word', 'x']
    ]),
    ...each(['postgres', 'mysql'], "'C:\\\\' '50\\%' x", [
      ['string', "'C:\\\\'"],
      ['string', "'50\\%'"],
      ['word', 'x']
    ])
  ])('%s reads %j', (dialect, sql, expected) => {
    expect(tokens(dialect, sql)).toEqual(expected);
  });

  it.each([
    ["E'a\\'b' x", "E'a\\'b'"],
    ["e'\\\\' x", "e'\\\\'"],
    ["E'it''s\\n' x", "E'it''s\\n'"],
    ["E'\\'; DELETE FROM t; --' x", "E'\\'; DELETE FROM t; --'"]
  ])('reads the PostgreSQL escape string in %j with backslash escapes', (sql, string) => {
    expect(tokens('postgres', sql)).toEqual([
      ['string', string],
      ['word', 'x']
    ]);
  });

  it.each([
    ['$$a; DELETE FROM t$$ x', '$$a; DELETE FROM t$$'],
    ["$tag$ $$ ' $tag$ x", "$tag$ $$ ' $tag$"],
    ['$a_1$ $a$ $a_1$ x', '$a_1$ $a$ $a_1$'],
    ['$$$$ x', '$$$$']
  ])('reads the PostgreSQL dollar-quoted string in %j up to the same tag', (sql, string) => {
    expect(tokens('postgres', sql)).toEqual([
      ['string', string],
      ['word', 'x']
    ]);
  });

  it('reads $1 and $12 as PostgreSQL parameters, and a lone $name as no string', () => {
    expect(tokens('postgres', 'a = $1 AND b = $12')).toEqual([
      ['word', 'a'],
      ['symbol', '='],
      ['parameter', '$1'],
      ['word', 'AND'],
      ['word', 'b'],
      ['symbol', '='],
      ['parameter', '$12']
    ]);
    expect(tokens('postgres', '$a')).toEqual([
      ['symbol', '$'],
      ['word', 'a']
    ]);
  });

  it('reads dollar signs as part of names and never as quotes where the engine has no dollar quoting', () => {
    expect(tokens('postgres', 'a$b$ x')).toEqual([
      ['word', 'a$b$'],
      ['word', 'x']
    ]);
    expect(tokens('mysql', "SELECT $$ 'x' $$")).toEqual([
      ['word', 'SELECT'],
      ['symbol', '$'],
      ['symbol', '$'],
      ['string', "'x'"],
      ['symbol', '$'],
      ['symbol', '$']
    ]);
  });

  it('records where each string starts and ends', () => {
    expect(spans('postgres', "SELECT E'a\\'', $$b$$, 'c''d'")).toEqual([
      [0, 6],
      [7, 13],
      [13, 14],
      [15, 20],
      [20, 21],
      [22, 28]
    ]);
  });
});

describe('lexer: quoted identifiers', () => {
  it.each([
    ...each(['postgres', 'sqlite', 'mssql'], '"a""b" c', [
      ['quoted', '"a""b"'],
      ['word', 'c']
    ]),
    ...each(['postgres', 'sqlite', 'mssql'], `"it's" x`, [
      ['quoted', `"it's"`],
      ['word', 'x']
    ]),
    ...each(['mssql'], "[a]]b] [it's] c", [
      ['quoted', '[a]]b]'],
      ['quoted', "[it's]"],
      ['word', 'c']
    ]),
    ...each(['mysql', 'sqlite'], "`a``b` `it's` c", [
      ['quoted', '`a``b`'],
      ['quoted', "`it's`"],
      ['word', 'c']
    ]),
    ...each(['sqlite'], '[order] c', [
      ['quoted', '[order]'],
      ['word', 'c']
    ]),
    ...each(['postgres', 'mysql'], '[a]', [
      ['symbol', '['],
      ['word', 'a'],
      ['symbol', ']']
    ])
  ])('%s reads %j', (dialect, sql, expected) => {
    expect(tokens(dialect, sql)).toEqual(expected);
  });
});

describe('lexer: comments', () => {
  it.each(ALL)('%s ends a -- comment at a line feed', dialect => {
    expect(tokens(dialect, 'a -- DELETE FROM t\nb')).toEqual([
      ['word', 'a'],
      ['word', 'b']
    ]);
    expect(tokens(dialect, "a -- it's\nb")).toEqual([
      ['word', 'a'],
      ['word', 'b']
    ]);
  });

  it('ends a PostgreSQL -- comment at a bare carriage return, as PostgreSQL does', () => {
    expect(tokens('postgres', 'SELECT 1 --\r; DELETE FROM t')).toEqual([
      ['word', 'SELECT'],
      ['number', '1'],
      ['symbol', ';'],
      ['word', 'DELETE'],
      ['word', 'FROM'],
      ['word', 't']
    ]);
  });

  it.each([
    ['1--1', ['1', '-', '-', '1']],
    ['1 --1', ['1', '-', '-', '1']],
    ['1-- 1', ['1']],
    ['1--\t1', ['1']],
    ['1--\n2', ['1', '2']],
    ['1--', ['1']]
  ])('reads MySQL %j as %j: -- starts a comment only before whitespace or a control character', (sql, texts) => {
    expect(tokens('mysql', sql).map(([, text]) => text)).toEqual(texts);
  });

  it.each(['postgres', 'sqlite', 'mssql'] as Dialect[])('%s reads 1--1 as 1 and a comment', dialect => {
    expect(tokens(dialect, '1--1')).toEqual([['number', '1']]);
  });

  it('reads # as a MySQL line comment, an operator in PostgreSQL and SQLite, and a temporary name in T-SQL', () => {
    expect(tokens('mysql', 'a # DELETE FROM t\nb')).toEqual([
      ['word', 'a'],
      ['word', 'b']
    ]);
    expect(tokens('postgres', 'a # b')).toEqual([
      ['word', 'a'],
      ['symbol', '#'],
      ['word', 'b']
    ]);
    expect(tokens('sqlite', 'a # b')).toEqual([
      ['word', 'a'],
      ['symbol', '#'],
      ['word', 'b']
    ]);
    expect(tokens('mssql', 'a #b')).toEqual([
      ['word', 'a'],
      ['word', '#b']
    ]);
  });

  it.each(['postgres', 'mssql'] as Dialect[])('%s nests block comments', dialect => {
    expect(tokens(dialect, '/* /* */ DELETE FROM t */ x')).toEqual([['word', 'x']]);
    expect(tokens(dialect, '/* /* */ */ DELETE')).toEqual([['word', 'DELETE']]);
  });

  it.each(['mysql', 'sqlite'] as Dialect[])('%s ends a block comment at the first */', dialect => {
    expect(tokens(dialect, '/* /* */ DELETE FROM t */ x')).toEqual([
      ['word', 'DELETE'],
      ['word', 'FROM'],
      ['word', 't'],
      ['symbol', '*'],
      ['symbol', '/'],
      ['word', 'x']
    ]);
  });

  it.each(ALL)('%s reads comment markers inside strings as text and quotes inside comments as comment', dialect => {
    expect(tokens(dialect, "'--' '/*' x")).toEqual([
      ['string', "'--'"],
      ['string', "'/*'"],
      ['word', 'x']
    ]);
    expect(tokens(dialect, "/* ' */ x -- '\ny")).toEqual([
      ['word', 'x'],
      ['word', 'y']
    ]);
  });

  it.each(ALL)('%s reads a text of comments only as no tokens', dialect => {
    expect(tokens(dialect, '  -- a\n/* b */\t')).toEqual([]);
  });
});

describe('lexer: refusals', () => {
  it.each([
    ...ALL.map(d => [d, "SELECT 'abc", 'a string is not closed', 7] as const),
    ...ALL.map(d => [d, 'SELECT 1 /* abc', 'a /* comment is not closed', 9] as const),
    ...ALL.map(d => [d, 'SELECT (1', 'a "(" is not closed', 9] as const),
    ...ALL.map(d => [d, 'SELECT 1)', 'a ")" has no matching "("', 8] as const),
    ...ALL.map(d => [d, 'SELECT 1\u0000; DELETE FROM t', 'NUL character', 8] as const),
    ['postgres', '/* /* */ DELETE FROM t', 'a /* comment is not closed', 0],
    ['mssql', '/* /* */ DELETE FROM t', 'a /* comment is not closed', 0],
    ['postgres', 'SELECT "abc', 'a quoted identifier is not closed', 7],
    ['sqlite', 'SELECT "abc', 'a quoted identifier is not closed', 7],
    ['mssql', 'SELECT [abc', 'a quoted identifier is not closed', 7],
    ['mssql', 'SELECT [a]]', 'a quoted identifier is not closed', 7],
    ['mysql', 'SELECT `abc', 'a quoted identifier is not closed', 7],
    ['mysql', 'SELECT "abc', 'a string is not closed', 7],
    ['postgres', "SELECT E'abc\\'", 'a string is not closed', 7],
    ['postgres', 'SELECT $$abc', 'a $-quoted string is not closed', 7],
    ['postgres', 'SELECT $a$ abc $b$', 'a $-quoted string is not closed', 7],
    ['mysql', 'SELECT /*! DELETE FROM t */ 1', 'executable comments', 7],
    ['mysql', 'SELECT /*!50000 SLEEP(9) */ 1', 'executable comments', 7],
    ['mysql', 'SELECT /*M!100000 SLEEP(9) */ 1', 'executable comments', 7],
    ['mysql', 'SELECT /*+ SET_VAR(sql_mode = "") */ 1', 'optimizer hints', 7],
    ['postgres', 'SELECT U&"d\\0061ta" FROM t', 'U&"…" names', 7],
    ['postgres', 'SELECT u&"x"', 'U&"…" names', 7],
    ['postgres', "SELECT 'a\\''; DELETE FROM t; --'", 'a backslash before a quote', 7],
    ['mysql', "SELECT 'a\\''; DELETE FROM t; --'", 'a backslash before a quote', 7],
    ['mysql', 'SELECT "a\\""', 'a backslash before a quote', 7]
  ] as [Dialect, string, string, number][])('%s refuses %j (%s)', (dialect, sql, message, position) => {
    const error = lexError(dialect, sql);
    expect(error.message).toContain(message);
    expect(error.position).toBe(position);
  });

  it.each([
    ['postgres', "SELECT N'a\\''"],
    ['postgres', "SELECT X'\\''"],
    ['mysql', "SELECT _utf8mb4'\\''"],
    ['mysql', "SELECT N'\\'' x"]
  ] as [Dialect, string][])(
    '%s refuses the prefixed string in %j whose end depends on backslash settings',
    (dialect, sql) => {
      expect(lexError(dialect, sql).message).toContain('a backslash before a quote');
    }
  );

  it.each(['mysql', 'sqlite'] as Dialect[])('%s reads /* /* */ as one closed comment', dialect => {
    expect(tokens(dialect, '/* /* */ x')).toEqual([['word', 'x']]);
  });

  it.each(['sqlite', 'mssql'] as Dialect[])('%s reads backslashes in strings as plain characters', dialect => {
    expect(tokens(dialect, "SELECT 'a\\'; DELETE FROM t")).toEqual([
      ['word', 'SELECT'],
      ['string', "'a\\'"],
      ['symbol', ';'],
      ['word', 'DELETE'],
      ['word', 'FROM'],
      ['word', 't']
    ]);
  });

  it('reads a MySQL comment that merely starts with ! or + further in as a plain comment', () => {
    expect(tokens('mysql', '/* ! */ /**+ */ x')).toEqual([['word', 'x']]);
  });

  it('refuses U&"…" names in PostgreSQL only', () => {
    expect(tokens('sqlite', 'U&"x"')).toEqual([
      ['word', 'U'],
      ['symbol', '&'],
      ['quoted', '"x"']
    ]);
  });
});

describe('lexer: names, variables, numbers and symbols', () => {
  it('reads T-SQL #temporary and ##global names as words', () => {
    expect(tokens('mssql', 'SELECT * FROM #t JOIN ##g ON #t.id = ##g.id')).toEqual([
      ['word', 'SELECT'],
      ['symbol', '*'],
      ['word', 'FROM'],
      ['word', '#t'],
      ['word', 'JOIN'],
      ['word', '##g'],
      ['word', 'ON'],
      ['word', '#t'],
      ['symbol', '.'],
      ['word', 'id'],
      ['symbol', '='],
      ['word', '##g'],
      ['symbol', '.'],
      ['word', 'id']
    ]);
  });

  it('reads T-SQL @variables and @@functions as variables', () => {
    expect(tokens('mssql', 'SELECT @total, @@ROWCOUNT, @a#b$1')).toEqual([
      ['word', 'SELECT'],
      ['variable', '@total'],
      ['symbol', ','],
      ['variable', '@@ROWCOUNT'],
      ['symbol', ','],
      ['variable', '@a#b$1']
    ]);
  });

  it('reads MySQL user and system variables, quoted ones included', () => {
    expect(tokens('mysql', 'SELECT @v, @@session.sql_mode, @`my var`')).toEqual([
      ['word', 'SELECT'],
      ['variable', '@v'],
      ['symbol', ','],
      ['variable', '@@session.sql_mode'],
      ['symbol', ','],
      ['variable', '@`my var`']
    ]);
  });

  it('reads @ as an operator character in PostgreSQL', () => {
    expect(tokens('postgres', 'a @> b AND @ -5 > 1')).toEqual([
      ['word', 'a'],
      ['symbol', '@'],
      ['symbol', '>'],
      ['word', 'b'],
      ['word', 'AND'],
      ['symbol', '@'],
      ['symbol', '-'],
      ['number', '5'],
      ['symbol', '>'],
      ['number', '1']
    ]);
  });

  it('reads names with digits, underscores and dollar signs as one word', () => {
    expect(tokens('postgres', 'SELECT a1, _b, c$d, délai FROM t2')).toEqual([
      ['word', 'SELECT'],
      ['word', 'a1'],
      ['symbol', ','],
      ['word', '_b'],
      ['symbol', ','],
      ['word', 'c$d'],
      ['symbol', ','],
      ['word', 'délai'],
      ['word', 'FROM'],
      ['word', 't2']
    ]);
  });

  it('upper-cases words only', () => {
    expect(lex(`select "Mixed", 'text', x1`, RULES.postgres).map(t => t.upper)).toEqual([
      'SELECT',
      '"Mixed"',
      ',',
      "'text'",
      ',',
      'X1'
    ]);
  });

  it('reads numbers, ? parameters and two-character operators', () => {
    expect(tokens('postgres', 'SELECT 0x1F, 1.5e3, .5, 2E-3, 7::int, a <> b, a != b, a || b, a <= ?')).toEqual([
      ['word', 'SELECT'],
      ['number', '0x1F'],
      ['symbol', ','],
      ['number', '1.5e3'],
      ['symbol', ','],
      ['number', '.5'],
      ['symbol', ','],
      ['number', '2E-3'],
      ['symbol', ','],
      ['number', '7'],
      ['symbol', '::'],
      ['word', 'int'],
      ['symbol', ','],
      ['word', 'a'],
      ['symbol', '<>'],
      ['word', 'b'],
      ['symbol', ','],
      ['word', 'a'],
      ['symbol', '!='],
      ['word', 'b'],
      ['symbol', ','],
      ['word', 'a'],
      ['symbol', '||'],
      ['word', 'b'],
      ['symbol', ','],
      ['word', 'a'],
      ['symbol', '<='],
      ['parameter', '?']
    ]);
  });

  it('reads .. as one symbol (T-SQL db..table)', () => {
    expect(tokens('mssql', 'db..t')).toEqual([
      ['word', 'db'],
      ['symbol', '..'],
      ['word', 't']
    ]);
  });

  it('reads MySQL := as one symbol', () => {
    expect(tokens('mysql', '@a := 1')).toEqual([
      ['variable', '@a'],
      ['symbol', ':='],
      ['number', '1']
    ]);
  });
});

describe('lexer: parenthesis depth', () => {
  it('gives each token the depth it sits at, parentheses at the outer depth', () => {
    expect(lex('f(a, (b)) c', RULES.postgres).map(t => [t.text, t.depth])).toEqual([
      ['f', 0],
      ['(', 0],
      ['a', 1],
      [',', 1],
      ['(', 1],
      ['b', 2],
      [')', 1],
      [')', 0],
      ['c', 0]
    ]);
  });

  it.each(ALL)('%s does not count parentheses inside strings, names or comments', dialect => {
    const name = dialect === 'mysql' ? '`(`' : '"("';
    expect(lex(`SELECT '(' , ${name} /* ( */ , (1) -- (\n`, RULES[dialect]).map(t => t.depth)).toEqual([
      0, 0, 0, 0, 0, 0, 1, 0
    ]);
  });

  it('reports the depth of a semicolon inside parentheses', () => {
    const semicolon = lex('SELECT (1; 2)', RULES.postgres).find(t => t.text === ';');
    expect(semicolon?.depth).toBe(1);
  });
});
