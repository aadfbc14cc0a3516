import { SqlbridgeError } from '../errors/sqlbridge-error.ts';
import type { DialectAdapter } from './dialect.ts';
import type { TableSummary } from './introspector.ts';

/**
 * Resolves a table name as a person or a model writes it (`orders`, `sales.Orders`, `"Odd ""name"""`,
 * `[dbo].[My Table]`) to a table the catalog knows. Names are never spliced into SQL: the resolved
 * catalog entry is quoted by the dialect.
 */

/** Splits `a.b` into its parts, honouring the dialect's identifier quotes. Quoted parts keep their case. */
export function parseTableName(input: string, adapter: DialectAdapter): { parts: string[]; quoted: boolean[] } {
  const parts: string[] = [];
  const quoted: boolean[] = [];
  let i = 0;
  const text = input.trim();
  if (text === '') throw invalid(input, 'the name is empty');
  while (i < text.length) {
    const pair = adapter.identifierQuotes.find(([open]) => text.startsWith(open, i));
    if (pair !== undefined) {
      const [open, close] = pair;
      let j = i + open.length;
      let part = '';
      for (;;) {
        const end = text.indexOf(close, j);
        if (end === -1) throw invalid(input, `a ${open}quoted${close} part is not closed`);
        part += text.slice(j, end);
        if (text.startsWith(close, end + close.length)) {
          part += close;
          j = end + 2 * close.length;
          continue;
        }
        i = end + close.length;
        break;
      }
      parts.push(part);
      quoted.push(true);
    } else {
      let j = i;
      while (j < text.length && text[j] !== '.') j++;
      const part = text.slice(i, j).trim();
      if (part === '') throw invalid(input, 'a part of the name is empty');
      parts.push(part);
      quoted.push(false);
      i = j;
    }
    while (text[i] === ' ') i++;
    if (i < text.length) {
      if (text[i] !== '.') throw invalid(input, `unexpected "${text[i] ?? ''}" after a quoted part`);
      i++;
      while (text[i] === ' ') i++;
      if (i >= text.length) throw invalid(input, 'the name ends with "."');
    }
  }
  if (parts.length > 2) throw invalid(input, 'give "table" or "schema.table"');
  return { parts, quoted };
}

/** Finds the one table `input` names, preferring an exact match and then the default schema. */
export function resolveTableName(
  input: string,
  tables: readonly TableSummary[],
  adapter: DialectAdapter
): TableSummary {
  const { parts, quoted } = parseTableName(input, adapter);
  const name = parts.at(-1) ?? '';
  const schema = parts.length === 2 ? parts[0] : undefined;
  const nameQuoted = quoted.at(-1) ?? false;
  const schemaQuoted = parts.length === 2 ? (quoted[0] ?? false) : false;

  const exact = (a: string, b: string): boolean => a === b;
  const loose = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
  const nameEq = nameQuoted && !adapter.caseInsensitiveIdentifiers ? exact : loose;
  const schemaEq = schemaQuoted && !adapter.caseInsensitiveIdentifiers ? exact : loose;

  let candidates = tables.filter(t => nameEq(t.name, name) && (schema === undefined || schemaEq(t.schema, schema)));
  if (candidates.length > 1) {
    const exactCase = candidates.filter(t => t.name === name && (schema === undefined || t.schema === schema));
    if (exactCase.length > 0) candidates = exactCase;
  }
  if (candidates.length > 1 && schema === undefined) {
    const inDefault = candidates.filter(t => t.schema === adapter.defaultSchema);
    if (inDefault.length === 1) candidates = inDefault;
  }
  const [only, ...others] = candidates;
  if (only === undefined) {
    throw new SqlbridgeError('table_not_found', `no table or view named ${JSON.stringify(input)}`, {
      expose: true,
      hint: 'call list_tables to see the tables and views available'
    });
  }
  if (others.length > 0) {
    const names = candidates.map(t => `${t.schema}.${t.name}`).join(', ');
    throw new SqlbridgeError('table_ambiguous', `${JSON.stringify(input)} matches several tables: ${names}`, {
      expose: true,
      hint: 'give the schema as well, e.g. "schema.table"'
    });
  }
  return only;
}

function invalid(input: string, reason: string): SqlbridgeError {
  return new SqlbridgeError('invalid_argument', `cannot read the table name ${JSON.stringify(input)}: ${reason}`, {
    expose: true
  });
}
