import { runLoadJob } from './load-client.ts';
import type { BenchOptions, SystemName } from './options.ts';
import { primeSystems, type Priming } from './prime.ts';
import { peakRssMb, rssMb, sampleRss } from './process-memory.ts';
import type { Measurement, Results } from './report.ts';
import { loadJob, serverPid, type Systems } from './systems.ts';
import type { Workload } from './workloads.ts';

/**
 * The measurements themselves: for each run, each workload, each system in an order that rotates
 * from one run to the next, so that drift over the run (a warming cache, a neighbour's load) hits
 * every system alike. The servers are started afresh for each run, in that run's order: of
 * otherwise identical servers, the one started first answered a few percent fewer calls per second
 * for as long as it ran, so no system is always the first. Once started, each server is primed (see
 * prime.ts) before its first measurement. A server's RSS is read just before and sampled during
 * each measurement, and its CPU time at the start and end of the measured window.
 */

/** The systems in the order of run `run` (1-based): the first run in the given order, each next one shifted by one. */
export function runOrder<T>(items: readonly T[], run: number): T[] {
  const shift = items.length === 0 ? 0 : (run - 1) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

export interface WorkloadMeasurements {
  measurements: Measurement[];
  /** The highest VmHWM of each server over every run. */
  serverPeakRssMb: Results['serverPeakRssMb'];
}

export async function measureWorkloads(
  start: (order: SystemName[]) => Promise<Systems>,
  workloads: readonly Workload[],
  options: BenchOptions,
  progress: (text: string) => void,
  /** The calls each server cycles through when it is primed (`options.primeCalls` of them). */
  priming: Omit<Priming, 'calls'>
): Promise<WorkloadMeasurements> {
  const measurements: Measurement[] = [];
  const serverPeakRssMb: Results['serverPeakRssMb'] = {};
  const timing = { durationMs: options.durationMs, warmupMs: options.warmupMs };
  for (let run = 1; run <= options.runs; run++) {
    const order = runOrder<SystemName>(options.systems, run);
    const systems = await start(order);
    try {
      if (options.primeCalls > 0) {
        progress(
          `run ${run}/${options.runs}: priming each server with ${options.primeCalls.toLocaleString('en-US')} calls…`
        );
        await primeSystems(systems, order, { ...priming, calls: options.primeCalls });
      }
      for (const workload of workloads) {
        for (const system of order) {
          const pid = serverPid(systems, system);
          const rssBeforeMb = pid === undefined ? undefined : rssMb(pid);
          const sampler = pid === undefined ? undefined : sampleRss(pid);
          const job = loadJob(systems, system, workload, timing);
          const result = await runLoadJob(pid === undefined ? job : { ...job, serverPid: pid });
          const peakRssMb = sampler?.stop();
          measurements.push({
            workload: workload.name,
            system,
            run,
            result,
            ...(rssBeforeMb === undefined ? {} : { rssBeforeMb }),
            ...(peakRssMb === undefined ? {} : { peakRssMb })
          });
          const errors = result.errors === 0 ? '' : `, ${result.errors} errors (${result.firstError ?? ''})`;
          progress(
            `run ${run}/${options.runs} ${workload.name} ${system}: ${result.callsPerSecond.toFixed(0)} calls/s, p50 ${result.p50Ms.toFixed(2)} ms${errors}`
          );
        }
      }
      for (const system of order) {
        const pid = serverPid(systems, system);
        if (pid !== undefined)
          serverPeakRssMb[system] = Math.max(serverPeakRssMb[system] ?? 0, Math.round(peakRssMb(pid)));
      }
    } finally {
      await systems.stop();
    }
  }
  return { measurements, serverPeakRssMb };
}
