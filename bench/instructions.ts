import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PostgresServer } from './datasets.ts';
import { driveCalls } from './drive.ts';
import { httpCaller } from './http-caller.ts';
import { startSqlbridge } from './sqlbridge-server.ts';
import type { Workload } from './workloads.ts';

/**
 * Instructions per call: sqlbridge run under valgrind's callgrind, which counts the machine
 * instructions the server executes, thread by thread. Warmed up first, then counted over a fixed
 * number of checked calls. The main thread is what bounds calls per second (it is busy almost all
 * the time under load, see docs/performance.md); its count hardly depends on what else the machine
 * does or how fast it is, and repeats within a few percent, so a difference between two builds or
 * two settings (OAuth on and off) shows where timed runs on a shared machine cannot tell it from
 * noise. The other threads are V8's compiler and garbage-collector helpers (and libuv's pool): their
 * count depends on when V8 decides to compile and collect, and varies far more from run to run. It is
 * not time: a cache miss or a slow instruction costs more time than its count says.
 */

const run = promisify(execFile);
const OUT_NAME = 'callgrind.out';

export interface InstructionCount {
  system: 'sqlbridge' | 'sqlbridge-oauth';
  workload: string;
  warmupCalls: number;
  calls: number;
  /** Instructions per call on the main thread (the JavaScript thread). */
  mainThreadPerCall: number;
  /** Instructions per call over every thread of the process. */
  allThreadsPerCall: number;
}

export interface InstructionOptions {
  workDir: string;
  postgres: PostgresServer;
  /** The PostgreSQL database of the `pg` environment (default: the bench's own). */
  pgDatabase?: string;
  sqlitePath: string;
  workload: Workload;
  oauth: boolean;
  warmupCalls: number;
  calls: number;
  /** The built server (default dist/main.js). */
  main?: string;
  /** Options for `node` itself, before the server's script (`--node-flags`). */
  nodeFlags?: readonly string[];
}

/** callgrind with counting off until the measured calls begin; code the JIT writes is re-read (V8 patches its code). */
function callgrind(outFile: string): { command: string; args: string[]; startTimeoutMs: number } {
  return {
    command: 'valgrind',
    args: [
      '--tool=callgrind',
      '--instr-atstart=no',
      '--smc-check=all-non-file',
      '--separate-threads=yes',
      `--callgrind-out-file=${outFile}`
    ],
    startTimeoutMs: 300_000
  };
}

/**
 * The totals of a dump taken with `--separate-threads=yes`: one file per thread, `<out>.<part>-<thread>`,
 * thread 1 being the main thread.
 */
export function threadTotals(dir: string, outName: string, part: number): { mainThread: number; allThreads: number } {
  const pattern = new RegExp(`^${outName.replaceAll('.', '\\.')}\\.${part}-(\\d+)$`);
  let mainThread: number | undefined;
  let allThreads = 0;
  for (const file of readdirSync(dir)) {
    const thread = pattern.exec(file)?.[1];
    if (thread === undefined) continue;
    const total = dumpTotal(readFileSync(join(dir, file), 'utf8'));
    allThreads += total;
    if (Number(thread) === 1) mainThread = total;
  }
  if (mainThread === undefined)
    throw new Error(`no callgrind dump of the main thread (${outName}.${part}-01) in ${dir}`);
  return { mainThread, allThreads };
}

/** The `totals:` line of a callgrind dump, at its end (its `summary:` header line may say 0). */
export function dumpTotal(text: string): number {
  const line = /^totals: (\d+)$/m.exec(text);
  if (line === null) throw new Error('the callgrind dump holds no totals line');
  return Number(line[1]);
}

export async function countInstructions(options: InstructionOptions): Promise<InstructionCount> {
  const system = options.oauth ? 'sqlbridge-oauth' : 'sqlbridge';
  const dir = join(options.workDir, 'callgrind', system);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const outFile = join(dir, OUT_NAME);
  const server = await startSqlbridge({
    workDir: dir,
    postgres: options.postgres,
    sqlitePath: options.sqlitePath,
    oauth: options.oauth,
    maxStreams: 0,
    launcher: callgrind(outFile),
    ...(options.pgDatabase === undefined ? {} : { pgDatabase: options.pgDatabase }),
    ...(options.main === undefined ? {} : { main: options.main }),
    ...(options.nodeFlags === undefined ? {} : { nodeFlags: options.nodeFlags })
  });
  try {
    const environment = options.workload.engine === 'postgres' ? 'pg' : 'lite';
    const caller = await httpCaller(server.target(environment, options.workload.era), options.workload.concurrency);
    try {
      await driveCalls(caller, options.workload.calls, options.workload.concurrency, options.warmupCalls);
      const pid = String(server.pid);
      await run('callgrind_control', ['--instr=on', pid]);
      await driveCalls(caller, options.workload.calls, options.workload.concurrency, options.calls);
      await run('callgrind_control', ['--instr=off', pid]);
      await run('callgrind_control', ['--dump', pid]);
    } finally {
      await caller.close();
    }
    // The one dump taken above is the first part.
    const { mainThread, allThreads } = threadTotals(dir, OUT_NAME, 1);
    if (mainThread === 0) throw new Error('callgrind counted no instructions over the measured calls');
    return {
      system,
      workload: options.workload.name,
      warmupCalls: options.warmupCalls,
      calls: options.calls,
      mainThreadPerCall: mainThread / options.calls,
      allThreadsPerCall: allThreads / options.calls
    };
  } finally {
    await server.stop();
  }
}
