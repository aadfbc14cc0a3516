import { describe, expect, it } from 'vitest';
import { isoTime, logTimestamp } from '../../src/observability/iso-time.ts';

/** isoTime must be `toISOString` exactly, whatever the order of the times it is given. */
describe('isoTime', () => {
  const reference = (ms: number): string => new Date(ms).toISOString();

  it('formats like toISOString at the edges of seconds, days, years and the supported range', () => {
    const times = [
      0,
      -0,
      1,
      -1,
      999,
      1000,
      -999,
      -1000,
      -1001,
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(2024, 2, 1),
      Date.UTC(1969, 11, 31, 23, 59, 59, 5),
      Date.UTC(2026, 11, 6, 3, 4, 5, 60),
      -62_167_219_200_000,
      -62_167_219_199_999,
      253_402_300_799_999,
      253_402_300_799_000
    ];
    for (const ms of times) expect(isoTime(ms)).toBe(reference(ms));
  });

  it('agrees with toISOString over many times in and out of order, within a second and across', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const base = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 20_000; i++) {
      // Mostly nearby times (the cache's case), sometimes anywhere in the supported years.
      const ms =
        i % 10 === 0
          ? Math.floor(random() * 315_569_520_000_000) - 62_167_219_200_000
          : base + Math.floor(random() * 5_000);
      expect(isoTime(ms)).toBe(reference(ms));
    }
  });

  it('drops a fraction of a millisecond as Date does', () => {
    for (const ms of [1.9, -1.9, 1_700_000_000_000.7, -0.5]) expect(isoTime(ms)).toBe(reference(ms));
  });

  it('hands years outside 0000-9999 to toISOString, and fails on an invalid time as it does', () => {
    for (const ms of [-62_167_219_200_001, 253_402_300_800_000, 8.64e15, -8.64e15]) {
      expect(isoTime(ms)).toBe(reference(ms));
    }
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
  });

  it('gives pino the time field of each line', () => {
    const field = logTimestamp();
    const time = /^,"time":"(.+)"$/.exec(field)?.[1];
    expect(time).toBeDefined();
    expect(new Date(time ?? '').toISOString()).toBe(time);
    expect(Math.abs(Date.parse(time ?? '') - Date.now())).toBeLessThan(60_000);
  });
});
