import { describe, expect, it } from 'vitest';
import { mssqlGuardRules } from '../../src/db/dialects/mssql/mssql-guard.ts';
import { mysqlGuardRules } from '../../src/db/dialects/mysql/mysql-guard.ts';
import { postgresGuardRules } from '../../src/db/dialects/postgres/postgres-guard.ts';
import { sqliteGuardRules } from '../../src/db/dialects/sqlite/sqlite-guard.ts';
import { LexError, charClasses, lex, type LexerRules, type Token, type TokenKind } from '../../src/db/guard/lexer.ts';

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

describe('lexer: character classes', () => {
  /** The regular expressions the lexer tested one character at a time before, as the classes' definitions. */
  const SPACE = /[ \t\n\r\f]/;
  const UNICODE_SPACES = /[\u0085\u00a0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff]/;
  const ambiguous = (c: string): boolean => {
    const code = c.charCodeAt(0);
    return (code < 0x20 && !SPACE.test(c)) || code === 0x7f || UNICODE_SPACES.test(c);
  };
  /** Whether the string-prefix expression can match some text that starts with `c` (each alternative tried). */
  const startsPrefix = (c: string): boolean =>
    [`${c}'`, `${c}&'`, `${c}a'`].some(text => /^(?:[nNxXbB]|[uU]&|_[A-Za-z0-9]+)'/.test(text));

  const DEFINITIONS: [string, (code: number) => boolean, (c: string) => boolean][] = [
    ['isSpace', charClasses.isSpace, c => SPACE.test(c)],
    ['isUnicodeSpace', charClasses.isUnicodeSpace, c => UNICODE_SPACES.test(c)],
    ['isAmbiguous', charClasses.isAmbiguous, ambiguous],
    ['isDigit', charClasses.isDigit, c => /[0-9]/.test(c)],
    ['isHexDigit', charClasses.isHexDigit, c => /[0-9A-Fa-f]/.test(c)],
    ['isBinaryDigit', charClasses.isBinaryDigit, c => /[01]/.test(c)],
    ['isSignOrDigit', charClasses.isSignOrDigit, c => /[-+0-9]/.test(c)],
    ['isWordStart', charClasses.isWordStart, c => /[A-Za-z_\u0080-\uffff]/.test(c)],
    ['isWordPart', charClasses.isWordPart, c => /[A-Za-z0-9_$\u0080-\uffff]/.test(c) && !ambiguous(c)],
    [
      'isWordStart or isDigit (SQLite named parameters)',
      code => charClasses.isWordStart(code) || charClasses.isDigit(code),
      c => /[A-Za-z0-9_\u0080-\uffff]/.test(c)
    ],
    ['canStartStringPrefix', charClasses.canStartStringPrefix, startsPrefix]
  ];

  it.each(DEFINITIONS)(
    '%s holds exactly the UTF-16 code units its regular expression did',
    (_, predicate, definition) => {
      const differing: string[] = [];
      for (let code = 0; code <= 0xffff; code++) {
        if (predicate(code) !== definition(String.fromCharCode(code))) differing.push(code.toString(16));
      }
      expect(differing).toEqual([]);
      // Past the end of the text: `sql[j] ?? ''` failed every expression, and charCodeAt gives NaN.
      expect(definition('')).toBe(false);
      expect(predicate(NaN)).toBe(false);
    }
  );
});

type Outcome = { tokens: Token[] } | { error: string; message: string; position: number };

function outcome(read: (sql: string, rules: LexerRules) => Token[], sql: string, rules: LexerRules): Outcome {
  try {
    return { tokens: read(sql, rules) };
  } catch (error) {
    if (error instanceof LexError) return { error: 'LexError', message: error.message, position: error.position };
    return { error: String(error), message: '', position: -1 };
  }
}

/** The rules objects the guards lex with, and the curated tools' reading of SQLite (named parameters allowed). */
/**
 * The reference predates `letterNames` (SQL Server's names, past ASCII letters only) and `foldNames`
 * (names compared folded, MySQL): the rules are held to it without those options, and 'lexer: SQL Server
 * names past ASCII' and 'lexer: names folded' below hold them.
 */
const DIFFERENTIAL_RULES: [string, LexerRules][] = [
  ...ALL.map((dialect): [string, LexerRules] => [dialect, { ...RULES[dialect], letterNames: false, foldNames: false }]),
  ['sqlite (curated placeholders)', { ...RULES.sqlite, sqliteParameters: false }]
];

describe('lexer: names folded (MySQL and MariaDB)', () => {
  it('compares names as an accent- and width-insensitive collation does, reading them as before', () => {
    const plain = lex('SELECT * FROM information_schema.PROCESSL\u0130ST', { ...RULES.mysql, foldNames: false });
    const folded = lex('SELECT * FROM information_schema.PROCESSL\u0130ST', RULES.mysql);
    expect(folded.map(token => token.text)).toEqual(plain.map(token => token.text));
    expect(plain.at(-1)?.upper).toBe('PROCESSL\u0130ST');
    expect(folded.at(-1)?.upper).toBe('PROCESSLIST');
    expect(lex('SELECT \uff30ROCESSLIST, caf\u00e9', RULES.mysql).map(token => token.upper)).toEqual([
      'SELECT',
      'PROCESSLIST',
      ',',
      'CAFE'
    ]);
  });
});

describe('lexer: SQL Server names past ASCII', () => {
  const CURRENCY = [
    0xa2, 0xa3, 0xa4, 0xa5, 0x9f2, 0x9f3, 0xe3f, 0x17db, 0x20a0, 0x20ac, 0x20b1, 0xfdfc, 0xfe69, 0xff04
  ];

  it('refuses every currency sign outside a string, alone, before a number or inside a name', () => {
    for (const code of CURRENCY) {
      const sign = String.fromCharCode(code);
      for (const sql of [`SELECT ${sign}1EXEC('x')`, `SELECT ${sign}EXEC`, `SELECT a${sign}1`, `SELECT @v${sign}`]) {
        expect(lexError('mssql', sql).message, sql).toMatch(/not part of a name in this database/);
      }
      // In a string, a quoted name or a comment it is text.
      expect(tokens('mssql', `SELECT N'${sign}5' AS [${sign}] -- ${sign}`)).toEqual([
        ['word', 'SELECT'],
        ['string', `N'${sign}5'`],
        ['word', 'AS'],
        ['quoted', `[${sign}]`]
      ]);
      // PostgreSQL, MySQL and SQLite read it as part of a name.
      expect(tokens('postgres', `SELECT ${sign}1`)).toEqual([
        ['word', 'SELECT'],
        ['word', `${sign}1`]
      ]);
    }
  });

  it('reads letters of any script as names, with marks and digits after the first', () => {
    expect(tokens('mssql', 'SELECT Número, naïve, 名前1, x１ FROM Ünits')).toEqual([
      ['word', 'SELECT'],
      ['word', 'Número'],
      ['symbol', ','],
      ['word', 'naïve'],
      ['symbol', ','],
      ['word', '名前1'],
      ['symbol', ','],
      ['word', 'x１'],
      ['word', 'FROM'],
      ['word', 'Ünits']
    ]);
  });

  it('refuses any other character past ASCII that is not a letter, a mark or a digit', () => {
    let letters = 0;
    for (let code = 0x80; code <= 0xffff; code++) {
      const c = String.fromCharCode(code);
      let outcome: 'word' | 'refused';
      try {
        const [first] = lex(`${c}x`, RULES.mssql);
        expect(first?.kind, `U+${code.toString(16)}`).toBe('word');
        outcome = 'word';
      } catch (error) {
        if (!(error instanceof LexError)) throw error;
        outcome = 'refused';
      }
      expect(outcome, `U+${code.toString(16)}`).toBe(/^\p{L}$/u.test(c) ? 'word' : 'refused');
      if (outcome === 'word') letters++;
    }
    expect(letters).toBeGreaterThan(40_000);
  });

  it('compares names folded: width and accents do not hide a name from the rules', () => {
    const [fullwidth, accented] = [lex('ｘｐ_ｃｍｄｓｈｅｌｌ', RULES.mssql), lex('xp_cmdshéll', RULES.mssql)];
    expect(fullwidth[0]?.upper).toBe('XP_CMDSHELL');
    expect(accented[0]?.upper).toBe('XP_CMDSHELL');
    // Elsewhere names keep their letters.
    expect(lex('xp_cmdshéll', RULES.postgres)[0]?.upper).toBe('XP_CMDSHÉLL');
  });
});

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if ('tokens' in a && 'tokens' in b) {
    return (
      a.tokens.length === b.tokens.length &&
      a.tokens.every((token, i) => {
        const other = b.tokens[i]!;
        return (
          token.kind === other.kind &&
          token.text === other.text &&
          token.upper === other.upper &&
          token.start === other.start &&
          token.depth === other.depth &&
          Object.keys(token).length === Object.keys(other).length
        );
      })
    );
  }
  return 'error' in a && 'error' in b && a.error === b.error && a.message === b.message && a.position === b.position;
}

/** Compares the current lexer with the reference on each text, and returns the first few that differ. */
function differences(rules: LexerRules, texts: Iterable<string>): { sql: string; now: Outcome; before: Outcome }[] {
  const found: { sql: string; now: Outcome; before: Outcome }[] = [];
  for (const sql of texts) {
    const now = outcome(lex, sql, rules);
    const before = outcome(referenceLex, sql, rules);
    if (!sameOutcome(now, before)) {
      found.push({ sql, now, before });
      if (found.length >= 5) break;
    }
  }
  return found;
}

describe('lexer: the same readings as the reference lexer', () => {
  /** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const PLAIN = [
    'SELECT',
    'id',
    'label',
    'FROM',
    'bench_rows',
    'WHERE',
    't',
    'x1',
    '_a',
    'délai',
    'a$b',
    'E',
    'e',
    'N',
    'n',
    'X',
    'x',
    'b',
    'B',
    'U',
    'u',
    '_utf8',
    '_binary',
    '123',
    '0',
    '2.5',
    '.5',
    '1..2',
    '0x1F',
    '0X',
    '0xg',
    '0b01',
    '0b2',
    '0B1',
    '1e-5',
    '1E+3',
    '1e',
    '1ex',
    '7::int',
    '(',
    ')',
    ',',
    ';',
    '=',
    '::',
    ':=',
    ':',
    '?',
    '<>',
    '!=',
    '||',
    '->',
    '=>',
    '<<',
    '..',
    '.',
    '*',
    '+',
    '-',
    '/',
    '&',
    '%',
    '~',
    '^',
    '{',
    '}',
    ' ',
    ' ',
    ' ',
    '\t',
    '\n'
  ];
  const QUOTED = [
    "'",
    '"',
    '`',
    '[',
    ']',
    "''",
    '""',
    "'x'",
    "'it''s'",
    "'a\\'",
    "'\\''",
    "'C:\\\\'",
    '"a""b"',
    '`a``b`',
    '[a]]b]',
    "N'x'",
    "n'caf''e'",
    "_utf8'abc'",
    "_utf8mb4'\\''",
    "X'0F'",
    "b'01'",
    "E'a\\'b'",
    "e'\\\\'",
    "U&'x'",
    'U&"d\\0061"',
    "u&'",
    '$$',
    '$tag$',
    '$a_1$',
    '$1',
    '$12',
    '$1a',
    '$',
    '$a',
    '$é$',
    '@',
    '@@',
    '@a',
    '@@session.x',
    "@'x'",
    '@"y"',
    '@`z`',
    '@[w]',
    '#',
    '#t',
    '##g',
    '\\',
    '\\N'
  ];
  const COMMENTS = [
    '--',
    '-- x\n',
    '--\t',
    '--x',
    '/*',
    '*/',
    '/* a */',
    '/*!',
    '/*M!',
    '/*+',
    '/**+ */',
    '\r',
    '\r\n'
  ];
  const ODD = [
    '\u00a0',
    '\u2003',
    '\u200b',
    '\u2028',
    '\u3000',
    '\ufeff',
    '\u0085',
    '\u1680',
    '\u180e',
    '\u2064',
    '\u205f',
    '\u0000',
    '\u0001',
    '\u000b',
    '\u001f',
    '\u007f',
    '\u0080',
    '\u00ff',
    '\ud83d',
    '\ude00',
    '😀',
    'é',
    '\uffff'
  ];

  function texts(seed: number, count: number): string[] {
    const next = random(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const made: string[] = [];
    for (let n = 0; n < count; n++) {
      let sql = '';
      const parts = 1 + Math.floor(next() * 12);
      for (let p = 0; p < parts; p++) {
        const roll = next();
        if (roll < 0.55) sql += pick(PLAIN);
        else if (roll < 0.8) sql += pick(QUOTED);
        else if (roll < 0.88) sql += pick(COMMENTS);
        else if (roll < 0.94) sql += pick(ODD);
        else if (roll < 0.97) sql += String.fromCharCode(0x20 + Math.floor(next() * 0x5f));
        else sql += String.fromCharCode(Math.floor(next() * 0x10000));
        if (next() < 0.4) sql += ' ';
      }
      made.push(sql);
    }
    return made;
  }

  it.each(DIFFERENTIAL_RULES)('%s: 5,000 pseudo-random texts read alike, tokens or refusal', (_, rules) => {
    const generated = texts(20240611, 5000);
    expect(differences(rules, generated)).toEqual([]);
    // The texts reach both outcomes, and many of the refusals.
    const outcomes = generated.map(sql => outcome(lex, sql, rules));
    const refused = outcomes.filter(o => 'error' in o);
    expect(refused.length).toBeGreaterThan(500);
    expect(outcomes.length - refused.length).toBeGreaterThan(500);
    expect(new Set(refused.map(o => ('error' in o ? o.message : ''))).size).toBeGreaterThanOrEqual(8);
  });

  it.each(DIFFERENTIAL_RULES)('%s: every UTF-16 code unit reads alike in each position of a token', (_, rules) => {
    const templates = (c: string): string[] => [
      c,
      `a${c}b`,
      `${c}a`,
      `1${c}`,
      `.${c}`,
      `0x1${c}`,
      `0b${c}`,
      `1e${c}1`,
      `$1${c}`,
      `$${c}$ $${c}$`,
      `@a${c}`,
      `#a${c}`,
      `${c}'x'`,
      `${c}&'x'`,
      `_${c}'x'`,
      `'${c}' /* ${c} */ -- ${c}\n`
    ];
    function* all(): Generator<string> {
      for (let code = 0; code <= 0xffff; code++) yield* templates(String.fromCharCode(code));
    }
    // Most of these texts are refused; stack traces would cost more than the lexing.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      expect(differences(rules, all())).toEqual([]);
    } finally {
      Error.stackTraceLimit = limit;
    }
  });
});

/*
 * REFERENCE: the lexer as it was before its character classes moved from regular expressions to
 * code-unit predicates, copied verbatim (only indented into this function, and no longer exported).
 * The differential tests below hold the current `lex` to it. Do not edit it to follow lexer.ts.
 */
const referenceLex: (sql: string, rules: LexerRules) => Token[] = (() => {
  const WORD_START = /[A-Za-z_\u0080-\uffff]/;
  const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
  /** A character that continues a name; never one that some engine reads as a space. */
  function isWordPart(c: string): boolean {
    return WORD_PART.test(c) && !AMBIGUOUS.test(c);
  }

  /** Whitespace every engine agrees on. */
  const SPACE = /[ \t\n\r\f]/;
  /** Characters some engines read as whitespace and others as part of a name: refused outside strings and comments. */
  const UNICODE_SPACES = /[\u0085\u00a0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff]/;
  const AMBIGUOUS = {
    test(c: string): boolean {
      const code = c.charCodeAt(0);
      return (code < 0x20 && !SPACE.test(c)) || code === 0x7f || UNICODE_SPACES.test(c);
    }
  };
  const TWO_CHAR_SYMBOLS = new Set(['::', ':=', '<=', '>=', '<>', '!=', '||', '->', '=>', '<<', '>>', '..']);

  function lex(sql: string, rules: LexerRules): Token[] {
    const tokens: Token[] = [];
    let depth = 0;
    let i = 0;
    const push = (kind: TokenKind, start: number, end: number): void => {
      const text = sql.slice(start, end);
      tokens.push({ kind, text, upper: kind === 'word' ? text.toUpperCase() : text, start, depth });
    };

    while (i < sql.length) {
      const c = sql[i] ?? '';
      const next = sql[i + 1] ?? '';
      if (c === '\u0000') throw new LexError('the statement contains a NUL character', i);
      if (SPACE.test(c)) {
        i++;
        continue;
      }
      if (AMBIGUOUS.test(c)) {
        throw new LexError(
          `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} outside a string reads differently in different databases; use a plain space`,
          i
        );
      }
      // Comments.
      if (
        c === '-' &&
        next === '-' &&
        (!rules.dashCommentNeedsSpace || i + 2 >= sql.length || isSpaceOrControl(sql.charCodeAt(i + 2)))
      ) {
        i = lineEnd(sql, i + 2, rules.carriageReturnEndsComment);
        continue;
      }
      if (c === '#' && rules.hashComments) {
        i = lineEnd(sql, i + 1, rules.carriageReturnEndsComment);
        continue;
      }
      if (c === '/' && next === '*') {
        if (rules.executableComments && (sql[i + 2] === '!' || (sql[i + 2] === 'M' && sql[i + 3] === '!'))) {
          throw new LexError('MySQL executable comments (/*! … */) run their content as SQL', i);
        }
        if (rules.optimizerHints === true && sql[i + 2] === '+') {
          throw new LexError('optimizer hints (/*+ … */) can change server variables for the statement', i);
        }
        i = blockCommentEnd(sql, i, rules.nestedBlockComments);
        continue;
      }
      if (rules.unicodeIdentifiers === true && (c === 'u' || c === 'U') && next === '&' && sql[i + 2] === '"') {
        throw new LexError('U&"…" names with Unicode escapes hide the name they spell; write the name itself', i);
      }
      // Strings, with their prefixes (E'…' always has backslash escapes; N'…', X'…', _utf8'…' follow the plain rules).
      if (rules.escapeStrings && (c === 'e' || c === 'E') && next === "'") {
        const end = scanString(sql, i + 1, "'", true);
        if (end === -1) throw new LexError('a string is not closed', i);
        push('string', i, end);
        i = end;
        continue;
      }
      const prefix = /^(?:[nNxXbB]|[uU]&|_[A-Za-z0-9]+)'/.exec(sql.slice(i, i + 24))?.[0];
      if (c === "'" || prefix !== undefined) {
        const end = quotedStringEnd(sql, i + (prefix?.length ?? 1) - 1, "'", rules);
        push('string', i, end);
        i = end;
        continue;
      }
      if (c === '"' && rules.doubleQuotedStrings) {
        const end = quotedStringEnd(sql, i, '"', rules);
        push('string', i, end);
        i = end;
        continue;
      }
      if (c === '$' && rules.dollarQuotes) {
        const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i))?.[0];
        if (tag !== undefined) {
          const close = sql.indexOf(tag, i + tag.length);
          if (close === -1) throw new LexError('a $-quoted string is not closed', i);
          push('string', i, close + tag.length);
          i = close + tag.length;
          continue;
        }
        const parameter = /^\$\d+/.exec(sql.slice(i))?.[0];
        if (parameter !== undefined) {
          if (isWordPart(sql[i + parameter.length] ?? ''))
            throw new LexError('a parameter runs straight into a name', i);
          push('parameter', i, i + parameter.length);
          i += parameter.length;
          continue;
        }
      }
      // Quoted identifiers.
      const close = rules.identifierQuotes[c];
      if (close !== undefined) {
        const end = delimitedEnd(sql, i, close, 'a quoted identifier', c !== '[' || rules.bracketEscapes);
        push('quoted', i, end);
        i = end;
        continue;
      }
      if (rules.sqliteParameters === true && '$@:#'.includes(c) && /[A-Za-z0-9_\u0080-\uffff]/.test(next)) {
        throw new LexError('named parameters ($name, @name, :name) cannot be bound here; write the value instead', i);
      }
      // Words, variables, parameters, numbers.
      if (WORD_START.test(c) || (c === '#' && rules.hashIdentifiers)) {
        let j = i + 1;
        while (
          j < sql.length &&
          (isWordPart(sql[j] ?? '') || (rules.hashIdentifiers && (sql[j] === '#' || sql[j] === '@')))
        )
          j++;
        push('word', i, j);
        i = j;
        continue;
      }
      if (c === '@' && rules.atVariables) {
        let j = i + 1;
        while (sql[j] === '@') j++;
        const quote = sql[j] ?? '';
        if (quote === "'" || quote === '"' || quote === '`' || rules.identifierQuotes[quote] !== undefined) {
          // MySQL's @'…' and @"…" are strings, with its backslash rules; @`…` is a quoted name. T-SQL has none.
          if (rules.hashIdentifiers) throw new LexError('a variable name cannot be quoted', i);
          j =
            quote === '`' ? delimitedEnd(sql, j, '`', 'a variable name', true) : quotedStringEnd(sql, j, quote, rules);
        } else if (rules.hashIdentifiers) {
          // T-SQL: @name, @@name, with # @ $ _ inside.
          while (j < sql.length && (isWordPart(sql[j] ?? '') || sql[j] === '#' || sql[j] === '@')) j++;
        } else {
          // MySQL: @name, @@session.name; # starts a comment, even right after a name.
          while (j < sql.length && (isWordPart(sql[j] ?? '') || sql[j] === '.')) j++;
        }
        push('variable', i, j);
        i = j;
        continue;
      }
      if (c === '\\') {
        throw new LexError(
          'a backslash outside a string (MySQL reads \\N as NULL); write NULL or put it in a string',
          i
        );
      }
      if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next))) {
        let j = i + 1;
        if (c === '0' && (next === 'x' || next === 'X')) {
          j = i + 2;
          while (/[0-9A-Fa-f]/.test(sql[j] ?? '')) j++;
        } else if (c === '0' && (next === 'b' || next === 'B') && /[01]/.test(sql[i + 2] ?? '')) {
          j = i + 2;
          while (/[01]/.test(sql[j] ?? '')) j++;
        } else {
          while (/[0-9.]/.test(sql[j] ?? '')) j++;
          if (/[eE]/.test(sql[j] ?? '') && /[-+0-9]/.test(sql[j + 1] ?? '')) {
            j += 2;
            while (/[0-9]/.test(sql[j] ?? '')) j++;
          }
        }
        if (isWordPart(sql[j] ?? '')) {
          throw new LexError(
            'a number runs straight into a name; engines split it differently, so put a space between them',
            i
          );
        }
        push('number', i, j);
        i = j;
        continue;
      }
      if (c === '?') {
        push('parameter', i, i + 1);
        i++;
        continue;
      }
      // Symbols.
      if (c === '(') {
        push('symbol', i, i + 1);
        depth++;
        i++;
        continue;
      }
      if (c === ')') {
        depth--;
        if (depth < 0) throw new LexError('a ")" has no matching "("', i);
        push('symbol', i, i + 1);
        i++;
        continue;
      }
      const two = sql.slice(i, i + 2);
      const width = TWO_CHAR_SYMBOLS.has(two) ? 2 : 1;
      push('symbol', i, i + width);
      i += width;
    }
    if (depth !== 0) throw new LexError('a "(" is not closed', sql.length);
    return tokens;
  }

  /** Whitespace or a control character (what MySQL needs after `--` for a comment). */
  function isSpaceOrControl(code: number): boolean {
    return code <= 0x20 || code === 0x7f;
  }

  /**
   * Where a line comment ends: at LF, and at a bare CR where the engine says so (PostgreSQL). Elsewhere
   * a bare CR inside a comment is refused, since engines disagree on it.
   */
  function lineEnd(sql: string, from: number, carriageReturnEnds: boolean): number {
    let i = from;
    while (i < sql.length && sql[i] !== '\n') {
      if (sql[i] === '\r') {
        if (carriageReturnEnds) return i;
        if (sql[i + 1] !== '\n')
          throw new LexError(
            'a carriage return without a line feed inside a -- comment reads differently in different databases',
            i
          );
      }
      i++;
    }
    return i;
  }

  function blockCommentEnd(sql: string, start: number, nested: boolean): number {
    let level = 0;
    let i = start;
    while (i < sql.length) {
      if (sql[i] === '/' && sql[i + 1] === '*') {
        level = nested ? level + 1 : 1;
        i += 2;
      } else if (sql[i] === '*' && sql[i + 1] === '/') {
        level--;
        i += 2;
        if (level === 0) return i;
      } else {
        i++;
      }
    }
    throw new LexError('a /* comment is not closed', start);
  }

  /**
   * A '…' or "…" string. Where the server decides whether backslashes escape (MySQL's
   * NO_BACKSLASH_ESCAPES, PostgreSQL's standard_conforming_strings), both readings must agree on where
   * the string ends.
   */
  function quotedStringEnd(sql: string, start: number, quote: string, rules: LexerRules): number {
    const literal = scanString(sql, start, quote, false);
    const escaped = scanString(sql, start, quote, true);
    if (rules.backslashes === 'literal') {
      if (literal === -1) throw new LexError('a string is not closed', start);
      return literal;
    }
    if (literal !== escaped) {
      throw new LexError(
        'a backslash before a quote reads differently depending on the server’s settings; double the quote instead',
        start
      );
    }
    if (literal === -1) throw new LexError('a string is not closed', start);
    return literal;
  }

  /** End of a quoted run (after the closing quote), or -1. Doubled quotes stay inside. */
  function scanString(sql: string, start: number, quote: string, backslash: boolean): number {
    let i = start + 1;
    while (i < sql.length) {
      const c = sql[i];
      if (backslash && c === '\\') {
        i += 2;
        continue;
      }
      if (c === quote) {
        if (sql[i + 1] === quote) {
          i += 2;
          continue;
        }
        return i + 1;
      }
      i++;
    }
    return -1;
  }

  function delimitedEnd(sql: string, start: number, close: string, what: string, doubling: boolean): number {
    let i = start + 1;
    while (i < sql.length) {
      if (sql[i] === close) {
        if (doubling && sql[i + 1] === close) {
          i += 2;
          continue;
        }
        return i + 1;
      }
      i++;
    }
    throw new LexError(`${what} is not closed`, start);
  }

  return lex;
})();
