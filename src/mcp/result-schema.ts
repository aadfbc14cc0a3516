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

/**
 * Without the engine's paging syntax the note names none: "LIMIT/OFFSET" is a syntax error in T-SQL,
 * and a note that sends the model to a syntax error costs it a round trip.
 */
const ANY_ENGINE_PAGING = 'page through it';

/** `paging` is how the engine's SQL pages (`Dialect.paging`), for the note of a capped result. */
export function toResultSet(
  outcome: QueryOutcome,
  limits: { maxRows: number; maxResultChars: number },
  paging?: string
): ResultSet {
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
  const pageWith = paging ?? ANY_ENGINE_PAGING;
  if (outcome.truncated === 'max_rows') {
    result.note = `Only the first ${outcome.rowCount} rows are shown: the query matched more than the ${limits.maxRows}-row limit. Aggregate, filter, or ${pageWith} to see the rest.`;
  } else if (outcome.truncated === 'max_chars') {
    result.note = `Only the first ${outcome.rowCount} rows are shown: the result reached the ${limits.maxResultChars.toLocaleString('en-US')}-character limit. Select fewer or narrower columns, aggregate, or ${pageWith}.`;
  }
  return result;
}
