import { runLoadJob } from './load-client.ts';
import type { BenchOptions, SystemName } from './options.ts';
import { rssMb, sampleRss } from './process-memory.ts';
import type { Measurement } from './report.ts';
import { loadJob, serverPid, type Systems } from './systems.ts';
import type { Workload } from './workloads.ts';

/**
 * The measurements themselves: for each run, each workload, each system in an order that rotates
 * from one run to the next, so that drift over the run (a warming cache, a neighbour's load) hits
 * every system alike. A server's RSS is read just before and sampled during each measurement, and
 * its CPU time at the start and end of the measured window.
 */

function rotated<T>(items: readonly T[], by: number): T[] {
  const shift = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

export async function measureWorkloads(
  systems: Systems,
  workloads: readonly Workload[],
  options: BenchOptions,
  progress: (text: string) => void
): Promise<Measurement[]> {
  const measurements: Measurement[] = [];
  const timing = { durationMs: options.durationMs, warmupMs: options.warmupMs };
  for (let run = 1; run <= options.runs; run++) {
    for (const workload of workloads) {
      for (const system of rotated<SystemName>(options.systems, run - 1)) {
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
  }
  return measurements;
}
