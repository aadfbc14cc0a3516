import { describe, expect, it } from 'vitest';
import { figures, type Measurement } from '../../bench/report.ts';
import { checkTargets } from '../../bench/targets.ts';
import { benchResults } from '../helpers/bench-results.ts';

/**
 * The `SELECT *` memory target: each run starts its servers afresh, so each run's growth is its own
 * peak over its own reading before, never one run's peak over another run's reading.
 */

const GROWTH_TARGET = '`SELECT *` over 1,000,000 rows: peak RSS growth ≤ 50 MB';

function selectAllRun(run: number, rssBeforeMb: number, peakRssMb: number): Measurement {
  return {
    workload: 'selectall-pg-c1',
    system: 'sqlbridge',
    run,
    result: { calls: 100, errors: 0, windowMs: 1000, callsPerSecond: 100, p50Ms: 2, p90Ms: 3, p99Ms: 4, meanMs: 2 },
    rssBeforeMb,
    peakRssMb
  };
}

function growthTarget(measurements: Measurement[]): { measured: string; met: boolean | undefined } {
  const check = checkTargets(benchResults({ measurements, figures: figures(measurements, new Map()) })).find(
    c => c.target === GROWTH_TARGET
  );
  if (check === undefined) throw new Error('no SELECT * growth target');
  return check;
}

describe('the SELECT * memory target', () => {
  it("takes the largest of the runs' own growths", () => {
    // Run 1 grew by nothing from a high start; runs 2 and 3 by 32 and 22.2 MiB from lower ones.
    // The highest peak (run 1) over the median reading before (run 3) would say 53.6 MiB.
    const runs = [selectAllRun(1, 366.5, 366.5), selectAllRun(2, 306.6, 338.6), selectAllRun(3, 312.8, 335)];
    expect(growthTarget(runs)).toMatchObject({ measured: '32.00 MiB (33.6 MB)', met: true });
  });

  it('is missed when one run grows beyond 50 MB', () => {
    const runs = [selectAllRun(1, 300, 310), selectAllRun(2, 300, 348), selectAllRun(3, 300, 305)];
    expect(growthTarget(runs)).toMatchObject({ measured: '48.00 MiB (50.3 MB)', met: false });
  });

  it('says so when it was not measured', () => {
    expect(growthTarget([])).toMatchObject({ measured: 'not measured', met: undefined });
  });
});
