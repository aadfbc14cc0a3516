import { describe, expect, it } from 'vitest';
import { postgresTypeName } from '../../src/db/dialects/postgres/postgres-types.ts';

/** Column type names from PostgreSQL's type OID and modifier (typmod), as a RowDescription carries them. */
describe('PostgreSQL column type names', () => {
  /** numeric's typmod: ((precision << 16) | (scale & 0x7ff)) + 4. */
  const numeric = (precision: number, scale: number) =>
    postgresTypeName(1700, ((precision << 16) | (scale & 0x7ff)) + 4);

  it('names numeric with its precision and scale, a negative scale included', () => {
    expect(numeric(12, 2)).toBe('numeric(12,2)');
    expect(numeric(38, 10)).toBe('numeric(38,10)');
    expect(numeric(1000, 1000)).toBe('numeric(1000,1000)');
    expect(numeric(2, -3)).toBe('numeric(2,-3)');
    expect(numeric(5, -1000)).toBe('numeric(5,-1000)');
    expect(postgresTypeName(1700, -1)).toBe('numeric');
  });

  it('names character types with their length and time types with their precision', () => {
    expect(postgresTypeName(1043, 44)).toBe('character varying(40)');
    expect(postgresTypeName(1184, 3)).toBe('timestamptz(3)');
    expect(postgresTypeName(999_999, -1)).toBeNull();
  });
});
