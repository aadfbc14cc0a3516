import * as z from 'zod';
import type { QueryOutcome } from '../db/runtime.ts';

/** The structured shape of a result set, shared by execute_sql and get_table_sample. */

export const wireValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const resultSetShape = {
  columns: z
    .array(z.object({ name: z.string(), type: z.string().nullable().describe("The engine's type name, when known") }))
    .describe('Result columns, in order'),
  rows: z
    .array(z.array(wireValueSchema))
    .describe('Rows as arrays in column order. Decimals and integers beyond 2^53 are strings; binary is base64.'),
  rowCount: z.number().int().describe('Rows returned'),
  truncated: z.boolean().describe('Whether more rows matched than were returned'),
  truncation: z.enum(['max_rows', 'max_chars']).nullable().describe('Which limit cut the result, if any'),
  note: z.string().optional().describe('What the caller should know about this result'),
  elapsedMs: z.number().describe('Time the database took, in milliseconds')
};

export type ResultSet = z.output<z.ZodObject<typeof resultSetShape>>;

export function toResultSet(outcome: QueryOutcome, limits: { maxRows: number; maxResultChars: number }): ResultSet {
  const result: ResultSet = {
    columns: outcome.columns,
    rows: outcome.rows,
    rowCount: outcome.rowCount,
    truncated: outcome.truncated !== null,
    truncation: outcome.truncated,
    elapsedMs: outcome.elapsedMs
  };
  if (outcome.statements > 1) {
    result.note = `${outcome.statements} statements ran; the rows are the last one's.`;
  }
  if (outcome.truncated === 'max_rows') {
    result.note = `Only the first ${outcome.rowCount} rows are shown: the query matched more than the ${limits.maxRows}-row limit. Aggregate, filter, or page with LIMIT/OFFSET to see the rest.`;
  } else if (outcome.truncated === 'max_chars') {
    result.note = `Only the first ${outcome.rowCount} rows are shown: the result reached the ${limits.maxResultChars.toLocaleString('en-US')}-character limit. Select fewer or narrower columns, aggregate, or page with LIMIT/OFFSET.`;
  }
  return result;
}
