import type { StandardSchemaV1 } from '@modelcontextprotocol/server';
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

/** The output schema of a tool that returns one result set. */
export const resultSetSchema = withRowsCheckedInPlace(z.object(resultSetShape));

type Validate = StandardSchemaV1.Props['validate'];
type Outcome = Awaited<ReturnType<Validate>>;

/**
 * `schema`, an object schema holding `resultSetShape`'s `rows`, with its rows checked in place. The
 * SDK checks every tool result against the tool's output schema, and zod, checking rows, copies
 * every one of them: about as much CPU as rendering a 1000-row result's text. Here the rows are
 * checked by hand against exactly what `rows` accepts (arrays of strings, finite numbers, booleans
 * and nulls), and zod checks the rest of the result. Rows that fail go through zod whole, so that
 * every refusal is zod's own. The schema's JSON Schema is unchanged.
 */
export function withRowsCheckedInPlace<S extends z.ZodObject>(schema: S): S {
  const standard = schema['~standard'];
  const zodValidate: Validate = standard.validate;
  const validate: Validate = value => {
    const rows = rowsOf(value);
    if (rows === undefined || !areWireRows(rows)) return zodValidate(value);
    const rest = zodValidate({ ...(value as object), rows: [] });
    return rest instanceof Promise ? rest.then(outcome => withRows(outcome, rows)) : withRows(rest, rows);
  };
  (schema as { '~standard': unknown })['~standard'] = { ...standard, validate };
  return schema;
}

function rowsOf(value: unknown): unknown[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const rows = (value as { rows?: unknown }).rows;
  return Array.isArray(rows) ? rows : undefined;
}

/** What `rows` accepts: zod's z.number() refuses NaN and the infinities, and a hole is undefined. */
function areWireRows(rows: unknown[]): boolean {
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!Array.isArray(row)) return false;
    for (let i = 0; i < row.length; i++) {
      const value: unknown = row[i];
      if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
    }
  }
  return true;
}

function withRows(outcome: Outcome, rows: unknown[]): Outcome {
  if (outcome.issues !== undefined) return outcome;
  return { value: { ...(outcome.value as object), rows } };
}

/**
 * Without the engine's paging syntax the note names none: "LIMIT/OFFSET" is a syntax error in T-SQL,
 * and a note that sends the model to a syntax error costs it a round trip.
 */
const ANY_ENGINE_PAGING = 'page through it';

/** `paging` is how the engine's SQL pages (`Dialect.paging`), for the note of a capped result. */
export function toResultSet(
  outcome: QueryOutcome,
  limits: { maxRows: number; maxResultChars: number },
  paging?: string,
  write = false
): ResultSet {
  const result: ResultSet = {
    columns: outcome.columns,
    rows: outcome.rows,
    rowCount: outcome.rowCount,
    truncated: outcome.truncated !== null,
    truncation: outcome.truncated,
    elapsedMs: outcome.elapsedMs
  };
  const notes: string[] = [];
  if (outcome.statements > 1) notes.push(`${outcome.statements} statements ran; the rows are the last one's.`);
  const pageWith = paging ?? ANY_ENGINE_PAGING;
  const chars = limits.maxResultChars.toLocaleString('en-US');
  if (write && outcome.truncated !== null) {
    // Paging would run the change again: the statement ran in full, only its answer is cut.
    notes.push(
      outcome.truncated === 'max_rows'
        ? `The statement ran in full; only the first ${outcome.rowCount} of the rows it returned are shown (the ${limits.maxRows}-row limit). Do not run it again to see the rest.`
        : `The statement ran in full; only the first ${outcome.rowCount} of the rows it returned are shown (the ${chars}-character limit). Do not run it again to see the rest.`
    );
  } else if (outcome.truncated === 'max_rows') {
    notes.push(
      `Only the first ${outcome.rowCount} rows are shown: the query matched more than the ${limits.maxRows}-row limit. Aggregate, filter, or ${pageWith} to see the rest.`
    );
  } else if (outcome.truncated === 'max_chars' && outcome.rowCount === 0) {
    // Paging cannot help: one row is already wider than the whole budget.
    notes.push(
      `No rows are shown: the first row alone is longer than the ${chars}-character limit. Select fewer columns, or parts of the long values (a substring, a length).`
    );
  } else if (outcome.truncated === 'max_chars') {
    notes.push(
      `Only the first ${outcome.rowCount} rows are shown: the result reached the ${chars}-character limit. Select fewer or narrower columns, aggregate, or ${pageWith}.`
    );
  }
  if (notes.length > 0) result.note = notes.join(' ');
  return result;
}
