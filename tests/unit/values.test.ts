import { describe, expect, it } from 'vitest';
import { SqliteAdapter } from '../../src/db/dialects/sqlite/sqlite-adapter.ts';
import { cell } from '../../src/mcp/rendering.ts';
import {
  bigintToWire,
  binaryToWire,
  dateToWire,
  genericToWire,
  numberToWire,
  wireRowJsonLength,
  type WireValue
} from '../../src/db/values.ts';

const options = { binaryPreviewBytes: 8 };

describe('exact value rendering', () => {
  it('keeps integers beyond 2^53 as strings and smaller ones as numbers', () => {
    expect(bigintToWire(9007199254740991n)).toBe(9007199254740991);
    expect(bigintToWire(9007199254740992n)).toBe('9007199254740992');
    expect(bigintToWire(-9007199254740992n)).toBe('-9007199254740992');
    expect(bigintToWire(9223372036854775807n)).toBe('9223372036854775807');
    expect(bigintToWire(-9223372036854775808n)).toBe('-9223372036854775808');
  });

  it('renders non-finite doubles as strings, since JSON has no NaN or Infinity', () => {
    expect(numberToWire(Number.NaN)).toBe('NaN');
    expect(numberToWire(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(numberToWire(0.1 + 0.2)).toBe(0.30000000000000004);
  });

  it('renders binary as base64 and shortens long values stating their length', () => {
    expect(binaryToWire(Uint8Array.from([1, 2, 3]), options)).toBe('AQID');
    const long = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
    expect(binaryToWire(long, options)).toBe(
      `${Buffer.from(long.subarray(0, 8)).toString('base64')}… (300 bytes, shortened)`
    );
    expect(
      binaryToWire(
        Uint8Array.from({ length: 8 }, () => 255),
        options
      )
    ).toBe('//////////8=');
  });

  it('renders instants as ISO 8601 in UTC', () => {
    expect(dateToWire(new Date(Date.UTC(2024, 11, 31, 23, 59, 59, 123)))).toBe('2024-12-31T23:59:59.123Z');
    expect(genericToWire(new Date(Date.UTC(2024, 0, 1)), options)).toBe('2024-01-01T00:00:00.000Z');
  });

  it('passes NULL, text and booleans through', () => {
    expect(genericToWire(null, options)).toBeNull();
    expect(genericToWire(undefined, options)).toBeNull();
    expect(genericToWire('O’Brien; DROP TABLE x', options)).toBe('O’Brien; DROP TABLE x');
    expect(genericToWire(false, options)).toBe(false);
  });
});

describe('SQLite values by declared type', () => {
  const adapter = new SqliteAdapter();
  const column = (type: string | null) => ({ name: 'c', type });

  it('prints DECIMAL(p,s) with exactly s digits, whether SQLite stored an integer or a double', () => {
    expect(adapter.toWireValue(19.99, column('DECIMAL(10,2)'), options)).toBe('19.99');
    expect(adapter.toWireValue(0.1, column('decimal(12, 2)'), options)).toBe('0.10');
    expect(adapter.toWireValue(20n, column('DECIMAL(10,2)'), options)).toBe('20.00');
    expect(adapter.toWireValue(1234567.5, column('NUMERIC(12,2)'), options)).toBe('1234567.50');
    expect(adapter.toWireValue(0.0725, column('DECIMAL(5,4)'), options)).toBe('0.0725');
    expect(adapter.toWireValue(7n, column('DECIMAL(9)'), options)).toBe('7');
    expect(adapter.toWireValue('12.345', column('DECIMAL(10,2)'), options)).toBe('12.345');
  });

  it('prints a stored value with more digits than the scale as stored: SQLite does not enforce the scale', () => {
    // Rounded to the scale, these would read as values no WHERE finds.
    expect(adapter.toWireValue(19.999, column('DECIMAL(10,2)'), options)).toBe('19.999');
    expect(adapter.toWireValue(0.125, column('DECIMAL(10,2)'), options)).toBe('0.125');
    expect(adapter.toWireValue(5.5, column('NUMERIC(10)'), options)).toBe('5.5');
    expect(adapter.toWireValue(0.00005, column('DECIMAL(20,4)'), options)).toBe('0.00005');
    // 12345678901234.5678 written, the double SQLite keeps: its shortest digits (no digit beyond what
    // it holds, where toFixed(4) gave .5684), then zeros up to the scale.
    expect(adapter.toWireValue(Number('12345678901234.5678'), column('DECIMAL(20,4)'), options)).toBe(
      '12345678901234.5680'
    );
    // Never an exponent.
    expect(adapter.toWireValue(1e21, column('DECIMAL(30,2)'), options)).toBe('1000000000000000000000.00');
    expect(adapter.toWireValue(-1.5e-7, column('DECIMAL(20,2)'), options)).toBe('-0.00000015');
    expect(adapter.toWireValue(1.25e22, column('DECIMAL(30,0)'), options)).toBe('12500000000000000000000');
  });

  it('turns a declared BOOLEAN 0/1 into false/true', () => {
    expect(adapter.toWireValue(1n, column('BOOLEAN'), options)).toBe(true);
    expect(adapter.toWireValue(0n, column('bool'), options)).toBe(false);
    expect(adapter.toWireValue(2n, column('BOOLEAN'), options)).toBe(2);
  });

  it('keeps 64-bit integers exact and leaves expression results alone', () => {
    expect(adapter.toWireValue(9223372036854775807n, column('INTEGER'), options)).toBe('9223372036854775807');
    expect(adapter.toWireValue(42n, column(null), options)).toBe(42);
    expect(adapter.toWireValue(2.5, column(null), options)).toBe(2.5);
    expect(adapter.toWireValue(null, column('DECIMAL(10,2)'), options)).toBeNull();
  });

  it('quotes identifiers so that any name reads as itself', () => {
    expect(adapter.quoteIdentifier('orders')).toBe('"orders"');
    expect(adapter.quoteIdentifier('we"ird')).toBe('"we""ird"');
    expect(adapter.sampleQuery({ schema: 'main', name: 'Order "Lines"' }, 5)).toEqual({
      sql: 'SELECT * FROM "main"."Order ""Lines""" LIMIT ?',
      params: [5],
      readOnly: true
    });
  });
});

/**
 * What a row weighs against the result's budget: its JSON length, plus what its text rendering writes
 * wider (DEL, C1 controls and line separators as \uXXXX, 5 more each; `|` as `\|`, 1 more).
 */
function expectedWeight(row: readonly WireValue[]): number {
  let extra = 0;
  for (const value of row) {
    if (typeof value !== 'string') continue;
    for (const character of value) {
      if (character === '|') extra += 1;
      else if (/[\u007f-\u009f\u2028\u2029]/.test(character)) extra += 5;
    }
  }
  return JSON.stringify(row).length + extra;
}

describe('the JSON length of a row, without JSON.stringify', () => {
  const controls = Array.from({ length: 32 }, (_, code) => `a${String.fromCharCode(code)}b`);
  const texts = [
    '',
    'plain',
    'q"uote',
    'back\\slash',
    '\u007f',
    'line\u2028sep\u2029',
    'pair 😀',
    'lone high \ud800',
    'lone low \udc00 end',
    '\udc00\ud800',
    'ünïcødé',
    ...controls
  ];
  const numbers = [
    0,
    -0,
    1,
    -1.5,
    1e21,
    1e-7,
    123456789012,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    2 ** 53,
    -(2 ** 53),
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.NaN,
    Infinity
  ];

  it.each([...texts, ...numbers, true, false, null].map(value => [value]))(
    'measures %j as JSON.stringify does, and what its text writes wider',
    value => {
      expect(wireRowJsonLength([value])).toBe(expectedWeight([value]));
      expect(wireRowJsonLength([value, 1, 'x'])).toBe(expectedWeight([value, 1, 'x']));
    }
  );

  it('weighs a value at least as much as its JSON and its text cell, however the text escapes it', () => {
    for (const value of ['\u0085'.repeat(1000), '\u2028x\u2029', 'a|b|c', '\u007f\u009f|\\', 'plain']) {
      const weight = wireRowJsonLength([value]);
      expect(weight, JSON.stringify(value)).toBeGreaterThanOrEqual(JSON.stringify([value]).length);
      expect(weight, JSON.stringify(value)).toBeGreaterThanOrEqual(cell(value).length);
    }
    expect(wireRowJsonLength(['\u0085'.repeat(1000)])).toBe(6004);
  });

  it('counts the digits of integers on both sides of every power of ten', () => {
    for (let power = 1; power <= 1e16; power *= 10) {
      for (const value of [power - 1, power, power + 1, -(power - 1), -power, -(power + 1)]) {
        expect(wireRowJsonLength([value]), String(value)).toBe(JSON.stringify([value]).length);
      }
    }
  });

  it('measures an empty row, and 2,000 random rows, as JSON.stringify does and what their text writes wider', () => {
    expect(wireRowJsonLength([])).toBe(2);
    const pool: WireValue[] = [...texts, ...numbers, true, false, null];
    let seed = 12345;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 2000; i++) {
      const row = Array.from({ length: Math.floor(next() * 8) }, () =>
        next() < 0.3
          ? String.fromCharCode(...Array.from({ length: Math.floor(next() * 12) }, () => Math.floor(next() * 0xffff)))
          : (pool[Math.floor(next() * pool.length)] ?? null)
      );
      expect(wireRowJsonLength(row), JSON.stringify(row)).toBe(expectedWeight(row));
    }
  });
});
