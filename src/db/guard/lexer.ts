/**
 * A SQL lexer for the statement guard: it finds where strings, quoted identifiers and comments begin
 * and end exactly as each engine does, so that what the guard reads as code is what the database
 * will execute. Where an engine's reading depends on a server setting (backslash escapes, ANSI
 * quotes, executable comments), the lexer refuses the text instead of guessing.
 */

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'variable' | 'parameter' | 'symbol';

export interface Token {
  kind: TokenKind;
  /** The text as written. */
  text: string;
  /** Upper-cased text of a word (keywords compare case-insensitively). */
  upper: string;
  start: number;
  /** Parenthesis depth at this token (0 at the top level of a statement). */
  depth: number;
}

export interface LexerRules {
  /** `--` starts a comment only before whitespace or a control character (MySQL). */
  dashCommentNeedsSpace: boolean;
  /** `#` starts a line comment (MySQL). */
  hashComments: boolean;
  /** Block comments nest (PostgreSQL, SQL Server). */
  nestedBlockComments: boolean;
  /** `/*!` and `/*M!` comments are executed as SQL (MySQL, MariaDB): refused. */
  executableComments: boolean;
  /** Characters that open a quoted identifier, with their closing character. */
  identifierQuotes: Readonly<Record<string, string>>;
  /** `"…"` is a string (MySQL without ANSI_QUOTES), read under both meanings. */
  doubleQuotedStrings: boolean;
  /** Backslashes in '…' strings: never special (SQL Server, SQLite) or special depending on a server setting (MySQL, PostgreSQL). */
  backslashes: 'literal' | 'setting-dependent';
  /** E'…' strings, always with backslash escapes (PostgreSQL). */
  escapeStrings: boolean;
  /** $tag$…$tag$ strings (PostgreSQL). */
  dollarQuotes: boolean;
  /** `@name` is a variable (SQL Server, MySQL); elsewhere `@` is an operator character. */
  atVariables: boolean;
  /** A bare carriage return ends a line comment (PostgreSQL). Elsewhere a CR inside one is refused: engines differ. */
  carriageReturnEndsComment: boolean;
  /** `]]` inside `[…]` stands for `]` (SQL Server); SQLite has no escape there. */
  bracketEscapes: boolean;
  /** `$name`, `@name`, `:name` and `#name` are parameters, which SQLite reads through to a `)` after them: refused. */
  sqliteParameters?: boolean;
  /** `#name` is a temporary table name, not a comment (SQL Server). */
  hashIdentifiers: boolean;
  /** A '…' string before a `.` is the name of a schema (SQLite takes a string where it expects a name: `'temp'.t`). */
  stringSchemaNames?: boolean;
  /** `U&"…"` identifiers with Unicode escapes (PostgreSQL): refused, since the name they spell is hidden. */
  unicodeIdentifiers?: boolean;
  /** Optimizer hint comments (slash-star-plus), which can set server variables for the statement (MySQL): refused. */
  optimizerHints?: boolean;
  /**
   * Past ASCII, only letters start a name and only letters, marks and digits continue one (SQL Server);
   * any other such character outside a string, a quoted name or a comment is refused. Elsewhere every
   * code unit from U+0080 up is part of a name, as PostgreSQL, MySQL and SQLite read it. Names are also
   * compared folded (see foldName), as a width- and accent-insensitive collation resolves them.
   */
  letterNames?: boolean;
  /**
   * Names compared folded (see foldName), without `letterNames`' reading of names (MySQL and MariaDB,
   * whose utf8 collations resolve `İ` as `I`: `information_schema.PROCESSLİST` is the process list).
   */
  foldNames?: boolean;
}

export class LexError extends Error {
  readonly position: number;

  constructor(message: string, position: number) {
    super(message);
    this.name = 'LexError';
    this.position = position;
  }
}

/*
 * Character classes, over UTF-16 code units (`sql.charCodeAt(i)`). Past the end of the text
 * `charCodeAt` gives NaN, which every class below leaves out.
 */

/** Whitespace every engine agrees on: space, tab, line feed, carriage return, form feed. */
function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0x0c;
}

/**
 * Characters some engines read as whitespace and others as part of a name: U+0085, U+00A0, U+1680,
 * U+180E, U+2000–U+200F, U+2028–U+202F, U+205F–U+2064, U+3000, U+FEFF.
 */
function isUnicodeSpace(code: number): boolean {
  return (
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    code === 0x180e ||
    (code >= 0x2000 && code <= 0x200f) ||
    (code >= 0x2028 && code <= 0x202f) ||
    (code >= 0x205f && code <= 0x2064) ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/**
 * Refused outside strings and comments, since engines read it differently: a control character
 * other than the spaces above, DEL, or one of the Unicode spaces.
 */
function isAmbiguous(code: number): boolean {
  return (code < 0x20 && !isSpace(code)) || code === 0x7f || isUnicodeSpace(code);
}

/** `0`–`9`. */
function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** `0`–`9`, `A`–`F`, `a`–`f`. */
function isHexDigit(code: number): boolean {
  return isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/** `-`, `+` or `0`–`9` (what may follow the `e` of an exponent). */
function isSignOrDigit(code: number): boolean {
  return code === 0x2d || code === 0x2b || isDigit(code);
}

/** `0` or `1`. */
function isBinaryDigit(code: number): boolean {
  return code === 0x30 || code === 0x31;
}

/** A character that starts a name: `A`–`Z`, `a`–`z`, `_`, or any code unit from U+0080 up. */
function isWordStart(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code >= 0x80;
}

/** A character that continues a name (a name's start, `0`–`9` or `$`); never one that some engine reads as a space. */
function isWordPart(code: number): boolean {
  return (isWordStart(code) || isDigit(code) || code === 0x24) && !isAmbiguous(code);
}

const LETTER = /^\p{L}$/u;
const LETTER_PART = /^[\p{L}\p{M}\p{Nd}]$/u;

/** Under `letterNames`: whether the code unit may start a name (a letter; ASCII as isWordStart says). */
function isLetterStart(code: number): boolean {
  return code < 0x80 ? isWordStart(code) : LETTER.test(String.fromCharCode(code));
}

/** Under `letterNames`: whether the code unit may continue a name (a letter, mark or digit; ASCII as isWordPart says). */
function isLetterPart(code: number): boolean {
  return code < 0x80 ? isWordPart(code) : LETTER_PART.test(String.fromCharCode(code));
}

/**
 * A name as rules compare it under `letterNames`: upper case, with compatibility forms folded and
 * accents dropped (`ｘｐ_ｃｍｄｓｈｅｌｌ` and `xp_cmdshéll` are XP_CMDSHELL), since SQL Server resolves names
 * through the database's collation, which may ignore width and accents.
 */
export function foldName(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\u0000-\u007f]*$/.test(text)) return text.toUpperCase();
  return text.normalize('NFKD').replace(/\p{M}/gu, '').normalize('NFKC').toUpperCase();
}

/** A character that can start a string prefix: `n N x X b B` (N'…', X'…', B'…'), `u U` (U&'…'), `_` (_utf8'…'). */
function canStartStringPrefix(code: number): boolean {
  return (
    code === 0x6e || // n
    code === 0x4e || // N
    code === 0x78 || // x
    code === 0x58 || // X
    code === 0x62 || // b
    code === 0x42 || // B
    code === 0x75 || // u
    code === 0x55 || // U
    code === 0x5f // _
  );
}

/** The character classes, for the tests that hold them to their definitions. */
export const charClasses = {
  isSpace,
  isUnicodeSpace,
  isAmbiguous,
  isDigit,
  isHexDigit,
  isBinaryDigit,
  isSignOrDigit,
  isWordStart,
  isWordPart,
  canStartStringPrefix
};

const TWO_CHAR_SYMBOLS = new Set(['::', ':=', '<=', '>=', '<>', '!=', '||', '->', '=>', '<<', '>>', '..']);

export function lex(sql: string, rules: LexerRules): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  const letters = rules.letterNames === true;
  const fold = letters || rules.foldNames === true;
  const wordStart = letters ? isLetterStart : isWordStart;
  const wordPart = letters ? isLetterPart : isWordPart;
  const push = (kind: TokenKind, start: number, end: number): void => {
    const text = sql.slice(start, end);
    const upper = kind !== 'word' ? text : fold ? foldName(text) : text.toUpperCase();
    tokens.push({ kind, text, upper, start, depth });
  };

  while (i < sql.length) {
    const c = sql[i] ?? '';
    const code = sql.charCodeAt(i);
    const next = sql[i + 1] ?? '';
    if (c === '\u0000') throw new LexError('the statement contains a NUL character', i);
    if (isSpace(code)) {
      i++;
      continue;
    }
    if (isAmbiguous(code)) {
      throw new LexError(
        `U+${code.toString(16).toUpperCase().padStart(4, '0')} outside a string reads differently in different databases; use a plain space`,
        i
      );
    }
    // Comments.
    if (
      c === '-' &&
      next === '-' &&
      (!rules.dashCommentNeedsSpace || i + 2 >= sql.length || isSpaceOrControl(sql.charCodeAt(i + 2)))
    ) {
      i = lineEnd(sql, i + 2, rules.carriageReturnEndsComment, letters);
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
    const prefix = canStartStringPrefix(code)
      ? /^(?:[nNxXbB]|[uU]&|_[A-Za-z0-9]+)'/.exec(sql.slice(i, i + 24))?.[0]
      : undefined;
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
        if (isWordPart(sql.charCodeAt(i + parameter.length))) {
          throw new LexError('a parameter runs straight into a name', i);
        }
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
    if (
      rules.sqliteParameters === true &&
      '$@:#'.includes(c) &&
      (isWordStart(sql.charCodeAt(i + 1)) || isDigit(sql.charCodeAt(i + 1)))
    ) {
      throw new LexError('named parameters ($name, @name, :name) cannot be bound here; write the value instead', i);
    }
    // Words, variables, parameters, numbers.
    if (letters && code >= 0x80 && !isLetterStart(code)) {
      throw new LexError(
        `U+${code.toString(16).toUpperCase().padStart(4, '0')} outside a string is not part of a name in this database, which reads a currency sign as the start of a money amount; put it in a string, or the name in [brackets]`,
        i
      );
    }
    if (wordStart(code) || (c === '#' && rules.hashIdentifiers)) {
      let j = i + 1;
      while (
        j < sql.length &&
        (wordPart(sql.charCodeAt(j)) || (rules.hashIdentifiers && (sql[j] === '#' || sql[j] === '@')))
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
        j = quote === '`' ? delimitedEnd(sql, j, '`', 'a variable name', true) : quotedStringEnd(sql, j, quote, rules);
      } else if (rules.hashIdentifiers) {
        // T-SQL: @name, @@name, with # @ $ _ inside.
        while (j < sql.length && (wordPart(sql.charCodeAt(j)) || sql[j] === '#' || sql[j] === '@')) j++;
      } else {
        // MySQL: @name, @@session.name; # starts a comment, even right after a name.
        while (j < sql.length && (isWordPart(sql.charCodeAt(j)) || sql[j] === '.')) j++;
      }
      push('variable', i, j);
      i = j;
      continue;
    }
    if (c === '\\') {
      throw new LexError('a backslash outside a string (MySQL reads \\N as NULL); write NULL or put it in a string', i);
    }
    if (isDigit(code) || (c === '.' && isDigit(sql.charCodeAt(i + 1)))) {
      let j = i + 1;
      if (c === '0' && (next === 'x' || next === 'X')) {
        j = i + 2;
        while (isHexDigit(sql.charCodeAt(j))) j++;
      } else if (c === '0' && (next === 'b' || next === 'B') && isBinaryDigit(sql.charCodeAt(i + 2))) {
        j = i + 2;
        while (isBinaryDigit(sql.charCodeAt(j))) j++;
      } else {
        while (isDigit(sql.charCodeAt(j)) || sql[j] === '.') j++;
        if ((sql[j] === 'e' || sql[j] === 'E') && isSignOrDigit(sql.charCodeAt(j + 1))) {
          j += 2;
          while (isDigit(sql.charCodeAt(j))) j++;
        }
      }
      if (isWordPart(sql.charCodeAt(j))) {
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

/** Line breaks other than LF and CR: VT, FF, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR. */
const OTHER_LINE_BREAKS: ReadonlySet<number> = new Set([0x0b, 0x0c, 0x85, 0x2028, 0x2029]);

/**
 * Where a line comment ends: at LF, and at a bare CR where the engine says so (PostgreSQL). Elsewhere
 * a bare CR inside a comment is refused, since engines disagree on it; so are the other line breaks
 * where the engine does not document where its comments end (`otherBreaksUnknown`, SQL Server).
 */
function lineEnd(sql: string, from: number, carriageReturnEnds: boolean, otherBreaksUnknown = false): number {
  let i = from;
  while (i < sql.length && sql[i] !== '\n') {
    if (otherBreaksUnknown && OTHER_LINE_BREAKS.has(sql.charCodeAt(i))) {
      throw new LexError(
        `U+${sql.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')} inside a -- comment may end it in this database; use a /* */ comment`,
        i
      );
    }
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
