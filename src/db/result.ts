import type { DriverColumn, RowSink } from './driver.ts';
import { wireRowJsonLength, type WireValue } from './values.ts';

/**
 * Collects streamed rows up to a row cap and a character budget, converting each value exactly as it
 * arrives. It asks the driver to stop reading at the first row past either limit, so a query that
 * matches a million rows reads about as many rows as it returns.
 */

export type Truncation = 'max_rows' | 'max_chars';

export interface ResultColumn {
  name: string;
  type: string | null;
}

export interface CollectedRows {
  columns: ResultColumn[];
  rows: WireValue[][];
  truncated: Truncation | null;
}

export interface CollectorLimits {
  maxRows: number;
  /** Budget on the JSON length of the rows. */
  maxChars: number;
}

export type ValueConverter = (value: unknown, column: DriverColumn) => WireValue;

export class ResultCollector implements RowSink {
  private driverColumns: readonly DriverColumn[] = [];
  private readonly rows: WireValue[][] = [];
  private chars = 2;
  private received = 0;
  private truncation: Truncation | null = null;
  private columnsTooWide: { columns: number; chars: number } | undefined;
  private readonly limits: CollectorLimits;
  private readonly convert: ValueConverter;

  constructor(limits: CollectorLimits, convert: ValueConverter) {
    this.limits = limits;
    this.convert = convert;
  }

  /** One row past the cap, to learn whether the result was cut. */
  get rowLimit(): number {
    return this.limits.maxRows + 1;
  }

  /** Rows the driver has delivered so far, kept or not (what a running query's progress reports). */
  get rowsReceived(): number {
    return this.received;
  }

  columns(columns: readonly DriverColumn[]): void {
    this.driverColumns = columns;
    // The columns go with every answer, whatever its rows: thousands of long names alone can take
    // more than a result may hold, and then no row is read.
    const chars = JSON.stringify(columns.map(({ name, type }) => ({ name, type }))).length;
    if (chars > this.limits.maxChars) this.columnsTooWide = { columns: columns.length, chars };
  }

  /** The columns, when their names and types alone take more characters than the budget. */
  get tooWide(): { columns: number; chars: number } | undefined {
    return this.columnsTooWide;
  }

  /** Converts the row's values where they are (the array is the sink's, see RowSink) and keeps it. */
  row(values: unknown[]): boolean {
    this.received++;
    if (this.truncation !== null) return false;
    if (this.columnsTooWide !== undefined) {
      this.truncation = 'max_chars';
      return false;
    }
    if (this.rows.length >= this.limits.maxRows) {
      this.truncation = 'max_rows';
      return false;
    }
    const columns = this.driverColumns;
    for (let i = 0; i < values.length; i++) {
      values[i] = this.convert(values[i], columns[i] ?? { name: `column${i + 1}`, type: null });
    }
    const converted = values as WireValue[];
    // The rows' JSON: `[` and `]` (counted from the start), each row, and a comma between two rows.
    const size = wireRowJsonLength(converted) + (this.rows.length > 0 ? 1 : 0);
    if (this.chars + size > this.limits.maxChars) {
      this.truncation = 'max_chars';
      return false;
    }
    this.chars += size;
    this.rows.push(converted);
    return true;
  }

  result(): CollectedRows {
    return {
      columns: this.driverColumns.map(c => ({ name: c.name, type: c.type })),
      rows: this.rows,
      truncated: this.truncation
    };
  }
}
