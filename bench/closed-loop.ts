/**
 * A closed-loop load: `concurrency` workers, each sending its next call as soon as the previous one
 * is answered, for a fixed time after a warm-up. Latency is recorded per call answered inside the
 * measured window; a call that fails (wrong answer included) is counted as an error and its
 * latency is not recorded.
 */

export interface LoopResult {
  calls: number;
  errors: number;
  firstError?: string;
  /** Length of the measured window (ms). */
  windowMs: number;
  callsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  /** The server's CPU time over the measured window divided by the calls answered in it (ms), when it was read. */
  serverCpuMsPerCall?: number;
}

export interface LoopOptions {
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  /** Reads the server's CPU time so far (seconds), at the start and at the end of the measured window. */
  serverCpuSeconds?: () => number;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export async function closedLoop(
  options: LoopOptions,
  call: (worker: number, n: number) => Promise<void>
): Promise<LoopResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let sequence = 0;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  const cpu: { start?: number; end?: number } = {};
  const readCpu = options.serverCpuSeconds;
  const timers =
    readCpu === undefined
      ? []
      : [
          setTimeout(() => (cpu.start = readCpu()), options.warmupMs),
          setTimeout(() => (cpu.end = readCpu()), options.warmupMs + options.durationMs)
        ];
  const worker = async (id: number): Promise<void> => {
    for (let now = performance.now(); now < end; now = performance.now()) {
      const n = sequence++;
      const began = performance.now();
      try {
        await call(id, n);
        const done = performance.now();
        if (began >= measureFrom && done <= end) latencies.push(done - began);
      } catch (error) {
        if (began >= measureFrom) {
          errors++;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => worker(id)));
  for (const timer of timers) clearTimeout(timer);
  if (readCpu !== undefined && cpu.start !== undefined) cpu.end ??= readCpu();
  const sorted = Float64Array.from(latencies).sort();
  const total = latencies.reduce((sum, value) => sum + value, 0);
  return {
    calls: latencies.length,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    windowMs: options.durationMs,
    callsPerSecond: latencies.length / (options.durationMs / 1000),
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    meanMs: latencies.length === 0 ? Number.NaN : total / latencies.length,
    ...(cpu.start === undefined || cpu.end === undefined || latencies.length === 0
      ? {}
      : { serverCpuMsPerCall: ((cpu.end - cpu.start) * 1000) / latencies.length })
  };
}
