import type { Results } from '../../bench/report.ts';

/** A full run's results with no figures, for tests of what the bench makes of them; `fields` replace the defaults. */
export function benchResults(fields: Partial<Results> = {}): Results {
  return {
    date: '2026-12-04T00:00:00.000Z',
    commit: 'abc',
    dirty: false,
    quick: false,
    options: {
      quick: false,
      durationMs: 20_000,
      warmupMs: 3000,
      runs: 3,
      only: [],
      systems: [],
      streams: 0,
      soakMs: 0
    },
    machine: { cpuModel: 'x', cores: 2, memoryGb: 24, node: 'v24', loadAverage: 0, idlePercent: 100, busy: false },
    figures: [],
    serverPeakRssMb: {},
    measurements: [],
    ...fields
  };
}
