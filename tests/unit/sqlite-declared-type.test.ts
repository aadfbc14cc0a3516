import { describe, expect, it, vi } from 'vitest';
import { SqliteAdapter } from '../../src/db/dialects/sqlite/sqlite-adapter.ts';
import type * as DeclaredType from '../../src/db/dialects/sqlite/sqlite-declared-type.ts';
import {
  declaredBoolean,
  declaredScale,
  integersTravelAsNumbers
} from '../../src/db/dialects/sqlite/sqlite-declared-type.ts';

/**
 * What SQLite's declared column types mean to sqlbridge, and that the adapter reads each declared
 * type once rather than once per value.
 */

const parsed = vi.hoisted(() => ({ count: 0 }));

vi.mock('../../src/db/dialects/sqlite/sqlite-declared-type.ts', async importOriginal => {
  const original = await importOriginal<typeof DeclaredType>();
  return {
    ...original,
    declaredScale: (type: string | null) => {
      parsed.count++;
      return original.declaredScale(type);
    }
  };
});

const options = { binaryPreviewBytes: 48 };

describe('declared types', () => {
  it('reads the scale of DECIMAL(p,s) and NUMERIC(p,s), 0 without s', () => {
    expect(declaredScale('DECIMAL(10,2)')).toBe(2);
    expect(declaredScale(' numeric ( 12 , 4 ) ')).toBe(4);
    expect(declaredScale('DECIMAL(9)')).toBe(0);
    expect(declaredScale('DECIMAL')).toBeUndefined();
    expect(declaredScale('INTEGER')).toBeUndefined();
    expect(declaredScale(null)).toBeUndefined();
  });

  it('knows BOOL and BOOLEAN, in any case, and nothing else', () => {
    expect(declaredBoolean('BOOLEAN')).toBe(true);
    expect(declaredBoolean(' bool ')).toBe(true);
    expect(declaredBoolean('BOOLEANS')).toBe(false);
    expect(declaredBoolean('INTEGER')).toBe(false);
    expect(declaredBoolean(null)).toBe(false);
  });

  it('lets integers travel as numbers except in declared decimal and boolean columns', () => {
    expect(integersTravelAsNumbers('INTEGER')).toBe(true);
    expect(integersTravelAsNumbers('BIGINT')).toBe(true);
    expect(integersTravelAsNumbers(null)).toBe(true);
    expect(integersTravelAsNumbers('NUMERIC(12,2)')).toBe(false);
    expect(integersTravelAsNumbers('BOOLEAN')).toBe(false);
  });
});

describe('the SQLite adapter', () => {
  it('reads a declared type once, not once per value, and converts every value by it', () => {
    const adapter = new SqliteAdapter();
    const price = { name: 'price', type: 'DECIMAL(10,2)' };
    const flag = { name: 'flag', type: 'BOOLEAN' };
    const plain = { name: 'n', type: 'INTEGER' };
    parsed.count = 0;
    const values = Array.from({ length: 100 }, (_, i) => [
      adapter.toWireValue(BigInt(i), { ...price }, options),
      adapter.toWireValue(BigInt(i % 2), { ...flag }, options),
      adapter.toWireValue(i, { ...plain }, options)
    ]);
    expect(values[7]).toEqual(['7.00', true, 7]);
    expect(values[42]).toEqual(['42.00', false, 42]);
    expect(parsed.count).toBe(3);
  });

  it('still converts by the declared type once it has seen more types than it remembers', () => {
    const adapter = new SqliteAdapter();
    for (let scale = 0; scale < 3000; scale++) {
      const type = `DECIMAL(${scale + 1},${scale % 7})`;
      expect(adapter.toWireValue(5n, { name: 'c', type }, options)).toBe(
        scale % 7 === 0 ? '5' : `5.${'0'.repeat(scale % 7)}`
      );
    }
    expect(adapter.toWireValue(1n, { name: 'c', type: 'BOOLEAN' }, options)).toBe(true);
  });
});
