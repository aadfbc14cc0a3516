import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { argumentSchema, type ParameterSpec } from '../../src/mcp/curated/parameter-schema.ts';

/** A curated tool's parameters as the JSON Schema a client sees, and the values a call may give. */

function jsonSchema(spec: ParameterSpec): Record<string, unknown> {
  return z.toJSONSchema(z.object({ value: argumentSchema(spec) }), { io: 'input' });
}

function property(spec: ParameterSpec): Record<string, unknown> {
  return (jsonSchema(spec)['properties'] as Record<string, Record<string, unknown>>)['value'] ?? {};
}

function accepts(spec: ParameterSpec, value: unknown): boolean {
  return z.object({ value: argumentSchema(spec) }).safeParse(value === undefined ? {} : { value }).success;
}

describe('curated tool parameters', () => {
  it('describes dates and timestamps with their formats', () => {
    expect(property({ type: 'date', description: 'Day' })).toMatchObject({
      type: 'string',
      format: 'date',
      description: 'Day'
    });
    // With or without an offset, which JSON Schema's date-time format cannot say: a pattern does.
    const when = property({ type: 'timestamp', description: 'When' });
    expect(when).toMatchObject({ type: 'string', description: 'When' });
    expect(new RegExp(String(when['pattern'])).test('2026-03-31T12:00:00')).toBe(true);
    expect(new RegExp(String(when['pattern'])).test('2026-03-31 12:00')).toBe(false);
  });

  it('accepts only real dates and timestamps', () => {
    const day: ParameterSpec = { type: 'date', description: 'Day' };
    expect(accepts(day, '2026-03-31')).toBe(true);
    expect(accepts(day, '2026-02-30')).toBe(false);
    expect(accepts(day, '31/03/2026')).toBe(false);
    const when: ParameterSpec = { type: 'timestamp', description: 'When' };
    expect(accepts(when, '2026-03-31T12:00:00Z')).toBe(true);
    expect(accepts(when, '2026-03-31T12:00:00.250+02:00')).toBe(true);
    expect(accepts(when, '2026-03-31T12:00:00')).toBe(true);
    expect(accepts(when, "2026-03-31' OR 1=1")).toBe(false);
  });

  it('lists enums of numbers and booleans as JSON Schema enums', () => {
    expect(property({ type: 'integer', description: 'Size', enum: [10, 20] })).toMatchObject({ enum: [10, 20] });
    expect(accepts({ type: 'integer', description: 'Size', enum: [10, 20] }, 15)).toBe(false);
  });

  it('makes a parameter optional with a default or with required: false, and required otherwise', () => {
    const required = (spec: ParameterSpec) => (jsonSchema(spec)['required'] as string[] | undefined) ?? [];
    expect(required({ type: 'boolean', description: 'Flag' })).toEqual(['value']);
    expect(required({ type: 'boolean', description: 'Flag', default: false })).toEqual([]);
    expect(required({ type: 'boolean', description: 'Flag', required: false })).toEqual([]);
    expect(property({ type: 'boolean', description: 'Flag', default: false })).toMatchObject({ default: false });
    expect(accepts({ type: 'boolean', description: 'Flag' }, undefined)).toBe(false);
    expect(accepts({ type: 'boolean', description: 'Flag', required: false }, undefined)).toBe(true);
  });

  it('holds text to its length and pattern', () => {
    const code: ParameterSpec = { type: 'string', description: 'Code', maxLength: 3, pattern: '^[A-Z]+$' };
    expect(property(code)).toMatchObject({ maxLength: 3, pattern: '^[A-Z]+$' });
    expect(accepts(code, 'ABC')).toBe(true);
    expect(accepts(code, 'ABCD')).toBe(false);
    expect(accepts(code, 'ab')).toBe(false);
  });
});
