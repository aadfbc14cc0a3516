import type { WireValue } from '../db/values.ts';
import type { ResultSet } from './result-schema.ts';
import { frameUntrusted } from './untrusted-data.ts';

/**
 * Plain-text (Markdown) renderings of tool results, for clients and models that read text. Every
 * table of database content leaves here framed as untrusted data (see untrusted-data.ts).
 */

/** Characters a table cell escapes: a backslash, the column separator, a line break. */
const CELL_SPECIAL = /[\\|\n]/;

export function cell(value: WireValue | undefined): string {
  if (value === null || value === undefined) return 'NULL';
  const text = String(value);
  // Most values hold nothing to escape: one test instead of three replacements.
  if (!CELL_SPECIAL.test(text)) return text;
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '\\n');
}

/** A Markdown table, unframed: for callers that frame a larger rendering as a whole. */
export function plainMarkdownTable(headers: readonly string[], rows: readonly (readonly WireValue[])[]): string {
  const lines = [`| ${headers.map(h => cell(h)).join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** A Markdown table of database content (names, values), framed as untrusted data. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly WireValue[])[]): string {
  return frameUntrusted(plainMarkdownTable(headers, rows));
}

export function renderResultSet(result: ResultSet): string {
  const count = `${result.rowCount} ${result.rowCount === 1 ? 'row' : 'rows'}`;
  const parts = [`${count} (${result.elapsedMs} ms)`];
  if (result.columns.length > 0)
    parts.push(
      markdownTable(
        result.columns.map(c => c.name),
        result.rows
      )
    );
  if (result.note !== undefined) parts.push(result.note);
  return parts.join('\n\n');
}

export function plural(count: number, one: string, many: string): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}
