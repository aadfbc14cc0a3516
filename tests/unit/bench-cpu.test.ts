import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { closedLoop } from '../../bench/closed-loop.ts';
import { parseProcStat, treeCpuSeconds } from '../../bench/process-cpu.ts';
import { resultsSection } from '../../bench/docs-table.ts';
import { figures, instructionsLine, runSpread, sdkFloorLine, type Measurement } from '../../bench/report.ts';
import { measureSdkFloor } from '../../bench/sdk-floor.ts';
import { executeSqlTool } from '../../src/mcp/tools/execute-sql.ts';
import { checkTargets } from '../../bench/targets.ts';
import { benchResults } from '../helpers/bench-results.ts';

/**
 * The CPU figures of `npm run bench`: each server's CPU per call beside its calls/s
 * (bench/process-cpu.ts), how far runs of one server differed, and the MCP SDK's own cost per call
 * (bench/sdk-floor.ts).
 */

describe('parseProcStat', () => {
  it('reads the parent and the CPU ticks after a command name holding spaces and parentheses', () => {
    const stat = '4242 (node (worker) x) S 4200 4242 4200 0 -1 4194560 10 0 0 0 350 125 0 0 20 0 11 0 100 0 0';
    expect(parseProcStat(stat)).toEqual({ ppid: 4200, cpuTicks: 475 });
  });

  it('adds the time of the children it has reaped (cutime, cstime) to its own', () => {
    const stat = '4242 (node) S 4200 4242 4200 0 -1 4194560 10 0 0 0 350 125 40 8 20 0 11 0 100 0 0';
    expect(parseProcStat(stat).cpuTicks).toBe(523);
  });

  it('refuses a line it cannot read', () => {
    expect(() => parseProcStat('garbage')).toThrow('unreadable /proc stat');
  });
});

describe('treeCpuSeconds', () => {
  it("counts the CPU of a process's children", async () => {
    const before = treeCpuSeconds(process.pid);
    // A child that keeps a core busy for 400 ms, then waits to be killed (so it is still running when read).
    const child = spawn(
      process.execPath,
      [
        '-e',
        'const end = Date.now() + 400; while (Date.now() < end); process.stdout.write("done"); setInterval(() => {}, 1000);'
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] }
    );
    try {
      await new Promise<void>(resolve => child.stdout.once('data', () => resolve()));
      const used = treeCpuSeconds(process.pid) - before;
      expect(used).toBeGreaterThanOrEqual(0.3);
      expect(used).toBeLessThan(60);
    } finally {
      child.kill();
    }
  });

  it('keeps the CPU of a child that has ended and been reaped', async () => {
    const before = treeCpuSeconds(process.pid);
    const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 400; while (Date.now() < end);'], {
      stdio: 'ignore'
    });
    await new Promise(resolve => child.once('exit', resolve));
    const used = treeCpuSeconds(process.pid) - before;
    expect(used).toBeGreaterThanOrEqual(0.3);
    expect(used).toBeLessThan(60);
  });

  it('is zero for a process that does not exist', () => {
    expect(treeCpuSeconds(2 ** 22 + 17)).toBe(0);
  });
});

describe('closedLoop', () => {
  it("divides the server's CPU over the measured window by the calls answered in it", async () => {
    const readings = [10, 12];
    const result = await closedLoop(
      { concurrency: 2, durationMs: 200, warmupMs: 50, serverCpuSeconds: () => readings.shift() ?? 99 },
      () => new Promise(resolve => setTimeout(resolve, 5))
    );
    expect(result.calls).toBeGreaterThan(10);
    expect(readings).toEqual([]);
    expect(result.serverCpuMsPerCall).toBeCloseTo(2000 / result.calls, 6);
  });

  it('reports no CPU figure without a way to read it', async () => {
    const result = await closedLoop({ concurrency: 1, durationMs: 50, warmupMs: 10 }, () => Promise.resolve());
    expect(result.serverCpuMsPerCall).toBeUndefined();
  });
});

describe('figures', () => {
  const measurement = (run: number, serverCpuMsPerCall?: number): Measurement => ({
    workload: 'pk-pg-c16',
    system: 'sqlbridge',
    run,
    result: {
      calls: 100,
      errors: 0,
      windowMs: 1000,
      callsPerSecond: 100,
      p50Ms: 1,
      p90Ms: 2,
      p99Ms: 3,
      meanMs: 1,
      ...(serverCpuMsPerCall === undefined ? {} : { serverCpuMsPerCall })
    }
  });

  it('reports the median CPU per call over the runs', () => {
    const [figure] = figures([measurement(1, 1.5), measurement(2, 0.9), measurement(3, 1.1)], new Map());
    expect(figure?.serverCpuMsPerCall).toBe(1.1);
  });

  it('leaves it out where no run read it', () => {
    const [figure] = figures([measurement(1), measurement(2)], new Map());
    expect(figure).not.toHaveProperty('serverCpuMsPerCall');
  });
});

describe('the spread between runs', () => {
  const run = (workload: string, system: Measurement['system'], callsPerSecond: number, calls = 100): Measurement => ({
    workload,
    system,
    run: 1,
    result: { calls, errors: 0, windowMs: 1000, callsPerSecond, p50Ms: 1, p90Ms: 2, p99Ms: 3, meanMs: 1 }
  });

  it("is each server's highest run over its lowest, per workload: their median and the largest", () => {
    const spread = runSpread([
      run('pk-pg-c16', 'sqlbridge', 1000),
      run('pk-pg-c16', 'sqlbridge', 1250),
      run('pk-pg-c16', 'sqlbridge', 1100),
      run('pk-pg-c16', 'dbhub', 1000),
      run('pk-pg-c16', 'dbhub', 1100),
      run('rows1000-pg-c16', 'sqlbridge-oauth', 500),
      run('rows1000-pg-c16', 'sqlbridge-oauth', 505),
      // The raw drivers are no server; a run that answered nothing has no rate to compare.
      run('pk-pg-c16', 'raw', 10_000),
      run('pk-pg-c16', 'raw', 30_000),
      run('rows1000-pg-c16', 'sqlbridge-oauth', 0, 0)
    ]);
    expect(spread).toEqual({ medianPercent: 10, maxPercent: 25 });
  });

  it('is published with the figures, and left out where no figure had two runs', () => {
    const measurements = [run('pk-pg-c16', 'sqlbridge', 1000), run('pk-pg-c16', 'sqlbridge', 1300)];
    expect(resultsSection(benchResults({ measurements }))).toContain(
      'Runs of the same server and workload differed by 30% in calls per second at the median and by up to 30%'
    );
    expect(runSpread(measurements.slice(1))).toBeUndefined();
    expect(resultsSection(benchResults({ measurements: measurements.slice(1) }))).not.toContain('Runs of the same');
  });
});

describe('the results section', () => {
  it('says whether each server was primed before it was measured, and with how many calls', () => {
    const primed = benchResults();
    primed.options.primeCalls = 40_000;
    expect(resultsSection(primed)).toContain(
      'a full run (20-second runs, each server primed with 40,000 calls once started)'
    );
    // Results written before priming existed carry no count: those servers were measured from their start.
    expect(resultsSection(benchResults())).toContain(
      'a full run (20-second runs, each server measured from its start, unprimed)'
    );
  });
});

describe('the SDK floor', () => {
  it("registers execute_sql's schemas as sqlbridge does: each converted to JSON Schema once, the answer reused", () => {
    // Importing bench/sdk-floor.ts (above) registered them.
    const standard = executeSqlTool.outputSchema['~standard'] as unknown as {
      jsonSchema: { output(options: { target: string }): unknown };
    };
    const first = standard.jsonSchema.output({ target: 'draft-2020-12' });
    expect(standard.jsonSchema.output({ target: 'draft-2020-12' })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('answers checked tool calls through the SDK alone, in a process of its own, and reports their CPU time', async () => {
    const floor = await measureSdkFloor(300);
    expect(floor.calls).toBe(300);
    expect(floor.cpuMsPerCall).toBeGreaterThan(0);
    expect(floor.cpuMsPerCall).toBeLessThan(100);
    expect(sdkFloorLine(floor)).toContain(`${floor.cpuMsPerCall.toFixed(3)} ms of CPU per tools/call (300 calls)`);
    // Its resident set, from before the first call to its peak.
    expect(floor.rssStartMb).toBeGreaterThan(10);
    expect(floor.peakRssMb).toBeGreaterThanOrEqual(floor.rssStartMb!);
    expect(sdkFloorLine(floor)).toContain(
      `its resident set grew from ${floor.rssStartMb!.toFixed(0)} MiB before the first call to a peak of ${floor.peakRssMb!.toFixed(0)} MiB.`
    );
  }, 60_000);

  it('reads older results, which had no resident set', () => {
    expect(sdkFloorLine({ calls: 20_000, cpuMsPerCall: 0.135 })).toMatch(
      /0\.135 ms of CPU per tools\/call \(20,000 calls\)\.$/
    );
  });
});

describe('the instruction counts', () => {
  const count = (system: 'sqlbridge' | 'sqlbridge-oauth', mainThreadPerCall: number, allThreadsPerCall: number) => ({
    system,
    workload: 'pk-pg-c16',
    warmupCalls: 3000,
    calls: 1000,
    mainThreadPerCall,
    allThreadsPerCall
  });

  it('say what OAuth adds per call on the main thread and over all threads', () => {
    expect(
      instructionsLine([count('sqlbridge', 1_211_328, 1_993_894), count('sqlbridge-oauth', 1_262_304, 1_666_737)])
    ).toBe(
      "Instructions per call (valgrind's callgrind, pk-pg-c16, 1,000 calls after 3,000 unmeasured): " +
        'OAuth off 1,211k on the main thread (1,994k over all threads), OAuth on 1,262k on the main thread ' +
        '(1,667k over all threads); OAuth on +4.2% on the main thread, -16.4% over all threads.'
    );
  });

  it('give one system alone without a comparison, and nothing when none was counted', () => {
    expect(instructionsLine([count('sqlbridge', 1_000_000, 1_500_000)])).toMatch(
      /OAuth off 1,000k on the main thread \(1,500k over all threads\)\.$/
    );
    expect(instructionsLine([])).toBe('');
  });
});

describe('a target comparing two systems', () => {
  const measured = (system: Measurement['system'], run: number, callsPerSecond: number): Measurement => ({
    workload: 'pk-pg-c16',
    system,
    run,
    result: { calls: 100, errors: 0, windowMs: 1000, callsPerSecond, p50Ms: 1, p90Ms: 2, p99Ms: 3, meanMs: 1 }
  });
  const oauthTarget = (measurements: Measurement[]) =>
    checkTargets(benchResults({ measurements, figures: figures(measurements, new Map()) })).find(check =>
      check.target.startsWith('the same with OAuth on')
    )!;

  it("is judged on the median of the runs' ratios, not on the ratio of the medians", () => {
    // Runs of 0.87x, 0.84x and 0.97x: the medians of each system (1540 against 1585) would say 0.97x.
    const measurements = [
      measured('sqlbridge', 1, 1918),
      measured('sqlbridge-oauth', 1, 1671),
      measured('sqlbridge', 2, 1522),
      measured('sqlbridge-oauth', 2, 1271),
      measured('sqlbridge', 3, 1585),
      measured('sqlbridge-oauth', 3, 1540)
    ];
    expect(oauthTarget(measurements)).toEqual({
      target: 'the same with OAuth on: ≥ 0.90× OAuth off',
      measured: '0.87×',
      met: false
    });
  });

  it('leaves out a run where the other system answered nothing, and is not measured without a common run', () => {
    const measurements = [
      measured('sqlbridge', 1, 1000),
      measured('sqlbridge-oauth', 1, 950),
      measured('sqlbridge', 2, 0),
      measured('sqlbridge-oauth', 2, 900)
    ];
    expect(oauthTarget(measurements)).toMatchObject({ measured: '0.95×', met: true });
    expect(oauthTarget([measured('sqlbridge', 1, 1000), measured('sqlbridge-oauth', 2, 950)])).toMatchObject({
      measured: 'not measured',
      met: undefined
    });
  });
});
