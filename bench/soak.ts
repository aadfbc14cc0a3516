import type { LoopResult } from './closed-loop.ts';
import type { PostgresServer } from './datasets.ts';
import { runLoadJob } from './load-client.ts';
import type { LoadJob } from './load.ts';
import { sampleRss } from './process-memory.ts';
import type { SoakFigure } from './report.ts';
import { withOwnSqlbridge, type SqlbridgeServer } from './sqlbridge-server.ts';
import { MIXED_CALLS, type Call } from './workloads.ts';

/**
 * The soak: a sqlbridge of its own (OAuth off, nothing served before) under a mixed load at
 * concurrency 8 for the whole duration (10 minutes; 30 s with --quick): 4 clients on PostgreSQL and
 * 4 on SQLite, each cycling through primary-key lookups, 1000-row results, `SELECT 1` and bad SQL.
 * The server's RSS is read every second. Memory that only grows shows as the highest RSS of the
 * last tenth of the soak above the highest of the first tenth (the first minute of ten).
 */

export const SOAK_CONCURRENCY = 8;

export interface SoakLoad {
  /** Calls for each environment's clients. */
  calls: { pg: readonly Call[]; lite: readonly Call[] };
  durationMs: number;
  sampleEveryMs: number;
}

/** The soak's figure from the RSS samples taken at regular intervals over the whole soak. */
export function soakFigure(
  samples: readonly number[],
  load: { durationMs: number; calls: number; errors: number; firstError?: string }
): SoakFigure {
  if (samples.length === 0) throw new Error('the soak took no RSS sample');
  const tenth = Math.max(1, Math.floor(samples.length / 10));
  const firstWindowPeakMb = Math.max(...samples.slice(0, tenth));
  const lastWindowPeakMb = Math.max(...samples.slice(-tenth));
  const round1 = (value: number): number => Math.round(value * 10) / 10;
  return {
    durationMs: load.durationMs,
    concurrency: SOAK_CONCURRENCY,
    calls: load.calls,
    errors: load.errors,
    ...(load.firstError === undefined ? {} : { firstError: load.firstError }),
    callsPerSecond: round1(load.calls / (load.durationMs / 1000)),
    rssMb: samples.map(round1),
    firstWindowPeakMb: round1(firstWindowPeakMb),
    lastWindowPeakMb: round1(lastWindowPeakMb),
    growthPercent: round1((lastWindowPeakMb / firstWindowPeakMb - 1) * 100)
  };
}

/** Runs the soak's load on a server that is already up, sampling its RSS meanwhile. */
export async function soak(server: SqlbridgeServer, load: SoakLoad): Promise<SoakFigure> {
  const job = (environment: 'pg' | 'lite'): LoadJob => ({
    kind: 'http',
    http: server.target(environment, '2026-07-28'),
    calls: [...load.calls[environment]],
    capped: false,
    concurrency: SOAK_CONCURRENCY / 2,
    durationMs: load.durationMs,
    warmupMs: 0
  });
  const sampler = sampleRss(server.pid, load.sampleEveryMs);
  let results: LoopResult[];
  try {
    results = await Promise.all([runLoadJob(job('pg')), runLoadJob(job('lite'))]);
  } finally {
    sampler.stop();
  }
  const firstError = results.find(result => result.firstError !== undefined)?.firstError;
  return soakFigure(sampler.samples, {
    durationMs: load.durationMs,
    calls: results.reduce((sum, result) => sum + result.calls, 0),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    ...(firstError === undefined ? {} : { firstError })
  });
}

export async function measureSoak(options: {
  workDir: string;
  postgres: PostgresServer;
  sqlitePath: string;
  durationMs: number;
  nodeFlags?: readonly string[];
}): Promise<SoakFigure> {
  return withOwnSqlbridge({ ...options, name: 'soak', maxStreams: 0 }, server =>
    soak(server, {
      calls: { pg: MIXED_CALLS, lite: MIXED_CALLS },
      durationMs: options.durationMs,
      sampleEveryMs: 1000
    })
  );
}
