import { lex, LexError, type LexerRules, type Token } from '../../db/guard/lexer.ts';

/**
 * Named placeholders (`:region`, `@region`) in a curated tool's SQL, compiled into the engine's own
 * bound parameters. The SQL is read with the engine's lexer, so a `:name` inside a string, a quoted
 * name or a comment stays text, and `::` casts, `:=` and `@@variables` are left alone. Values are
 * never written into the SQL: the compiled statement carries markers, the values travel apart.
 */

export interface PlaceholderStyle {
  /** The marker of the parameter at `position` (1-based): `$1`, `?`, `@p1`. */
  marker(position: number): string;
  /** Whether a marker may be repeated for the same value (`$1` twice); `?` binds one value each. */
  numbered: boolean;
}

export interface CompiledStatement {
  sql: string;
  /** The parameter bound at each position, in order. */
  bindings: string[];
}

export class PlaceholderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlaceholderError';
  }
}

interface Placeholder {
  name: string;
  start: number;
  end: number;
}

/** Finds the placeholders of `sql` and checks them against the declared parameters, both ways. */
export function compilePlaceholders(
  sql: string,
  declared: readonly string[],
  lexer: LexerRules,
  style: PlaceholderStyle
): CompiledStatement {
  const placeholders = findPlaceholders(sql, lexer);
  const known = new Set(declared);
  const unknown = [...new Set(placeholders.map(p => p.name).filter(name => !known.has(name)))];
  if (unknown.length > 0) {
    throw new PlaceholderError(
      `the SQL uses ${unknown.map(n => `:${n}`).join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not among the tool's parameters`
    );
  }
  const used = new Set(placeholders.map(p => p.name));
  const unused = declared.filter(name => !used.has(name));
  if (unused.length > 0) {
    throw new PlaceholderError(
      `the parameter${unused.length === 1 ? '' : 's'} ${unused.join(', ')} ${unused.length === 1 ? 'is' : 'are'} declared but the SQL never uses ${unused.length === 1 ? 'it' : 'them'} (write :${unused[0] ?? ''})`
    );
  }
  const bindings: string[] = [];
  const positions = new Map<string, number>();
  let compiled = '';
  let at = 0;
  let previous: Placeholder | undefined;
  for (const placeholder of placeholders) {
    // Two markers side by side read as one to a driver (`??` is mysql2's identifier placeholder).
    if (previous !== undefined && previous.end === placeholder.start) {
      throw new PlaceholderError(
        `the parameters :${previous.name} and :${placeholder.name} touch; put an operator or a space between them`
      );
    }
    previous = placeholder;
    let position = style.numbered ? positions.get(placeholder.name) : undefined;
    if (position === undefined) {
      bindings.push(placeholder.name);
      position = bindings.length;
      positions.set(placeholder.name, position);
    }
    compiled += sql.slice(at, placeholder.start) + style.marker(position);
    at = placeholder.end;
  }
  return { sql: compiled + sql.slice(at), bindings };
}

function findPlaceholders(sql: string, rules: LexerRules): Placeholder[] {
  let tokens: Token[];
  try {
    // SQLite's lexer refuses named parameters in caller SQL; here they are exactly what is looked for.
    tokens = lex(sql, { ...rules, sqliteParameters: false });
  } catch (error) {
    if (error instanceof LexError) throw new PlaceholderError(`the SQL cannot be read safely: ${error.message}`);
    throw error;
  }
  const found: Placeholder[] = [];
  tokens.forEach((token, i) => {
    if (token.kind === 'parameter') {
      throw new PlaceholderError(
        `the SQL holds the positional parameter ${token.text}; name each value instead (:name) and declare it under parameters`
      );
    }
    // Engines with @variables (SQL Server, MySQL) read `@name` as one token; `@@name` is a system variable.
    if (token.kind === 'variable' && /^@[A-Za-z_][A-Za-z0-9_]*$/.test(token.text)) {
      found.push({ name: token.text.slice(1), start: token.start, end: token.start + token.text.length });
      return;
    }
    const next = tokens[i + 1];
    const marker = token.kind === 'symbol' && (token.text === ':' || token.text === '@');
    if (
      marker &&
      next?.kind === 'word' &&
      next.start === token.start + 1 &&
      /^[A-Za-z_][A-Za-z0-9_]*$/.test(next.text)
    ) {
      const previous = tokens[i - 1];
      // `arr[1:n]`-like slices and `a:b` are no placeholders when the colon follows a value directly.
      if (token.text === ':' && previous !== undefined && previous.start + previous.text.length === token.start) {
        if (previous.kind !== 'symbol' || previous.text === ')' || previous.text === ']') return;
      }
      found.push({ name: next.text, start: token.start, end: next.start + next.text.length });
    }
  });
  return found;
}
