import { describe, expect, it } from 'vitest';
import { ResultCollector } from '../../src/db/result.ts';

const identity = (value: unknown) => value as string | number | null;

describe('ResultCollector', () => {
  it('accepts rows up to the cap and refuses the first row beyond it', () => {
    const collector = new ResultCollector({ maxRows: 3, maxChars: 10_000 }, identity);
    collector.columns([{ name: 'n', type: null }]);
    expect(collector.rowLimit).toBe(4);
    expect([1, 2, 3].map(n => collector.row([n]))).toEqual([true, true, true]);
    expect(collector.row([4])).toBe(false);
    expect(collector.result()).toEqual({
      columns: [{ name: 'n', type: null }],
      rows: [[1], [2], [3]],
      truncated: 'max_rows'
    });
  });

  it('does not mark a result with exactly the cap as truncated', () => {
    const collector = new ResultCollector({ maxRows: 2, maxChars: 10_000 }, identity);
    collector.row([1]);
    collector.row([2]);
    expect(collector.result().truncated).toBeNull();
  });

  it('stops at the character budget, counting serialized rows', () => {
    const collector = new ResultCollector({ maxRows: 1000, maxChars: 50 }, identity);
    const row = () => ['x'.repeat(15)];
    expect(collector.row(row())).toBe(true); // [["xxxxxxxxxxxxxxx"]] = 21
    expect(collector.row(row())).toBe(true); // 41
    expect(collector.row(row())).toBe(false); // 61
    expect(collector.result()).toMatchObject({ truncated: 'max_chars' });
    expect(collector.result().rows).toHaveLength(2);
    expect(JSON.stringify(collector.result().rows).length).toBeLessThanOrEqual(50);
  });

  it('keeps rows whose JSON is exactly the budget, and cuts at one character more', () => {
    // count rows of one string each: 2 + count × (length + 4) + (count − 1) = 1000.
    for (const [count, length] of [
      [1, 994],
      [3, 328]
    ] as const) {
      const exact = new ResultCollector({ maxRows: 1000, maxChars: 1000 }, identity);
      for (let i = 0; i < count; i++) expect(exact.row(['x'.repeat(length)]), `${count} rows`).toBe(true);
      expect(JSON.stringify(exact.result().rows)).toHaveLength(1000);
      expect(exact.result().truncated).toBeNull();
      const over = new ResultCollector({ maxRows: 1000, maxChars: 999 }, identity);
      for (let i = 0; i < count - 1; i++) expect(over.row(['x'.repeat(length)])).toBe(true);
      expect(over.row(['x'.repeat(length)])).toBe(false);
      expect(over.result()).toMatchObject({ truncated: 'max_chars' });
    }
  });

  it('keeps the array the driver handed over, its values converted where they are', () => {
    const collector = new ResultCollector({ maxRows: 10, maxChars: 1000 }, value =>
      typeof value === 'bigint' ? value.toString() : (value as string | number | null)
    );
    collector.columns([
      { name: 'big', type: null },
      { name: 'text', type: null }
    ]);
    const handed: unknown[] = [12345678901234567890n, 'x'];
    expect(collector.row(handed)).toBe(true);
    const [kept] = collector.result().rows;
    expect(kept).toBe(handed);
    expect(kept).toEqual(['12345678901234567890', 'x']);
  });

  it('converts every value with the column it belongs to', () => {
    const seen: string[] = [];
    const collector = new ResultCollector({ maxRows: 10, maxChars: 1000 }, (value, column) => {
      seen.push(`${column.name}:${String(value)}`);
      return String(value);
    });
    collector.columns([
      { name: 'a', type: 'INTEGER' },
      { name: 'b', type: 'TEXT' }
    ]);
    collector.row([1, 'x']);
    expect(seen).toEqual(['a:1', 'b:x']);
    expect(collector.result().rows).toEqual([['1', 'x']]);
  });

  it('counts every row the driver delivers, including the one past the cap (what progress reports)', () => {
    const collector = new ResultCollector({ maxRows: 2, maxChars: 10_000 }, identity);
    expect(collector.rowsReceived).toBe(0);
    [1, 2, 3].forEach(n => collector.row([n]));
    expect(collector.rowsReceived).toBe(3);
    expect(collector.result().rows).toHaveLength(2);
  });
});
