import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * The CPU time a server spends, read from /proc: user plus system time of the process and of every
 * process it started (sqlbridge runs SQLite queries in worker processes of its own), those still
 * running and those that have ended (a process's stat carries the time of its children it has
 * reaped, so a worker that ends mid-measurement takes none of its time with it). Divided by the
 * calls answered in the same window, it is the server's own cost per call, which the load generator
 * and the database sharing the machine do not blur the way they blur calls per second.
 */

export interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime: its own and its reaped children's, in clock ticks. */
  cpuTicks: number;
}

/** Parses /proc/<pid>/stat. The command name sits in parentheses and may itself hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state (field 3), ppid (4) … utime (14), stime (15), cutime (16), cstime (17).
  const ppid = Number(fields[1]);
  const cpuTicks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  if (!Number.isFinite(ppid) || !Number.isFinite(cpuTicks))
    throw new Error(`unreadable /proc stat: ${text.slice(0, 80)}`);
  return { ppid, cpuTicks };
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Seconds of CPU used so far by `pid` and its descendants (those still running). */
export function treeCpuSeconds(pid: number): number {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat !== undefined) stats.set(Number(entry), stat);
  }
  let ticks = 0;
  const pending = [pid];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    ticks += stats.get(current)?.cpuTicks ?? 0;
    for (const [child, stat] of stats) if (stat.ppid === current) pending.push(child);
  }
  return ticks / clockTicks();
}
