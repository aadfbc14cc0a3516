import { cpus, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

/**
 * The machine a run measured, and whether something else was using it. Busy means a 1-minute load
 * average above half the cores, or less than 80% of the CPU idle over a one-second sample: either
 * way the figures are low and noisy, and the run says so. Sampled again right after the bench's own
 * load, the load average still holds that load's last minute, so then only idle CPU counts.
 */

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  loadAverage: number;
  idlePercent: number;
  busy: boolean;
}

function cpuTimes(): { idle: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { idle, total: values.reduce((sum, value) => sum + value, 0) };
}

export function isBusy(
  sample: { loadAverage: number; idlePercent: number; cores: number },
  afterLoad: boolean
): boolean {
  return sample.idlePercent < 80 || (!afterLoad && sample.loadAverage > sample.cores / 2);
}

/** `afterLoad`: sampled right after the bench's own load (see isBusy). */
export async function describeMachine(sampleMs = 1000, afterLoad = false): Promise<Machine> {
  const before = cpuTimes();
  await new Promise(resolve => setTimeout(resolve, sampleMs));
  const after = cpuTimes();
  const idlePercent = (100 * (after.idle - before.idle)) / Math.max(1, after.total - before.total);
  const cores = cpus().length;
  const loadAverage = loadavg()[0] ?? 0;
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage,
    idlePercent: Math.round(idlePercent),
    busy: isBusy({ loadAverage, idlePercent, cores }, afterLoad)
  };
}
