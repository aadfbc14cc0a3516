import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { format } from 'prettier';
import type { LoopResult } from './closed-loop.ts';
import type { Machine } from './machine.ts';
import type { BenchOptions, SystemName } from './options.ts';
import type { SdkFloorFigure } from './sdk-floor.ts';
import type { InstructionCount } from './instructions.ts';

/**
 * The results of a run: every measurement as taken, and per workload and system the figure
 * reported, which is the median over the runs (calls/s, p50, p90, p99, server CPU per call), the
 * errors of all runs together and the highest server RSS seen. Written as JSON to
 * `bench/results/<date>-<commit>.json`.
 */

export interface Measurement {
  workload: string;
  system: SystemName;
  run: number;
  result: LoopResult;
  /** The server's RSS just before the measurement and its highest VmRSS during it (MiB). */
  rssBeforeMb?: number;
  peakRssMb?: number;
}

export interface Figure {
  workload: string;
  title: string;
  system: SystemName;
  runs: number;
  callsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  calls: number;
  errors: number;
  firstError?: string;
  /**
   * The server's highest VmRSS during a measurement (MiB; the highest over the runs). Each run
   * starts its servers afresh: a growth pairs one run's own readings (targets.ts).
   */
  peakRssMb?: number;
  /** The server's CPU time per call answered (ms; median over the runs), with its worker processes. */
  serverCpuMsPerCall?: number;
}

export interface StreamsFigure {
  requested: number;
  opened: number;
  failed: number;
  firstError?: string;
  rssBeforeMb: number;
  /** Two seconds after every stream opened. */
  rssAfterMb: number;
  /** The highest reading after the streams opened: two seconds after, or while then held idle for `heldMs` (absent in older results). */
  rssHeldPeakMb?: number;
  heldMs?: number;
  /** From the highest reading after the streams opened. */
  kbPerStream: number;
}

export interface SoakFigure {
  durationMs: number;
  concurrency: number;
  calls: number;
  errors: number;
  firstError?: string;
  callsPerSecond: number;
  /** The server's RSS, sampled at regular intervals over the soak (MiB). */
  rssMb: number[];
  /** Highest RSS of the first and of the last tenth of the soak (MiB). */
  firstWindowPeakMb: number;
  lastWindowPeakMb: number;
  /** How far the last tenth's peak is above the first tenth's (%). */
  growthPercent: number;
}

export interface Results {
  date: string;
  commit: string;
  /** Whether the working tree had uncommitted changes to src/. */
  dirty: boolean;
  quick: boolean;
  /**
   * `primeCalls` is absent from runs made before servers were primed: they were measured from their start;
   * `nodeFlags`, from runs made before the option existed, which gave node none.
   */
  options: Omit<BenchOptions, 'out' | 'primeCalls' | 'nodeFlags'> & { primeCalls?: number; nodeFlags?: string[] };
  /** The machine when the run began (CPU sampled before any load). */
  machine: Machine;
  /** The machine again once the servers were stopped: another process's load shows here (judged by idle CPU alone). */
  machineAfter?: Machine;
  /** The environment sqlbridge's processes ran with: the image's (see build.ts). */
  sqlbridgeEnv?: Record<string, string>;
  dbhubVersion?: string;
  figures: Figure[];
  /** Peak RSS (VmHWM) of each server over the whole run, MiB. */
  serverPeakRssMb: Partial<Record<SystemName, number>>;
  streams?: StreamsFigure;
  /** The same streams held by a Fastify server of a few lines answering as sqlbridge does (fastify-alone.ts): the floor. */
  streamsFastifyAlone?: StreamsFigure;
  coldStartMs?: { runs: number[]; median: number };
  soak?: SoakFigure;
  /** The MCP SDK alone, in process: the CPU floor of a tools/call on this SDK. */
  sdkFloor?: SdkFloorFigure;
  /** Instructions per call under callgrind, OAuth off and on (instructions.ts). */
  instructions?: InstructionCount[];
  measurements: Measurement[];
}

export function median(values: number[]): number {
  const sorted = values.filter(value => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/**
 * How far runs of the same system and workload differed in calls per second, over the servers
 * (sqlbridge with and without OAuth, DBHub): each group's highest run over its lowest, less one, as
 * a percentage; the median and the largest of those. A ratio between two systems closer to 1 than
 * this is within the run's own noise. Undefined when no group has two runs.
 */
export function runSpread(measurements: Measurement[]): { medianPercent: number; maxPercent: number } | undefined {
  const groups = new Map<string, number[]>();
  for (const m of measurements) {
    if (m.system === 'raw' || m.system === 'raw-read-only' || m.result.calls === 0) continue;
    const key = `${m.workload}\u0000${m.system}`;
    groups.set(key, [...(groups.get(key) ?? []), m.result.callsPerSecond]);
  }
  const spreads = [...groups.values()]
    .filter(values => values.length >= 2)
    .map(values => (Math.max(...values) / Math.min(...values) - 1) * 100);
  if (spreads.length === 0) return undefined;
  return { medianPercent: round(median(spreads), 1), maxPercent: round(Math.max(...spreads), 1) };
}

export function figures(measurements: Measurement[], titles: Map<string, string>): Figure[] {
  const groups = new Map<string, Measurement[]>();
  for (const m of measurements) {
    const key = `${m.workload}\u0000${m.system}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups.values()].map(group => {
    const first = group[0]!;
    const results = group.map(m => m.result);
    const firstError = results.find(r => r.firstError !== undefined)?.firstError;
    const peaks = group.flatMap(m => (m.peakRssMb === undefined ? [] : [m.peakRssMb]));
    const cpu = results.flatMap(r => (r.serverCpuMsPerCall === undefined ? [] : [r.serverCpuMsPerCall]));
    return {
      workload: first.workload,
      title: titles.get(first.workload) ?? first.workload,
      system: first.system,
      runs: group.length,
      callsPerSecond: round(median(results.map(r => r.callsPerSecond)), 1),
      p50Ms: round(median(results.map(r => r.p50Ms)), 3),
      p90Ms: round(median(results.map(r => r.p90Ms)), 3),
      p99Ms: round(median(results.map(r => r.p99Ms)), 3),
      calls: results.reduce((sum, r) => sum + r.calls, 0),
      errors: results.reduce((sum, r) => sum + r.errors, 0),
      ...(firstError === undefined ? {} : { firstError }),
      ...(peaks.length === 0 ? {} : { peakRssMb: round(Math.max(...peaks), 1) }),
      ...(cpu.length === 0 ? {} : { serverCpuMsPerCall: round(median(cpu), 3) })
    };
  });
}

export function currentCommit(root: string): { commit: string; dirty: boolean } {
  const git = (...args: string[]): string => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', '--short=12', 'HEAD'),
      dirty: git('status', '--porcelain', '--', 'src').length > 0
    };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

export async function writeResults(results: Results, root: string, out?: string): Promise<string> {
  const path = out ?? join(root, 'bench', 'results', `${results.date.slice(0, 10)}-${results.commit}.json`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, await format(JSON.stringify(results), { parser: 'json', printWidth: 120 }));
  return path;
}

/** A plain-text table of the figures, for the terminal. */
export function figuresTable(rows: Figure[]): string {
  const header = [
    'workload',
    'system',
    'calls/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'errors',
    'peak RSS MiB',
    'CPU ms/call'
  ];
  const body = rows.map(f => [
    f.workload,
    f.system,
    f.callsPerSecond.toFixed(1),
    f.p50Ms.toFixed(2),
    f.p90Ms.toFixed(2),
    f.p99Ms.toFixed(2),
    String(f.errors),
    f.peakRssMb === undefined ? '' : f.peakRssMb.toFixed(0),
    f.serverCpuMsPerCall === undefined ? '' : f.serverCpuMsPerCall.toFixed(2)
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map(row => row[i]!.length)));
  return [header, ...body].map(row => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
}

/** The soak in one sentence (terminal and docs). */
export function soakLine(soak: SoakFigure): string {
  const errors = soak.errors === 0 ? 'no errors' : `${soak.errors} errors (${soak.firstError ?? ''})`;
  return (
    `Soak: ${soak.durationMs / 1000} s of mixed load at concurrency ${soak.concurrency}, ` +
    `${soak.calls.toLocaleString('en-US')} calls (${Math.round(soak.callsPerSecond)}/s), ${errors}; ` +
    `server RSS peaked at ${soak.firstWindowPeakMb.toFixed(0)} MiB in the first tenth and ` +
    `${soak.lastWindowPeakMb.toFixed(0)} MiB in the last (${soak.growthPercent >= 0 ? '+' : ''}${soak.growthPercent.toFixed(1)}%).`
  );
}

/** The SDK's own cost in one sentence (terminal and docs). */
export function sdkFloorLine(floor: SdkFloorFigure): string {
  return (
    `The MCP SDK alone (createMcpHandler in process, a server per request with execute_sql's schemas, converted once, no HTTP, ` +
    `no database): ${floor.cpuMsPerCall.toFixed(3)} ms of CPU per tools/call (${floor.calls.toLocaleString('en-US')} calls)` +
    (floor.rssStartMb === undefined || floor.peakRssMb === undefined
      ? '.'
      : `; its resident set grew from ${floor.rssStartMb.toFixed(0)} MiB before the first call to a peak of ${floor.peakRssMb.toFixed(0)} MiB.`)
  );
}

/** Instructions per call with OAuth off and on, and what OAuth adds, in one sentence (terminal and docs). */
export function instructionsLine(counts: readonly InstructionCount[]): string {
  const first = counts[0];
  if (first === undefined) return '';
  const k = (value: number): string => `${Math.round(value / 1000).toLocaleString('en-US')}k`;
  const parts = counts.map(
    count =>
      `${count.system === 'sqlbridge' ? 'OAuth off' : 'OAuth on'} ${k(count.mainThreadPerCall)} on the main thread ` +
      `(${k(count.allThreadsPerCall)} over all threads)`
  );
  const off = counts.find(count => count.system === 'sqlbridge');
  const on = counts.find(count => count.system === 'sqlbridge-oauth');
  const change = (a: number, b: number): string => `${b >= a ? '+' : ''}${((b / a - 1) * 100).toFixed(1)}%`;
  const ratio =
    off === undefined || on === undefined
      ? ''
      : `; OAuth on ${change(off.mainThreadPerCall, on.mainThreadPerCall)} on the main thread, ` +
        `${change(off.allThreadsPerCall, on.allThreadsPerCall)} over all threads`;
  return (
    `Instructions per call (valgrind's callgrind, ${first.workload}, ${first.calls.toLocaleString('en-US')} calls after ` +
    `${first.warmupCalls.toLocaleString('en-US')} unmeasured): ${parts.join(', ')}${ratio}.`
  );
}

/** The idle streams' resident set: before → two seconds after they opened (→ the highest while held). */
export function streamsRss(streams: StreamsFigure): string {
  const { rssBeforeMb, rssAfterMb, rssHeldPeakMb, heldMs } = streams;
  const opened = `${rssBeforeMb.toFixed(0)} → ${rssAfterMb.toFixed(0)} MiB`;
  if (rssHeldPeakMb === undefined || heldMs === undefined) return opened;
  return `${opened}, at most ${rssHeldPeakMb.toFixed(0)} MiB while held idle for ${(heldMs / 1000).toFixed(0)} s`;
}
