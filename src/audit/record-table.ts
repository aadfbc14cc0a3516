import type { AuditRecord } from './record.ts';

/**
 * The trail as `sqlbridge audit` prints it for people: one record a line, columns two spaces apart,
 * numbers right-aligned, `-` where a field is absent (so the columns split on whitespace), long
 * values cut with "…", the statement on one line and last. Everything printed is made safe for a
 * terminal first: statements and names come from callers, and a control character or a bidi
 * override in them must not be able to rewrite what the operator sees.
 */

interface Column {
  title: string;
  /** The widest a value is shown; longer ones are cut. */
  max: number;
  right?: boolean;
  value(record: AuditRecord): string | undefined;
}

const COLUMNS: readonly Column[] = [
  { title: 'TIME', max: 24, value: r => r.time },
  { title: 'EVENT', max: 24, value: r => r.event },
  { title: 'OUTCOME', max: 9, value: r => r.outcome },
  { title: 'ENV', max: 20, value: r => r.environment },
  { title: 'USER', max: 24, value: r => r.user },
  { title: 'CLIENT', max: 24, value: r => r.clientId },
  { title: 'TOOL', max: 24, value: r => r.tool },
  {
    title: 'DURATION',
    max: 12,
    right: true,
    value: r => (r.durationMs === undefined ? undefined : `${r.durationMs} ms`)
  },
  // "+": the result was cut at a row or size cap.
  {
    title: 'ROWS',
    max: 12,
    right: true,
    value: r => (r.rows === undefined ? undefined : `${r.rows}${r.truncated === true ? '+' : ''}`)
  },
  { title: 'ERROR', max: 28, value: r => r.errorClass },
  { title: 'STATEMENT', max: 100, value: statement }
];

export class RecordTable {
  private readonly widths: number[];

  private constructor(widths: number[]) {
    this.widths = widths;
  }

  /** Columns as wide as these records need (up to each column's maximum). */
  static fitting(records: readonly AuditRecord[]): RecordTable {
    const widths = COLUMNS.map(column => column.title.length);
    for (const record of records) {
      COLUMNS.forEach((column, i) => {
        widths[i] = Math.min(column.max, Math.max(widths[i] ?? 0, length(cell(column, record))));
      });
    }
    return new RecordTable(widths);
  }

  /** Columns at their maximum width, for records not seen yet (`--follow`). */
  static full(): RecordTable {
    return new RecordTable(COLUMNS.map(column => column.max));
  }

  header(): string {
    return this.line(COLUMNS.map(column => column.title));
  }

  row(record: AuditRecord): string {
    return this.line(COLUMNS.map(column => cell(column, record)));
  }

  private line(cells: readonly string[]): string {
    return cells
      .map((text, i) => {
        const column = COLUMNS[i];
        const width = this.widths[i] ?? 0;
        if (i === COLUMNS.length - 1) return text;
        const padding = ' '.repeat(Math.max(0, width - length(text)));
        return column?.right === true ? padding + text : text + padding;
      })
      .join('  ')
      .trimEnd();
  }
}

function cell(column: Column, record: AuditRecord): string {
  const value = column.value(record);
  if (value === undefined || value === '') return '-';
  return shorten(printable(value), column.max);
}

/** The statement on one line; where only its hash is kept, the start of the hash. */
function statement(record: AuditRecord): string | undefined {
  if (record.statement !== undefined) return record.statement;
  return record.statementHash === undefined ? undefined : `sha256:${record.statementHash.slice(0, 16)}`;
}

/** Runs of white space as one space; control and format characters (bidi controls, zero-width spaces) as "?". */
export function printable(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\p{Cc}\p{Cf}\p{Bidi_C}]/gu, '?');
}

/**
 * A stored JSON line as a terminal may show it: JSON already escapes the C0 controls, but C1 controls
 * (U+0080 to U+009F, which some terminals obey), format characters and line separators pass as they
 * are. They are written as `\uXXXX` escapes, which JSON reads back as the same text.
 */
export function terminalSafeJson(line: string): string {
  return line.replace(
    /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu,
    // Each UTF-16 unit of the character, as JSON writes one beyond the Basic Multilingual Plane.
    c => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')
  );
}

/** Widths count characters (code points), not UTF-16 units. */
function length(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function shorten(text: string, max: number): string {
  if (length(text) <= max) return text;
  return `${Array.from(text)
    .slice(0, max - 1)
    .join('')}…`;
}
