import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { resultSetSchema, resultSetShape, withRowsCheckedInPlace } from '../../src/mcp/result-schema.ts';

/**
 * The result-set output schema checks its rows by hand, in place, and the rest with zod: it must
 * accept and refuse exactly what the plain zod schema does, with zod's own issues, and give the
 * same value back.
 */

const plain = z.object(resultSetShape);
const columns = [
  { name: 'id', type: 'int4' },
  { name: 'label', type: null }
];
const valid = { columns, rows: [[1, 'a']], rowCount: 1, truncated: false, truncation: null, elapsedMs: 0.5 };

const sparse: unknown[] = [1];
sparse[2] = 'c';

const corpus: [string, unknown][] = [
  ['a one-row result', valid],
  ['every kind of value', { ...valid, rows: [['text', -1.5, 0, true, false, null, '', '9007199254740993']] }],
  ['no rows', { ...valid, rows: [], rowCount: 0 }],
  ['rows without columns', { ...valid, rows: [[], []] }],
  ['a note and a cut', { ...valid, truncated: true, truncation: 'max_rows', note: 'Only the first rows' }],
  ['an extra property (zod strips it)', { ...valid, extra: 'dropped' }],
  ['NaN in a row', { ...valid, rows: [[1, Number.NaN]] }],
  ['Infinity in a row', { ...valid, rows: [[Number.POSITIVE_INFINITY, 'a']] }],
  ['-Infinity in a row', { ...valid, rows: [[Number.NEGATIVE_INFINITY, 'a']] }],
  ['undefined in a row', { ...valid, rows: [[1, undefined]] }],
  ['a hole in a row', { ...valid, rows: [sparse] }],
  ['an object in a row', { ...valid, rows: [[1, { a: 1 }]] }],
  ['an array in a row', { ...valid, rows: [[1, ['nested']]] }],
  ['a bigint in a row', { ...valid, rows: [[1n, 'a']] }],
  ['a Date in a row', { ...valid, rows: [[new Date(0), 'a']] }],
  ['a row that is not an array', { ...valid, rows: [[1, 'a'], 'row'] }],
  ['a row that is an object', { ...valid, rows: [{ 0: 1, length: 1 }] }],
  ['rows that are not an array', { ...valid, rows: 'rows' }],
  ['rows missing', { columns, rowCount: 0, truncated: false, truncation: null, elapsedMs: 1 }],
  ['rows null', { ...valid, rows: null }],
  ['valid rows, a bad rowCount', { ...valid, rowCount: 1.5 }],
  ['valid rows, a bad column', { ...valid, columns: [{ name: 1, type: 'int4' }] }],
  ['valid rows, a bad truncation', { ...valid, truncation: 'max_bytes' }],
  ['valid rows, elapsedMs missing', { columns, rows: [[1, 'a']], rowCount: 1, truncated: false, truncation: null }],
  ['bad rows and a bad rowCount', { ...valid, rows: [[Number.NaN]], rowCount: 'one' }],
  ['not an object', 'result'],
  ['null', null],
  ['an array', [valid]]
];

const standard = (schema: z.ZodType) => schema['~standard'];

describe('result-set rows checked in place', () => {
  it.each(corpus)('%s: the same answer as zod', (_name, value) => {
    const zod = standard(plain).validate(value);
    const fast = standard(resultSetSchema).validate(value);
    expect(fast).not.toBeInstanceOf(Promise);
    expect(fast).toEqual(zod);
  });

  it('gives the rows back as they are, not copied, and the rest as zod gives it', () => {
    const rows = [
      [1, 'a'],
      [2, null]
    ];
    const outcome = standard(resultSetSchema).validate({ ...valid, rows, extra: 'dropped' });
    expect(outcome).not.toBeInstanceOf(Promise);
    const value = (outcome as { value: Record<string, unknown> }).value;
    expect(value['rows']).toBe(rows);
    expect(value).not.toHaveProperty('extra');
    // zod copies: the plain schema gives other arrays back.
    const zod = standard(plain).validate({ ...valid, rows }) as { value: Record<string, unknown> };
    expect(zod.value['rows']).not.toBe(rows);
  });

  it('keeps the schema a zod object with the same JSON Schema and other fields of its own', () => {
    const withExtra = withRowsCheckedInPlace(z.object({ schema: z.string(), ...resultSetShape }));
    expect(z.toJSONSchema(resultSetSchema)).toEqual(z.toJSONSchema(plain));
    expect(standard(withExtra).jsonSchema.output({ target: 'draft-2020-12' })).toEqual(
      standard(z.object({ schema: z.string(), ...resultSetShape })).jsonSchema.output({ target: 'draft-2020-12' })
    );
    expect(standard(withExtra).validate({ ...valid, schema: 'public' })).toEqual({
      value: { ...valid, schema: 'public' }
    });
    expect(standard(withExtra).validate({ ...valid, schema: 7 })).toEqual(
      standard(z.object({ schema: z.string(), ...resultSetShape })).validate({ ...valid, schema: 7 })
    );
    expect(resultSetSchema.safeParse(valid).success).toBe(true);
  });
});
