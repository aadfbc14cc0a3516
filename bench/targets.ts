import { median, type Figure, type Measurement, type Results } from './report.ts';
import type { SystemName } from './options.ts';

/**
 * The performance targets sqlbridge is held to, each computed from one results file: what was
 * measured, the bound, and whether it was met. A target whose inputs were not measured in that
 * run says so instead of passing. A ratio between two systems is the median of the runs' ratios.
 */

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | undefined;
}

const IDLE_STREAMS_TARGET = 10_000;
/**
 * The bench reads memory in MiB (/proc gives kB of 1024 bytes); the targets speak of MB. A MiB is
 * 1.048576 MB, so 300 MB is about 286 MiB.
 */
const MB_PER_MIB = 1.048576;
/** The soak the RSS target speaks of; a shorter one is reported, not judged. */
const SOAK_TARGET_MS = 600_000;

export function checkTargets(results: Results): TargetCheck[] {
  const figure = (workload: string, system: SystemName): Figure | undefined =>
    results.figures.find(f => f.workload === workload && f.system === system);
  /** One system's measurements of a workload, one per run. */
  const runsOf = (workload: string, system: SystemName): Measurement[] =>
    results.measurements.filter(m => m.workload === workload && m.system === system);
  // The median of the runs' ratios: each run measures the two systems one after the other, so a
  // drift between runs (a slower minute of the machine) cancels out instead of deciding the verdict.
  const ratio = (workload: string, a: SystemName, b: SystemName): number | undefined => {
    const others = runsOf(workload, b);
    const ratios = runsOf(workload, a).flatMap(x => {
      const y = others.find(m => m.run === x.run);
      return y === undefined || y.result.callsPerSecond === 0
        ? []
        : [x.result.callsPerSecond / y.result.callsPerSecond];
    });
    return ratios.length === 0 ? undefined : median(ratios);
  };
  const atLeast = (target: string, value: number | undefined, bound: number, unit = '×'): TargetCheck => ({
    target,
    measured: value === undefined ? 'not measured' : `${value.toFixed(2)}${unit}`,
    met: value === undefined ? undefined : value >= bound
  });
  const atMost = (target: string, value: number | undefined, bound: number, unit: string): TargetCheck => ({
    target,
    measured: value === undefined ? 'not measured' : `${value.toFixed(2)}${unit === '×' ? '' : ' '}${unit}`,
    met: value === undefined ? undefined : value <= bound
  });
  /** A memory target: `mib` as read, judged in MB against `boundMb`. */
  const atMostMb = (target: string, mib: number | undefined, boundMb: number): TargetCheck => ({
    target,
    measured: mib === undefined ? 'not measured' : `${mib.toFixed(2)} MiB (${(mib * MB_PER_MIB).toFixed(1)} MB)`,
    met: mib === undefined ? undefined : mib * MB_PER_MIB <= boundMb
  });

  const c1 = (system: SystemName): number | undefined => figure('pk-pg-c1', system)?.p50Ms;
  const overhead = c1('sqlbridge') !== undefined && c1('raw') !== undefined ? c1('sqlbridge')! - c1('raw')! : undefined;
  const selectAll = figure('selectall-pg-c1', 'sqlbridge');
  // Each run starts its servers afresh, from a resident set of its own: a run's growth is its peak
  // over its own reading before, and the target takes the largest of them.
  const growths = runsOf('selectall-pg-c1', 'sqlbridge').flatMap(m =>
    m.peakRssMb !== undefined && m.rssBeforeMb !== undefined ? [m.peakRssMb - m.rssBeforeMb] : []
  );
  const growth = growths.length === 0 ? undefined : Math.max(...growths);
  const rows1000 = figure('rows1000-pg-c1', 'sqlbridge')?.p50Ms;
  const underLoad = results.figures
    .filter(f => f.system === 'sqlbridge' && f.workload.includes('-c16') && f.peakRssMb !== undefined)
    .map(f => f.peakRssMb!);
  const streams = results.streams;
  const streamsTotal =
    streams === undefined || Number.isNaN(streams.kbPerStream)
      ? undefined
      : streams.rssBeforeMb + (streams.kbPerStream * IDLE_STREAMS_TARGET) / 1024;

  return [
    atLeast('primary-key lookup, PostgreSQL, C=16: ≥ 3× DBHub', ratio('pk-pg-c16', 'sqlbridge', 'dbhub'), 3),
    atLeast('primary-key lookup, SQLite, C=16: ≥ 3× DBHub', ratio('pk-sqlite-c16', 'sqlbridge', 'dbhub'), 3),
    atLeast(
      'primary-key lookup, PostgreSQL, C=16: ≥ 0.30× the raw driver',
      ratio('pk-pg-c16', 'sqlbridge', 'raw'),
      0.3
    ),
    atLeast('the same with OAuth on: ≥ 0.90× OAuth off', ratio('pk-pg-c16', 'sqlbridge-oauth', 'sqlbridge'), 0.9),
    atMost('per-call overhead at C=1 (p50 − raw p50), PostgreSQL: ≤ 0.35 ms', overhead, 0.35, 'ms'),
    atLeast('1000-row result, PostgreSQL, C=16: ≥ 2× DBHub', ratio('rows1000-pg-c16', 'sqlbridge', 'dbhub'), 2),
    atLeast('1000-row result, SQLite, C=16: ≥ 2× DBHub', ratio('rows1000-sqlite-c16', 'sqlbridge', 'dbhub'), 2),
    atMostMb('`SELECT *` over 1,000,000 rows: peak RSS growth ≤ 50 MB', growth, 50),
    atMost(
      '`SELECT *` over 1,000,000 rows: ≤ 2× a 1000-row query (p50)',
      selectAll !== undefined && rows1000 !== undefined ? selectAll.p50Ms / rows1000 : undefined,
      2,
      '×'
    ),
    atMostMb(
      'server RSS under the C=16 load: ≤ 150 MB',
      underLoad.length === 0 ? undefined : Math.max(...underLoad),
      150
    ),
    atMostMb(
      `${IDLE_STREAMS_TARGET.toLocaleString('en-US')} idle legacy SSE streams: ≤ 300 MB in total`,
      streamsTotal,
      300
    ),
    atMost('cold start of the demo to the first tools/list: ≤ 1 s', results.coldStartMs?.median, 1000, 'ms'),
    soakCheck(results)
  ];
}

function soakCheck(results: Results): TargetCheck {
  const target = 'server RSS after a 10-minute soak: ≤ 10% above the first minute';
  const soak = results.soak;
  if (soak === undefined) return { target, measured: 'not measured', met: undefined };
  const growth = `${soak.growthPercent >= 0 ? '+' : ''}${soak.growthPercent.toFixed(1)}%`;
  if (soak.durationMs < SOAK_TARGET_MS) {
    return {
      target,
      measured: `${growth} over a ${soak.durationMs / 1000}-second soak (too short to judge)`,
      met: undefined
    };
  }
  const clean = soak.errors === 0;
  return {
    target,
    measured: `${growth} (${soak.firstWindowPeakMb.toFixed(0)} → ${soak.lastWindowPeakMb.toFixed(0)} MiB)${clean ? '' : `, ${soak.errors} errors`}`,
    met: clean && soak.growthPercent <= 10
  };
}
