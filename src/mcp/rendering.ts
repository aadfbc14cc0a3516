import type { WireValue } from '../db/values.ts';
import type { ResultSet } from './result-schema.ts';
import { escapeBoundaries, frameUntrusted } from './untrusted-data.ts';

/**
 * Plain-text (Markdown) renderings of tool results, for clients and models that read text. Every
 * table of database content leaves here framed as untrusted data (see untrusted-data.ts).
 */

/**
 * Characters a table cell escapes: a backslash, the column separator, line breaks (CommonMark's LF
 * and CR, and Unicode's line and paragraph separators, which some renderers break at), and the other
 * control characters (a terminal would act on an escape sequence; a NUL ends text in C).
 */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CELL_SPECIAL = /[\\|\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;
const CELL_SPECIALS = new RegExp(CELL_SPECIAL.source, 'g');
const CELL_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '|': '\\|', '\n': '\\n', '\r': '\\r' };

/** A text that reads as SQL NULL, shown as `\NULL` so that it cannot be taken for one. */
const NULL_LOOKALIKE = /^null$/i;

export function cell(value: WireValue | undefined): string {
  if (typeof value === 'string') {
    return value.length === 4 && NULL_LOOKALIKE.test(value) ? `\\${value}` : escapeCellText(value);
  }
  if (value === null || value === undefined) return 'NULL';
  // Numbers and booleans hold nothing to escape.
  return String(value);
}

/** Text in a cell, escaped; a name (a column's, a table's) is shown so, never taken for a NULL. */
function escapeCellText(text: string): string {
  // Most texts hold nothing to escape: one test instead of a replacement.
  if (!CELL_SPECIAL.test(text)) return text;
  return text.replace(
    CELL_SPECIALS,
    special => CELL_ESCAPES[special] ?? `\\u${special.charCodeAt(0).toString(16).padStart(4, '0')}`
  );
}

/**
 * A database name (a table's, a schema's) on one line of text outside any frame: line breaks and
 * separators escaped as in a table cell, boundary look-alikes escaped, so a name cannot start a line
 * of its own or close a frame.
 */
export function inlineName(name: string): string {
  return escapeBoundaries(escapeCellText(name));
}

/**
 * A Markdown table, unframed: for callers that frame a larger rendering as a whole. Built by
 * appending to one string, which V8 flattens once when it is first read, instead of an array of
 * cells per row and one of lines, each joined: the largest cost of a 1000-row result's text.
 */
export function plainMarkdownTable(headers: readonly string[], rows: readonly (readonly WireValue[])[]): string {
  let table = `| ${headers.map(h => escapeCellText(h)).join(' | ')} |\n|${headers.map(() => '---').join('|')}|`;
  for (const row of rows) {
    let line = '\n| ';
    for (let i = 0; i < row.length; i++) line += i === 0 ? cell(row[i]) : ` | ${cell(row[i])}`;
    table += `${line} |`;
  }
  return table;
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
