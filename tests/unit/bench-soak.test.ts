import { describe, expect, it } from 'vitest';
import type { Results } from '../../bench/report.ts';
import { soakFigure } from '../../bench/soak.ts';
import { checkTargets } from '../../bench/targets.ts';
import { MIXED_CALLS } from '../../bench/workloads.ts';
import { benchResults } from '../helpers/bench-results.ts';

/** The soak's arithmetic and its target: peaks of the first and last tenth, judged only over 10 minutes. */

const load = { durationMs: 600_000, calls: 120_000, errors: 0 };

function resultsWith(soak: Results['soak']): Results {
  return benchResults(soak === undefined ? {} : { soak });
}

const soakTarget = (results: Results) => checkTargets(results).find(check => check.target.includes('soak'))!;

describe('the soak figure', () => {
  it('compares the highest RSS of the last tenth of the samples with the highest of the first', () => {
    // 100 samples: the first tenth peaks at 200, the last at 215.
    const samples = Array.from({ length: 100 }, (_, i) => (i === 3 ? 200 : i === 95 ? 215 : 150));
    const figure = soakFigure(samples, load);
    expect(figure).toMatchObject({ firstWindowPeakMb: 200, lastWindowPeakMb: 215, growthPercent: 7.5 });
    expect(figure.callsPerSecond).toBe(200);
    expect(figure.rssMb).toHaveLength(100);
  });

  it('reports memory that falls as negative growth', () => {
    expect(soakFigure([300, 250, 240, 230, 220, 210, 200, 190, 180, 170], load).growthPercent).toBeCloseTo(-43.3, 1);
  });

  it('refuses a soak without samples', () => {
    expect(() => soakFigure([], load)).toThrow('no RSS sample');
  });
});

describe('the soak target', () => {
  it('is met at 10% growth or less, over 10 minutes without errors', () => {
    const grown = (last: number) => soakFigure([...Array(9).fill(100), 100, ...Array(89).fill(100), last], load);
    expect(soakTarget(resultsWith(grown(110))).met).toBe(true);
    expect(soakTarget(resultsWith(grown(111))).met).toBe(false);
    const failing = { ...grown(100), errors: 3 };
    expect(soakTarget(resultsWith(failing))).toMatchObject({
      met: false,
      measured: expect.stringContaining('3 errors')
    });
  });

  it('reports a shorter soak without judging it, and says when none ran', () => {
    const short = soakFigure([100, 100, 100, 130], { ...load, durationMs: 30_000 });
    expect(soakTarget(resultsWith(short))).toMatchObject({
      met: undefined,
      measured: expect.stringContaining('too short')
    });
    expect(soakTarget(resultsWith(undefined))).toMatchObject({ met: undefined, measured: 'not measured' });
  });
});

describe('the soak mix', () => {
  it('holds, of every 20 calls, 16 lookups, 2 SELECT 1, one 1000-row result and one bad statement', () => {
    expect(MIXED_CALLS).toHaveLength(1000);
    const count = (test: (sql: string) => boolean) => MIXED_CALLS.filter(call => test(call.sql)).length;
    expect(count(sql => sql.includes('WHERE id ='))).toBe(800);
    expect(count(sql => sql === 'SELECT 1 AS one')).toBe(100);
    expect(count(sql => sql.includes('id <= 1000'))).toBe(50);
    expect(MIXED_CALLS.filter(call => call.expect.error === true)).toHaveLength(50);
  });
});
