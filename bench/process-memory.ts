import { readFileSync } from 'node:fs';

/**
 * A server's memory, read from /proc/<pid>/status: the resident set now (VmRSS) and its peak since
 * the process started (VmHWM). A sampler reads VmRSS at a fixed interval during a measurement,
 * which gives the peak of that window alone (and, for the soak, the readings over time).
 */

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (match === null) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]) / 1024;
}

/** Resident memory of `pid` now, in MiB. */
export const rssMb = (pid: number): number => statusField(pid, 'VmRSS');

/** Peak resident memory of `pid` since it started, in MiB. */
export const peakRssMb = (pid: number): number => statusField(pid, 'VmHWM');

export interface RssSampler {
  /** Every VmRSS read so far, in MiB, oldest first (the first when the sampler started). */
  readonly samples: readonly number[];
  /** Stops sampling; the highest VmRSS seen since the sampler started, in MiB. */
  stop(): number;
}

export function sampleRss(pid: number, everyMs = 50): RssSampler {
  const samples = [rssMb(pid)];
  const read = (): void => {
    try {
      samples.push(rssMb(pid));
    } catch {
      // the process ended; the samples so far stand
    }
  };
  const timer = setInterval(read, everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      read();
      return Math.max(...samples);
    }
  };
}
