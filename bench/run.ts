import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSqlbridge, PROJECT_ROOT, SQLBRIDGE_ENV } from './build.ts';
import { coldStartMs, prepareDemo } from './cold-start.ts';
import { preparePostgres, prepareSqlite } from './datasets.ts';
import { describeMachine } from './machine.ts';
import { measureWorkloads } from './measure.ts';
import { installDbhub } from './dbhub.ts';
import { countInstructions, type InstructionCount } from './instructions.ts';
import { parseOptions, selected, USAGE, UsageError, type BenchOptions, type SystemName } from './options.ts';
import { HOLD_MS, measureIdleStreams } from './idle-streams.ts';
import { measureSdkFloor } from './sdk-floor.ts';
import { measureSoak } from './soak.ts';
import {
  currentCommit,
  figures,
  figuresTable,
  instructionsLine,
  median,
  sdkFloorLine,
  soakLine,
  streamsRss,
  writeResults,
  type Results
} from './report.ts';
import { startSystems, type Systems } from './systems.ts';
import { MIXED_CALLS, WORKLOADS } from './workloads.ts';

/**
 * `npm run bench`: sqlbridge (OAuth off and on), DBHub and the raw drivers on the same generated
 * data, every workload measured `--runs` times with the systems alternating, then idle legacy SSE
 * streams (on sqlbridge and on Fastify alone), the demo's cold start, the soak and the MCP SDK's own
 * cost per call and memory. Progress goes to stderr, the table to stdout, everything to the results
 * JSON.
 */

const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres' };
/** The workload whose instructions per call are counted under callgrind. */
const INSTRUCTIONS_WORKLOAD = 'pk-pg-c16';
const WORK_DIR = join(tmpdir(), 'sqlbridge-bench');
const progress = (text: string): void => {
  process.stderr.write(`${text}\n`);
};

async function main(options: BenchOptions): Promise<void> {
  const machine = await describeMachine();
  if (machine.busy) {
    progress(
      `WARNING: the machine is busy (load average ${machine.loadAverage.toFixed(2)} on ${machine.cores} cores, ` +
        `${machine.idlePercent}% CPU idle): the figures will be low and noisy. Run on a quiet machine for figures to publish.`
    );
  }
  mkdirSync(WORK_DIR, { recursive: true });
  const sqlitePath = join(WORK_DIR, 'bench.sqlite');
  if (options.systems.some(system => system.startsWith('sqlbridge'))) {
    progress('building sqlbridge as its image runs it (npm run build → node dist/main.js)…');
    buildSqlbridge();
  }
  progress('preparing the data (generated once, kept between runs)…');
  await preparePostgres(POSTGRES);
  prepareSqlite(sqlitePath);

  const { nodeFlags } = options;
  const workloads = WORKLOADS.filter(workload => selected(options, workload.name));
  const wantsStreams = options.systems.includes('sqlbridge') && selected(options, 'sse');
  const dbhubVersion = options.systems.includes('dbhub') ? await installDbhub(join(WORK_DIR, 'dbhub')) : undefined;
  const start = (order: SystemName[]): Promise<Systems> =>
    startSystems(order, {
      workDir: WORK_DIR,
      postgres: POSTGRES,
      sqlitePath,
      maxStreams: 0,
      nodeFlags,
      ...(dbhubVersion === undefined ? {} : { dbhubVersion })
    });
  const results: Omit<Results, 'figures'> = {
    date: new Date().toISOString(),
    ...currentCommit(PROJECT_ROOT),
    quick: options.quick,
    options: {
      quick: options.quick,
      durationMs: options.durationMs,
      warmupMs: options.warmupMs,
      primeCalls: options.primeCalls,
      runs: options.runs,
      only: options.only,
      systems: options.systems,
      streams: options.streams,
      soakMs: options.soakMs,
      nodeFlags
    },
    machine,
    sqlbridgeEnv: SQLBRIDGE_ENV,
    ...(dbhubVersion === undefined ? {} : { dbhubVersion }),
    serverPeakRssMb: {},
    measurements: []
  };
  ({ measurements: results.measurements, serverPeakRssMb: results.serverPeakRssMb } = await measureWorkloads(
    start,
    workloads,
    options,
    progress,
    { pg: MIXED_CALLS, lite: MIXED_CALLS }
  ));
  results.machineAfter = await describeMachine(1000, true);
  if (wantsStreams) {
    progress(`holding ${options.streams} idle legacy SSE streams on sqlbridge, then on Fastify alone…`);
    const streams = await measureIdleStreams({
      workDir: WORK_DIR,
      postgres: POSTGRES,
      sqlitePath,
      count: options.streams,
      holdMs: options.quick ? 5000 : HOLD_MS,
      nodeFlags
    });
    results.streams = streams.sqlbridge;
    results.streamsFastifyAlone = streams.fastifyAlone;
  }
  if (options.systems.includes('sqlbridge') && selected(options, 'cold-start')) {
    progress('cold start of the demo…');
    const dataDir = join(WORK_DIR, 'demo');
    await prepareDemo(dataDir, nodeFlags);
    const runs: number[] = [];
    for (let run = 0; run < options.runs; run++) runs.push(Math.round(await coldStartMs(dataDir, nodeFlags)));
    results.coldStartMs = { runs, median: median(runs) };
  }
  if (options.systems.includes('sqlbridge') && selected(options, 'soak')) {
    progress(`soak: mixed load at concurrency 8 for ${options.soakMs / 1000} s…`);
    results.soak = await measureSoak({
      workDir: WORK_DIR,
      postgres: POSTGRES,
      sqlitePath,
      durationMs: options.soakMs,
      nodeFlags
    });
  }
  if (selected(options, 'sdk-floor')) {
    progress('the MCP SDK alone, in process…');
    try {
      results.sdkFloor = await measureSdkFloor(options.quick ? 5000 : 20_000);
    } catch (error) {
      // The figures measured so far are still written.
      progress(`the SDK floor could not be measured: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (selected(options, 'instructions')) {
    const counted: InstructionCount[] = [];
    const workload = WORKLOADS.find(candidate => candidate.name === INSTRUCTIONS_WORKLOAD);
    for (const system of (['sqlbridge', 'sqlbridge-oauth'] as const).filter(name => options.systems.includes(name))) {
      if (workload === undefined) break;
      progress(`${system} under callgrind: instructions per call of ${workload.name}…`);
      try {
        counted.push(
          await countInstructions({
            workDir: WORK_DIR,
            postgres: POSTGRES,
            sqlitePath,
            workload,
            oauth: system === 'sqlbridge-oauth',
            warmupCalls: options.quick ? 300 : 20_000,
            calls: options.quick ? 100 : 1000,
            nodeFlags
          })
        );
      } catch (error) {
        // The figures measured so far are still written.
        progress(
          `${system}: instructions could not be counted: ${error instanceof Error ? error.message : String(error)}`
        );
      }
    }
    if (counted.length > 0) results.instructions = counted;
  }
  const titles = new Map(WORKLOADS.map(workload => [workload.name, workload.title]));
  const complete: Results = { ...results, figures: figures(results.measurements, titles) };
  const path = await writeResults(complete, PROJECT_ROOT, options.out);
  if (complete.figures.length > 0) process.stdout.write(`${figuresTable(complete.figures)}\n`);
  for (const [title, s] of [
    ['idle SSE streams', complete.streams],
    ['the same streams on Fastify alone', complete.streamsFastifyAlone]
  ] as const) {
    if (s === undefined) continue;
    process.stdout.write(
      `${title}: ${s.opened}/${s.requested} open, ${streamsRss(s)}, ${s.kbPerStream.toFixed(1)} KiB per stream\n`
    );
  }
  if (complete.coldStartMs !== undefined)
    process.stdout.write(`demo cold start to tools/list: ${complete.coldStartMs.median.toFixed(0)} ms (median)\n`);
  if (complete.soak !== undefined) process.stdout.write(`${soakLine(complete.soak)}\n`);
  if (complete.sdkFloor !== undefined) process.stdout.write(`${sdkFloorLine(complete.sdkFloor)}\n`);
  if (complete.instructions !== undefined) process.stdout.write(`${instructionsLine(complete.instructions)}\n`);
  if (machine.busy || results.machineAfter.busy)
    process.stdout.write('measured on a busy machine: low and noisy figures\n');
  progress(`results: ${path}`);
}

let options: BenchOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message === '' ? '' : `${error.message}\n`}${USAGE}\n`);
  process.exit(error.message === '' ? 0 : 2);
}
await main(options);
