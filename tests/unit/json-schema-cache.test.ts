import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { cacheJsonSchema } from '../../src/mcp/json-schema-cache.ts';

const TARGET = { target: 'draft-2020-12' };

describe('cacheJsonSchema', () => {
  it('converts a schema once per target and answers the same frozen JSON Schema after', () => {
    const schema = z.object({ query: z.string().describe('SQL'), limit: z.number().int().optional() });
    const expected = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
    cacheJsonSchema(schema);
    const first = schema['~standard'].jsonSchema.input(TARGET);
    const second = schema['~standard'].jsonSchema.input(TARGET);
    expect(first).toEqual(expected);
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen((first as { properties: object }).properties)).toBe(true);
    expect(schema['~standard'].jsonSchema.output(TARGET)).not.toBe(first);
  });

  it('keeps validation working and is idempotent', () => {
    const schema = z.object({ n: z.number() });
    cacheJsonSchema(schema);
    const standard = schema['~standard'];
    cacheJsonSchema(schema);
    expect(schema['~standard']).toBe(standard);
    expect(schema.safeParse({ n: 1 }).success).toBe(true);
    expect(standard.validate({ n: 'x' })).toMatchObject({ issues: [expect.objectContaining({ path: ['n'] })] });
  });
});
