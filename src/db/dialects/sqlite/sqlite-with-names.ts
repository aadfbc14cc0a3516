import { SqlbridgeError } from '../../../errors/sqlbridge-error.ts';
import type { QuerySpec } from '../../driver.ts';
import { lex, type Token } from '../../guard/lexer.ts';
import { unquote } from '../../guard/statement-guard.ts';
import { TableAccess } from './sqlite-authorizer.ts';
import { sqliteGuardRules } from './sqlite-guard.ts';

/**
 * The names a statement gives its WITH queries (common table expressions), as written, unquoted: a
 * name followed by `AS (`, `AS MATERIALIZED (` or `AS NOT MATERIALIZED (`, with or without a column
 * list before AS. A window (`WINDOW w AS (…)`) reads the same and is counted too, which only makes the
 * check below stricter.
 */
export function withQueryNames(sql: string): string[] {
  let tokens: Token[];
  try {
    tokens = lex(sql, sqliteGuardRules.lexer);
  } catch {
    // Text the lexer refuses is refused by the statement guard, or fails in SQLite.
    return [];
  }
  const names: string[] = [];
  const isWord = (token: Token | undefined, word: string): boolean => token?.kind === 'word' && token.upper === word;
  const isSymbol = (token: Token | undefined, symbol: string): boolean =>
    token?.kind === 'symbol' && token.text === symbol;
  for (let i = 0; i < tokens.length; i++) {
    const name = tokens[i];
    if (name === undefined || (name.kind !== 'word' && name.kind !== 'quoted')) continue;
    let j = i + 1;
    if (isSymbol(tokens[j], '(')) {
      const depth = tokens[j]?.depth ?? 0;
      j++;
      while (j < tokens.length && !(isSymbol(tokens[j], ')') && (tokens[j]?.depth ?? 0) === depth)) j++;
      j++;
    }
    if (!isWord(tokens[j], 'AS')) continue;
    j++;
    if (isWord(tokens[j], 'NOT')) j++;
    if (isWord(tokens[j], 'MATERIALIZED')) j++;
    if (isSymbol(tokens[j], '(')) names.push(name.kind === 'quoted' ? unquote(name) : name.text);
  }
  return names;
}

/**
 * Refuses a role's statement whose WITH query takes the name of a table or view the role reads: the
 * authorizer could not tell its reads from a listed view's (see TableAccess.lists). Before the worker
 * sees it, whether the statement guard is on or not.
 */
export function refuseShadowingNames(tables: readonly string[], query: QuerySpec, role: string): void {
  const access = new TableAccess(tables);
  for (const sql of [...(query.before ?? []), query.sql]) {
    const name = withQueryNames(sql).find(candidate => access.lists(candidate));
    if (name === undefined) continue;
    throw new SqlbridgeError(
      'statement_rejected',
      `the WITH query ${JSON.stringify(name)} takes the name of a table or view the role ${JSON.stringify(role)} may read`,
      { expose: true, hint: 'give the WITH query another name' }
    );
  }
}
