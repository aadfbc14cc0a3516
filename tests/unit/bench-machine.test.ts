import { describe, expect, it } from 'vitest';
import { resultsSection } from '../../bench/docs-table.ts';
import { isBusy, type Machine } from '../../bench/machine.ts';
import type { Results } from '../../bench/report.ts';
import { benchResults } from '../helpers/bench-results.ts';

/**
 * Whether the machine was busy: before the run by its load average or idle CPU; right after the
 * bench's own load, whose last minute the load average still holds, by idle CPU alone.
 */

const machine = (loadAverage: number, idlePercent: number, busy: boolean): Machine => ({
  cpuModel: 'x',
  cores: 2,
  memoryGb: 24,
  node: 'v24',
  loadAverage,
  idlePercent,
  busy
});

function results(start: Machine, after: Machine): Results {
  return benchResults({ date: '2026-12-05T00:00:00.000Z', machine: start, machineAfter: after });
}

describe('a busy machine', () => {
  it('is judged before the run by the load average or by idle CPU', () => {
    expect(isBusy({ loadAverage: 1.56, idlePercent: 100, cores: 2 }, false)).toBe(true);
    expect(isBusy({ loadAverage: 0.4, idlePercent: 70, cores: 2 }, false)).toBe(true);
    expect(isBusy({ loadAverage: 0.76, idlePercent: 98, cores: 2 }, false)).toBe(false);
  });

  it('is judged right after the bench’s own load by idle CPU alone', () => {
    expect(isBusy({ loadAverage: 1.56, idlePercent: 100, cores: 2 }, true)).toBe(false);
    expect(isBusy({ loadAverage: 0.2, idlePercent: 60, cores: 2 }, true)).toBe(true);
  });

  it('is reported in the docs only when one of the two samples says so', () => {
    // As a run before this rule stored it: busy by the load average its own load left.
    const quietAfterLoad = results(machine(0.76, 98, false), machine(1.56, 100, true));
    expect(resultsSection(quietAfterLoad)).not.toContain('The machine was busy');
    const busyAtEnd = results(machine(0.76, 98, false), machine(1.9, 55, true));
    expect(resultsSection(busyAtEnd)).toContain('55% idle at the end');
    const busyAtStart = results(machine(1.54, 90, true), machine(0.5, 99, false));
    expect(resultsSection(busyAtStart)).toContain('load average 1.54 and 90% of the CPU idle at the start');
  });
});
