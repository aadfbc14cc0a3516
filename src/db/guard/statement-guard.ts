import { SqlbridgeError } from '../../errors/sqlbridge-error.ts';
import { LexError, foldName, lex, type LexerRules, type Token } from './lexer.ts';

/**
 * The statement guard (layer 1 of read-only protection): it lexes the SQL as the engine would,
 * splits it into statements, allows only the statement kinds the mode permits, and refuses anything
 * that can write, lock, change the session or the transaction, run code or reach files and other
 * servers, even inside a SELECT. What it cannot classify, it refuses. It never rewrites SQL.
 *
 * Rules state what a construct does ("creates a table"); the guard adds why it is refused here.
 */

export type GuardMode = 'read' | 'write';

/** A rule for a word (keyword or name) wherever it appears outside strings, comments and quoted names. */
export interface WordRule {
  reason: string;
  /** Refused in read-write environments too (it escapes the transaction, the session or the database). */
  alsoInWrites?: boolean;
  /** Refused in read-write environments only (reading it is harmless; writing it changes the server). */
  writesOnly?: boolean;
  /** Not refused when the next token is one of these (e.g. the REPLACE(…) function). */
  unlessFollowedBy?: readonly string[];
  /** Not refused when the previous token is one of these (e.g. OFFSET … ROWS FETCH NEXT). */
  unlessPrecededBy?: readonly string[];
  /** Not refused when this says the word is used harmlessly at `index` (e.g. the SET of an UPDATE). */
  allowIf?: (statement: readonly Token[], index: number) => boolean;
}

/** A rule for a name, written as a word or quoted (`pg_temp`, `"pg_temp"`): exact upper case, or a prefix ending in `*`. */
export interface NameRule extends WordRule {
  name: string;
}

/** A sequence of words with a more specific reason than its words alone (FOR SHARE, INTO OUTFILE). */
export interface PhraseRule {
  words: readonly string[];
  reason: string;
  alsoInWrites?: boolean;
}

/** A function refused when called: an exact upper-case name, or a prefix ending in `*`. */
export interface FunctionRule {
  name: string;
  reason: string;
  alsoInWrites?: boolean;
}

export interface GuardRules {
  lexer: LexerRules;
  /**
   * Whether `token` begins a new statement although no semicolon came before it (T-SQL, where
   * `SELECT 1 DELETE t` is two statements). Without it, statements end at top-level semicolons only.
   */
  startsStatement?: (current: readonly Token[], token: Token) => boolean;
  /** First keywords of statements that only read. */
  readStatements: ReadonlySet<string>;
  /** First keywords of statements that write (allowed in read-write environments only). */
  writeStatements: ReadonlySet<string>;
  /** What a statement kind that is never allowed does, by its first keyword. */
  statementReasons: Readonly<Record<string, string>>;
  words: Readonly<Record<string, WordRule>>;
  /** Rules for names, quoted or not (schemas and tables that must not be written). */
  names?: readonly NameRule[];
  /** Word prefixes refused anywhere, e.g. SQL Server's sp_ and xp_ procedures. */
  wordPrefixes?: readonly { prefix: string; reason: string }[];
  phrases: readonly PhraseRule[];
  /** Functions refused when called, matched on words and quoted names alike. */
  functions: readonly FunctionRule[];
  /** Symbols refused anywhere (MySQL's := assignment). */
  symbols?: Readonly<Record<string, string>>;
  /** Statements that only name catalog objects (SHOW CREATE TABLE t): words are names there; functions still count. */
  catalogStatements?: ReadonlySet<string>;
  /** PRAGMA names that only read (SQLite). */
  readOnlyPragmas?: ReadonlySet<string>;
  /** Schema statements commit the transaction by themselves (MySQL), so they are refused in writes too. */
  ddlCommitsImplicitly?: boolean;
  /** Names with more parts than this are refused (SQL Server's four-part names reach linked servers). */
  maxNameParts?: number;
  /**
   * What in the statement would change the caller's identity sqlbridge sets into the session for
   * row-level security (`SET @sqlbridge_department = 9`), named for the refusal; undefined when nothing
   * would. Asked first, so that such a statement is refused in every environment with this reason
   * rather than a general one: a caller who could rewrite their identity could read other people's rows.
   */
  identityChange?: (statement: readonly Token[]) => string | undefined;
  /**
   * The procedure a statement runs by naming it alone, as written (T-SQL runs a batch that begins with
   * `sales.touch_prices` as that procedure), so that a refusal names it rather than its first word.
   */
  procedureCall?: (statement: readonly Token[]) => string | undefined;
}

export interface GuardOptions {
  mode: GuardMode;
  maxStatements: number;
}

const NO_PHRASES: readonly PhraseRule[] = [];
const SCHEMA_STATEMENTS = new Set(['CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'RENAME', 'COMMENT']);
/** Statements that may show how another statement runs (MySQL's DESCRIBE is also EXPLAIN). */
const EXPLAIN_LIKE = new Set(['EXPLAIN', 'DESC', 'DESCRIBE']);
const READ_ONLY_SUFFIX = 'not allowed in a read-only environment';
const NEVER_SUFFIX = 'sqlbridge never runs it';
/** What an identity change does, after the words that name it. */
const IDENTITY_REASON = 'would change the caller’s identity, which sqlbridge sets for row-level security';

export class StatementGuard {
  private readonly rules: GuardRules;
  /** The name patterns of `rules.functions` and `rules.names`, compiled once (every token is matched against them). */
  private readonly functionPatterns: readonly Pattern[];
  private readonly namePatterns: readonly Pattern[];
  /** `rules.phrases` by their first word, in the rules' order: a word meets only the phrases it can begin. */
  private readonly phrasesByFirstWord: ReadonlyMap<string, readonly PhraseRule[]>;

  constructor(rules: GuardRules) {
    this.rules = rules;
    this.functionPatterns = rules.functions.map(rule => compile(rule.name));
    this.namePatterns = (rules.names ?? []).map(rule => compile(rule.name));
    const phrases = new Map<string, PhraseRule[]>();
    for (const phrase of rules.phrases) {
      const first = phrase.words[0];
      if (first === undefined) continue;
      const list = phrases.get(first);
      if (list === undefined) phrases.set(first, [phrase]);
      else list.push(phrase);
    }
    this.phrasesByFirstWord = phrases;
  }

  /**
   * The statements of `sql`, each as written (without its semicolon), when all of them may run;
   * otherwise throws SqlbridgeError('statement_rejected') naming the reason.
   */
  check(sql: string, options: GuardOptions): string[] {
    const verdict = this.inspect(sql, options);
    if (typeof verdict === 'string') {
      throw new SqlbridgeError('statement_rejected', verdict, {
        expose: true,
        hint:
          options.mode === 'read'
            ? 'send one statement that only reads data (SELECT or WITH … SELECT)'
            : 'send statements that read or change data; sqlbridge runs them in a transaction of its own'
      });
    }
    return verdict.map(statement => {
      const first = statement[0];
      const last = statement.at(-1);
      return first === undefined || last === undefined ? '' : sql.slice(first.start, last.start + last.text.length);
    });
  }

  /** Why the SQL may not run, or undefined when it may. */
  rejection(sql: string, options: GuardOptions): string | undefined {
    const verdict = this.inspect(sql, options);
    return typeof verdict === 'string' ? verdict : undefined;
  }

  private inspect(sql: string, options: GuardOptions): string | Token[][] {
    // Anywhere, strings and comments included: engines read the text past a NUL differently (SQLite
    // stops at it, PostgreSQL's protocol cannot carry it), so the engine would not run what was read.
    if (sql.includes('\u0000')) return 'the statement cannot be read safely: the statement contains a NUL character';
    let tokens: Token[];
    try {
      tokens = lex(sql, this.rules.lexer);
    } catch (error) {
      if (error instanceof LexError) return `the statement cannot be read safely: ${error.message}`;
      throw error;
    }
    const statements = this.split(tokens);
    if (statements.length === 0) return 'there is no statement to run';
    for (const statement of statements) {
      const reason = this.statementRejection(statement, options.mode);
      if (reason !== undefined) return reason;
    }
    if (statements.length > options.maxStatements) {
      const limit = options.maxStatements === 1 ? 'one' : `at most ${options.maxStatements}`;
      return `${statements.length} statements were sent in one call; this environment accepts ${limit}`;
    }
    return statements;
  }

  /** Statements, split at top-level semicolons and wherever the dialect says one begins without. */
  private split(tokens: readonly Token[]): Token[][] {
    const statements: Token[][] = [];
    let current: Token[] = [];
    const flush = (): void => {
      if (current.length > 0) statements.push(current);
      current = [];
    };
    for (const token of tokens) {
      if (token.kind === 'symbol' && token.text === ';' && token.depth === 0) {
        flush();
        continue;
      }
      if (current.length > 0 && token.depth === 0 && this.rules.startsStatement?.(current, token) === true) flush();
      current.push(token);
    }
    flush();
    return statements;
  }

  private statementRejection(statement: readonly Token[], mode: GuardMode): string | undefined {
    const identity = this.rules.identityChange?.(statement);
    if (identity !== undefined) return `${identity} ${IDENTITY_REASON}; ${NEVER_SUFFIX}`;
    const first = statement.find(t => !(t.kind === 'symbol' && t.text === '('));
    if (first === undefined) return 'the statement has no keyword';
    if (first.kind !== 'word')
      return this.procedureRejection(statement, mode) ?? `a statement cannot start with ${JSON.stringify(first.text)}`;
    const keyword = first.upper;
    if (this.rules.readStatements.has(keyword)) {
      if (keyword === 'PRAGMA') return this.pragmaRejection(statement) ?? this.tokenRejection(statement, mode);
      const catalog = this.rules.catalogStatements?.has(keyword) === true;
      const target = EXPLAIN_LIKE.has(keyword) ? this.explainTarget(statement) : undefined;
      // EXPLAIN, and MySQL's DESCRIBE used as EXPLAIN, show how a statement would run (ANALYZE runs it).
      if (keyword === 'EXPLAIN' || (catalog && target !== undefined)) {
        if (target === undefined)
          return catalog ? this.tokenRejection(statement, mode, false) : 'EXPLAIN is allowed only for a query';
        if (target.upper === 'EXPLAIN' || target.upper === 'PRAGMA') return 'EXPLAIN is allowed only for a query';
        if (this.rules.writeStatements.has(target.upper) && mode === 'read') {
          return `${keyword} ${target.upper} may run the statement; ${READ_ONLY_SUFFIX}`;
        }
        return this.tokenRejection(statement, mode);
      }
      return this.tokenRejection(statement, mode, !catalog);
    }
    if (this.rules.writeStatements.has(keyword)) {
      // What no environment runs (ALTER LOGIN, UPDATE … SET NOCOUNT) names itself first.
      const never = this.tokenRejection(statement, 'write');
      if (never !== undefined) return never;
      const schema = SCHEMA_STATEMENTS.has(keyword);
      const does =
        keyword === 'TRUNCATE' ? 'removes every row of a table' : schema ? 'changes the schema' : 'changes data';
      if (mode === 'read') return `${keyword} ${does}; ${READ_ONLY_SUFFIX}`;
      if (this.rules.ddlCommitsImplicitly === true && schema) {
        return `${keyword} commits by itself in this database, so it cannot run inside sqlbridge’s transaction; make schema changes with a migration tool`;
      }
      return undefined;
    }
    const known = this.rules.statementReasons[keyword];
    if (known !== undefined) return `${known}; ${mode === 'read' ? READ_ONLY_SUFFIX : NEVER_SUFFIX}`;
    const allowed = mode === 'read' ? 'statements that read data' : 'statements that read or change data';
    return (
      this.tokenRejection(statement, mode) ??
      this.procedureRejection(statement, mode) ??
      `sqlbridge cannot tell what ${keyword} does, so it does not run it; only ${allowed} are allowed`
    );
  }

  /** A statement that runs a procedure by naming it (T-SQL), refused with the procedure's name as written. */
  private procedureRejection(statement: readonly Token[], mode: GuardMode): string | undefined {
    const procedure = this.rules.procedureCall?.(statement);
    if (procedure === undefined) return undefined;
    const allowed = mode === 'read' ? 'statements that read data' : 'statements that read or change data';
    return `sqlbridge cannot tell what the procedure ${procedure} does, so it does not run it; only ${allowed} are allowed`;
  }

  /** The statement an EXPLAIN (or DESCRIBE) is about: the first statement keyword after its own. */
  private explainTarget(statement: readonly Token[]): Token | undefined {
    const depth = statement[0]?.depth;
    return statement
      .slice(1)
      .find(
        t =>
          t.kind === 'word' &&
          t.depth === depth &&
          (this.rules.readStatements.has(t.upper) || this.rules.writeStatements.has(t.upper))
      );
  }

  private pragmaRejection(statement: readonly Token[]): string | undefined {
    const name = statement.find((t, i) => i > 0 && (t.kind === 'word' || t.kind === 'quoted'));
    const nameText = name === undefined ? '' : unquote(name).toLowerCase();
    // PRAGMA schema.name: the name is the word after the dot.
    const dotted = statement[2]?.kind === 'symbol' && statement[2].text === '.' ? statement[3] : undefined;
    const pragma = dotted === undefined ? nameText : unquote(dotted).toLowerCase();
    const assigns = statement.some(t => t.kind === 'symbol' && t.text === '=');
    if (this.rules.readOnlyPragmas?.has(pragma) !== true || assigns) {
      return `PRAGMA ${pragma} can change the database or the connection; only PRAGMAs that read the catalog are allowed`;
    }
    return undefined;
  }

  private tokenRejection(statement: readonly Token[], mode: GuardMode, wordRules = true): string | undefined {
    const applies = (rule: { alsoInWrites?: boolean; writesOnly?: boolean }): boolean =>
      rule.writesOnly === true ? mode === 'write' : mode === 'read' || rule.alsoInWrites === true;
    const refuse = (rule: { reason: string; alsoInWrites?: boolean }): string =>
      `${rule.reason}; ${mode === 'read' ? READ_ONLY_SUFFIX : NEVER_SUFFIX}`;
    const names = this.nameRejection(statement);
    if (names !== undefined) return names;
    // Each token is read once per rule kind; nothing here allocates per rule (a long statement meets
    // every rule of the dialect).
    for (let i = 0; i < statement.length; i++) {
      const token = statement[i] as Token;
      if (token.kind === 'symbol') {
        const reason = this.rules.symbols?.[token.text];
        if (reason !== undefined) return refuse({ reason });
        continue;
      }
      const next = statement[i + 1];
      if (token.kind === 'string' && this.rules.lexer.stringSchemaNames === true && isSymbol(next, '.')) {
        const schemaRule = firstMatch(this.rules.names ?? [], this.namePatterns, stringValue(token).toUpperCase());
        if (schemaRule !== undefined && applies(schemaRule) && !excepted(schemaRule, statement, i)) {
          return refuse(schemaRule);
        }
        continue;
      }
      if (token.kind !== 'word' && token.kind !== 'quoted') continue;
      const name =
        token.kind === 'word'
          ? token.upper
          : this.rules.lexer.letterNames === true || this.rules.lexer.foldNames === true
            ? foldName(unquote(token))
            : unquote(token).toUpperCase();
      if (next?.kind === 'symbol' && next.text === '(') {
        const fn = firstMatch(this.rules.functions, this.functionPatterns, name);
        if (fn !== undefined && applies(fn)) return refuse(fn);
      }
      // A procedure runs without EXEC only as the first name of a statement (EXEC itself is a rule).
      if (this.rules.wordPrefixes !== undefined && startsStatementName(statement, i)) {
        for (const { prefix, reason } of this.rules.wordPrefixes) {
          if (name.startsWith(prefix)) return refuse({ reason });
        }
      }
      const nameRule = firstMatch(this.rules.names ?? [], this.namePatterns, name);
      if (nameRule !== undefined && applies(nameRule) && !excepted(nameRule, statement, i)) return refuse(nameRule);
      if (token.kind !== 'word') continue;
      for (const phrase of this.phrasesByFirstWord.get(token.upper) ?? NO_PHRASES) {
        if (applies(phrase) && phraseAt(statement, i, phrase.words)) return refuse(phrase);
      }
      // In a catalog statement (SHOW …) the words are names, except inside parentheses (a subquery).
      if (!wordRules && token.depth === statement[0]?.depth) continue;
      const rule = Object.hasOwn(this.rules.words, token.upper) ? this.rules.words[token.upper] : undefined;
      if (rule !== undefined && applies(rule) && !excepted(rule, statement, i)) return refuse(rule);
    }
    return undefined;
  }

  /** Names with more parts than the dialect allows (a.b.c.d), counting `..` as an empty part. */
  private nameRejection(statement: readonly Token[]): string | undefined {
    const max = this.rules.maxNameParts;
    if (max === undefined) return undefined;
    let parts = 0;
    for (const [i, token] of statement.entries()) {
      if (token.kind === 'word' || token.kind === 'quoted') {
        if (!isDot(statement[i - 1])) parts = 1;
      } else if (isDot(token) && parts > 0) {
        parts += token.text.length;
        if (parts > max) {
          return `names of more than ${max} parts can reach linked servers; name objects as database.schema.table at most and use aliases for columns`;
        }
      } else {
        parts = 0;
      }
    }
    return undefined;
  }
}

const WRITE_TARGET_AFTER = new Set([
  'UPDATE',
  'INTO',
  'TRUNCATE',
  'TABLE',
  'ONLY',
  'DELETE',
  'VIEW',
  'SEQUENCE',
  'EXISTS',
  'ON'
]);

/** Whether the name at `index` is what a statement writes (UPDATE x, INSERT INTO x, DELETE FROM x, ALTER TABLE x …). */
export function isWriteTarget(statement: readonly Token[], index: number): boolean {
  const previous = statement[index - 1];
  if (previous?.kind !== 'word') return false;
  if (WRITE_TARGET_AFTER.has(previous.upper)) return true;
  return previous.upper === 'FROM' && statement[index - 2]?.upper === 'DELETE';
}

/** Whether the token at `index` belongs to the name a statement starts with (`master.dbo.xp_cmdshell …`). */
function startsStatementName(statement: readonly Token[], index: number): boolean {
  if (index % 2 !== 0) return false;
  for (let k = 0; k < index; k++) {
    const t = statement[k] as Token;
    if (k % 2 === 0 ? t.kind !== 'word' && t.kind !== 'quoted' : !isDot(t)) return false;
  }
  return true;
}

/** Whether the words of a phrase follow one another from `index`. */
function phraseAt(statement: readonly Token[], index: number, words: readonly string[]): boolean {
  for (let k = 0; k < words.length; k++) {
    const t = statement[index + k];
    if (t?.kind !== 'word' || t.upper !== words[k]) return false;
  }
  return true;
}

function isDot(token: Token | undefined): boolean {
  return token?.kind === 'symbol' && (token.text === '.' || token.text === '..');
}

/** The name inside a quoted identifier (`"a""b"` → `a"b`), or a word as written. */
/** The text of a '…' string token (quotes doubled inside it stand for one). */
function stringValue(token: Token): string {
  return token.text.slice(1, -1).replaceAll("''", "'");
}

function isSymbol(token: Token | undefined, text: string): boolean {
  return token?.kind === 'symbol' && token.text === text;
}

export function unquote(token: Token): string {
  if (token.kind !== 'quoted') return token.text;
  const close = token.text.at(-1) ?? '';
  return token.text.slice(1, -1).replaceAll(close + close, close);
}

function excepted(rule: WordRule, statement: readonly Token[], i: number): boolean {
  const next = statement[i + 1];
  if (
    rule.unlessFollowedBy !== undefined &&
    next !== undefined &&
    rule.unlessFollowedBy.includes(next.kind === 'word' ? next.upper : next.text)
  ) {
    return true;
  }
  const previous = statement[i - 1];
  if (
    rule.unlessPrecededBy !== undefined &&
    previous !== undefined &&
    rule.unlessPrecededBy.includes(previous.kind === 'word' ? previous.upper : previous.text)
  ) {
    return true;
  }
  return rule.allowIf?.(statement, i) === true;
}

/** A rule's name: exact, or a prefix when it ends in `*`. */
interface Pattern {
  text: string;
  prefix: boolean;
}

function compile(pattern: string): Pattern {
  return pattern.endsWith('*') ? { text: pattern.slice(0, -1), prefix: true } : { text: pattern, prefix: false };
}

/** The first rule (in the rules' order) whose compiled pattern matches `name`. */
function firstMatch<R>(rules: readonly R[], patterns: readonly Pattern[], name: string): R | undefined {
  for (let k = 0; k < patterns.length; k++) {
    const pattern = patterns[k] as Pattern;
    if (pattern.prefix ? name.startsWith(pattern.text) : name === pattern.text) return rules[k];
  }
  return undefined;
}
