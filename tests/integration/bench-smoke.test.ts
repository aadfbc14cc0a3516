import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSqlbridge, PROJECT_ROOT } from '../../bench/build.ts';
import { demoArgs } from '../../bench/cold-start.ts';
import { eventStreamHeaders, startFastifyAlone } from '../../bench/idle-streams.ts';
import { countInstructions, dumpTotal, threadTotals } from '../../bench/instructions.ts';
import { holdStreams, runLoadJob } from '../../bench/load-client.ts';
import { measureWorkloads, runOrder } from '../../bench/measure.ts';
import type { LoadJob } from '../../bench/load.ts';
import { parseOptions, type SystemName } from '../../bench/options.ts';
import { primeSystems } from '../../bench/prime.ts';
import { soak } from '../../bench/soak.ts';
import { startSqlbridge, type SqlbridgeServer } from '../../bench/sqlbridge-server.ts';
import { serverPid, startSystems } from '../../bench/systems.ts';
import type { Call, Era, Workload } from '../../bench/workloads.ts';
import { POSTGRES } from '../dialects/engines/postgres.ts';

/**
 * The benchmark harness itself, in a few seconds: sqlbridge built and started as `npm run bench`
 * builds and starts it (into a directory of its own, beside dist/, which this test leaves alone),
 * the load generator in its own process sending tool calls for under a second, every answer checked,
 * so that a wrong answer is an error and never a call served. The figures are not asserted here.
 */

let dir: string;
let sqlitePath: string;
let server: SqlbridgeServer;
const BUILD = join(PROJECT_ROOT, '.test-build-bench');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  sqlitePath = join(dir, 'empty.sqlite');
  new DatabaseSync(sqlitePath).close();
  const main = buildSqlbridge(BUILD);
  server = await startSqlbridge({
    main,
    workDir: dir,
    postgres: { host: POSTGRES.host, port: POSTGRES.port, user: POSTGRES.user },
    pgDatabase: POSTGRES.database,
    sqlitePath,
    oauth: false,
    maxStreams: 0
  });
}, 120_000);

afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(BUILD, { recursive: true, force: true });
});

/** Two clients asking PostgreSQL for 42, as the tests that start servers of their own measure it. */
const ANSWER: Workload = {
  name: 'answer',
  title: 'answer',
  engine: 'postgres',
  era: '2026-07-28',
  concurrency: 2,
  calls: [{ sql: 'SELECT 41 + 1 AS answer', expect: { rows: 1, contains: '42' } }]
};

/** Checked calls to `execute_sql` at `url` (by default the shared server's PostgreSQL environment). */
const job = (calls: Call[], era: Era, url: string = server.url('pg', 'mcp')): LoadJob => ({
  kind: 'http',
  http: { url, tool: 'execute_sql', sqlArgument: 'query', era },
  calls,
  capped: false,
  concurrency: 2,
  durationMs: 800,
  warmupMs: 100
});

describe('the benchmark harness', () => {
  it.each(['2026-07-28', '2025-11-25'] as const)(
    'serves checked tool calls as a %s client',
    async era => {
      const result = await runLoadJob(
        job([{ sql: 'SELECT 41 + 1 AS answer', expect: { rows: 1, contains: '42' } }], era)
      );
      expect(result.errors).toBe(0);
      expect(result.calls).toBeGreaterThan(0);
      expect(result.p50Ms).toBeGreaterThan(0);
      expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    },
    20_000
  );

  it('counts a wrong answer as an error, not as a call served', async () => {
    const result = await runLoadJob(
      job([{ sql: 'SELECT 41 AS answer', expect: { rows: 1, contains: '42' } }], '2026-07-28')
    );
    expect(result.calls).toBe(0);
    expect(result.errors).toBeGreaterThan(0);
    expect(result.firstError).toContain('lacks 42');
  }, 20_000);

  it("reads the server's CPU time over the measured window", async () => {
    const calls = [{ sql: 'SELECT 41 + 1 AS answer', expect: { rows: 1, contains: '42' } }];
    const result = await runLoadJob({ ...job(calls, '2026-07-28'), serverPid: server.pid });
    expect(result.errors).toBe(0);
    // A served call costs the server some CPU, and far less than a second of it.
    expect(result.serverCpuMsPerCall).toBeGreaterThan(0);
    expect(result.serverCpuMsPerCall).toBeLessThan(1000);
    expect((await runLoadJob(job(calls, '2026-07-28'))).serverCpuMsPerCall).toBeUndefined();
  }, 20_000);

  it('expects bad SQL to come back as a tool error', async () => {
    const bad = { sql: 'SELECT no_such_column FROM pg_class', expect: { rows: 0, error: true } };
    expect((await runLoadJob(job([bad], '2026-07-28'))).errors).toBe(0);
    const result = await runLoadJob(job([{ ...bad, expect: { rows: 0 } }], '2026-07-28'));
    expect(result.calls).toBe(0);
    expect(result.firstError).toContain('tool error');
  }, 20_000);

  it('soaks the server with checked calls on both environments while sampling its memory', async () => {
    const answer: Call = { sql: 'SELECT 41 + 1 AS answer', expect: { rows: 1, contains: '42' } };
    const figure = await soak(server, {
      calls: { pg: [answer], lite: [answer] },
      durationMs: 1000,
      sampleEveryMs: 100
    });
    expect(figure.errors).toBe(0);
    expect(figure.calls).toBeGreaterThan(0);
    expect(figure.rssMb.length).toBeGreaterThanOrEqual(5);
    expect(figure.firstWindowPeakMb).toBeGreaterThan(0);
  }, 20_000);

  it("starts the servers afresh for each run, in that run's order, and measures every system in that order", async () => {
    const started: { order: SystemName[]; pids: number[] }[] = [];
    const options = { ...parseOptions(['--runs', '2', '--duration', '0.4', '--warmup', '0.1', '--prime', '10']) };
    options.systems = ['sqlbridge', 'sqlbridge-oauth'];
    const { measurements, serverPeakRssMb } = await measureWorkloads(
      async order => {
        const systems = await startSystems(order, {
          main: join(BUILD, 'main.js'),
          workDir: join(dir, `run-${started.length + 1}`),
          postgres: { host: POSTGRES.host, port: POSTGRES.port, user: POSTGRES.user },
          pgDatabase: POSTGRES.database,
          sqlitePath,
          maxStreams: 0
        });
        // Started one after the other in the order given: the first has the older process.
        const pids = [systems.sqlbridge!.pid, systems.sqlbridgeOauth!.pid];
        started.push({ order, pids });
        expect(processStartTicks(serverPid(systems, order[0]!)!)).toBeLessThanOrEqual(
          processStartTicks(serverPid(systems, order[1]!)!)
        );
        return systems;
      },
      [ANSWER],
      options,
      () => undefined,
      { pg: ANSWER.calls, lite: ANSWER.calls }
    );
    expect(started.map(run => run.order)).toEqual([
      ['sqlbridge', 'sqlbridge-oauth'],
      ['sqlbridge-oauth', 'sqlbridge']
    ]);
    // New processes each run, and those of every run stopped once it ended.
    expect(new Set(started.flatMap(run => run.pids)).size).toBe(4);
    for (const pid of started.flatMap(run => run.pids)) expect(() => process.kill(pid, 0)).toThrow();
    expect(measurements.map(m => [m.run, m.system, m.result.errors])).toEqual([
      [1, 'sqlbridge', 0],
      [1, 'sqlbridge-oauth', 0],
      [2, 'sqlbridge-oauth', 0],
      [2, 'sqlbridge', 0]
    ]);
    for (const m of measurements) expect(m.result.calls).toBeGreaterThan(0);
    // Each server was primed once started, before its measurement: its first 10 calls are the
    // priming's, half of them on SQLite, which the measured workload never asks.
    for (const run of [1, 2])
      for (const system of ['sqlbridge', 'sqlbridge-oauth']) {
        const calls = toolCalls(join(dir, `run-${run}`, system));
        expect(environments(calls.slice(0, 10))).toEqual({ pg: 5, lite: 5 });
        expect(environments(calls).lite).toBe(5);
      }
    expect(serverPeakRssMb.sqlbridge).toBeGreaterThan(0);
    expect(serverPeakRssMb['sqlbridge-oauth']).toBeGreaterThan(0);
    expect(runOrder(['a', 'b', 'c', 'd', 'e'], 3)).toEqual(['c', 'd', 'e', 'a', 'b']);
    expect(runOrder(['a', 'b'], 5)).toEqual(['a', 'b']);
  }, 60_000);

  it('primes each server, one after another, with checked calls on both engines', async () => {
    const workDir = join(dir, 'priming');
    const systems = await startSystems(['sqlbridge-oauth', 'sqlbridge'], {
      main: join(BUILD, 'main.js'),
      workDir,
      postgres: { host: POSTGRES.host, port: POSTGRES.port, user: POSTGRES.user },
      pgDatabase: POSTGRES.database,
      sqlitePath,
      maxStreams: 0
    });
    try {
      await primeSystems(systems, ['sqlbridge-oauth', 'sqlbridge', 'raw'], {
        calls: 31,
        pg: ANSWER.calls,
        lite: ANSWER.calls
      });
      const wrong = { pg: ANSWER.calls, lite: [{ ...ANSWER.calls[0]!, expect: { rows: 1, contains: '43' } }] };
      await expect(primeSystems(systems, ['sqlbridge'], { ...wrong, calls: 4 })).rejects.toThrow(
        /^priming sqlbridge on sqlite: .*lacks 43/
      );
      await primeSystems(systems, ['sqlbridge'], { ...wrong, calls: 0 });
    } finally {
      await systems.stop();
    }
    const oauth = toolCalls(join(workDir, 'sqlbridge-oauth'));
    const plain = toolCalls(join(workDir, 'sqlbridge'));
    // 16 on PostgreSQL and 15 on SQLite each; then the wrong priming's calls (2 on each engine, at
    // most, before its first wrong answer) and nothing for a priming of 0 calls.
    expect(environments(oauth)).toEqual({ pg: 16, lite: 15 });
    expect(environments(plain.slice(0, 31))).toEqual({ pg: 16, lite: 15 });
    expect(plain.length).toBeGreaterThan(31);
    expect(plain.length).toBeLessThanOrEqual(35);
    // One server after the other, in the order given: the second began once the first had finished.
    expect(plain[0]!.time >= oauth.at(-1)!.time).toBe(true);
  }, 60_000);

  it('names the option a bad command line gets wrong', () => {
    expect(() => parseOptions(['--runs', '0'])).toThrow('--runs must be a positive number');
    expect(() => parseOptions(['--systems', 'sqlbridge,nope'])).toThrow('--systems: unknown system "nope"');
    expect(parseOptions(['--quick']).durationMs).toBe(3000);
    expect(parseOptions(['--quick']).soakMs).toBe(30_000);
    expect(parseOptions(['--soak', '120']).soakMs).toBe(120_000);
    expect(() => parseOptions(['--soak', 'long'])).toThrow('--soak must be a positive number');
    expect(parseOptions([]).primeCalls).toBe(40_000);
    expect(parseOptions(['--quick']).primeCalls).toBe(2000);
    expect(parseOptions(['--prime', '0']).primeCalls).toBe(0);
    for (const bad of ['-1', '1.5', 'many'])
      expect(() => parseOptions([`--prime=${bad}`])).toThrow(`--prime must be a whole number, 0 or more, got "${bad}"`);
    expect(parseOptions([]).nodeFlags).toEqual([]);
    expect(parseOptions(['--node-flags=--optimize-for-size  --max-semi-space-size=4']).nodeFlags).toEqual([
      '--optimize-for-size',
      '--max-semi-space-size=4'
    ]);
    expect(() => parseOptions(['--node-flags=--optimize-for-size main.js'])).toThrow(
      '--node-flags: each must be an option of node, starting with "-", got "main.js"'
    );
  });

  it("gives node the options asked for before sqlbridge's script, Fastify alone's and the demo's", async () => {
    const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    const flags = ['--max-semi-space-size=4', '--stack-trace-limit=12'];
    const flagged = await startSqlbridge({
      main: join(BUILD, 'main.js'),
      workDir: join(dir, 'flagged'),
      postgres: { host: POSTGRES.host, port: POSTGRES.port, user: POSTGRES.user },
      pgDatabase: POSTGRES.database,
      sqlitePath,
      oauth: false,
      maxStreams: 0,
      nodeFlags: flags
    });
    try {
      expect(cmdline(flagged.pid).slice(1, 5)).toEqual([...flags, join(BUILD, 'main.js'), 'serve']);
      const result = await runLoadJob(job(ANSWER.calls, '2026-07-28', flagged.url('pg', 'mcp')));
      expect(result).toMatchObject({ errors: 0 });
      expect(result.calls).toBeGreaterThan(0);
    } finally {
      await flagged.stop();
    }
    const floor = await startFastifyAlone({ 'content-type': 'text/event-stream' }, 1000, flags);
    try {
      expect(cmdline(floor.pid).slice(1, 4)).toEqual([...flags, '--input-type=module']);
    } finally {
      await floor.stop();
    }
    expect(demoArgs('/data', 8008, flags).slice(0, 3)).toEqual([...flags, join(PROJECT_ROOT, 'dist', 'main.js')]);
  }, 60_000);

  it("holds idle streams on Fastify alone answering with sqlbridge's headers and first event", async () => {
    const headers = await eventStreamHeaders(server.url('pg', 'sse'));
    expect(headers).toMatchObject({ 'content-type': 'text/event-stream', 'x-accel-buffering': 'no' });
    expect(headers['x-content-type-options']).toBe('nosniff');
    // Node writes these itself on every answer; passing them on would send them twice.
    for (const name of ['date', 'connection', 'keep-alive', 'transfer-encoding'])
      expect(headers).not.toHaveProperty(name);

    const floor = await startFastifyAlone(headers, 160);
    try {
      expect(await eventStreamHeaders(`${floor.baseUrl}/pg/sse`)).toEqual(headers);
      const response = await fetch(`${floor.baseUrl}/pg/sse`);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes(': keep-alive')) {
        const read = await reader.read();
        if (read.done) break;
        text += decoder.decode(read.value, { stream: true });
      }
      await reader.cancel();
      expect(text).toMatch(/^event: endpoint\ndata: \/pg\/messages\?sessionId=[0-9a-f-]{36}\n\n: keep-alive\n\n/);
      const held = await holdStreams({ kind: 'sse', url: `${floor.baseUrl}/pg/sse`, count: 5 });
      await held.close();
      expect(held).toMatchObject({ opened: 5, failed: 0 });
    } finally {
      await floor.stop();
    }
  }, 30_000);

  it('counts the instructions sqlbridge executes per checked call under callgrind, and stops it', async () => {
    const options = {
      workDir: dir,
      postgres: { host: POSTGRES.host, port: POSTGRES.port, user: POSTGRES.user },
      pgDatabase: POSTGRES.database,
      sqlitePath,
      workload: ANSWER,
      oauth: false,
      warmupCalls: 20,
      main: join(BUILD, 'main.js')
    };
    const ten = await countInstructions({ ...options, calls: 10 });
    expect(ten).toMatchObject({ system: 'sqlbridge', workload: 'answer', warmupCalls: 20, calls: 10 });
    // A tool call over HTTP runs hundreds of thousands of instructions at least; the counts are per call, not per run.
    expect(ten.mainThreadPerCall).toBeGreaterThan(100_000);
    expect(ten.mainThreadPerCall).toBeLessThan(100_000_000);
    // The other threads (V8's compiler and collector helpers) add to the main thread's count.
    expect(ten.allThreadsPerCall).toBeGreaterThan(ten.mainThreadPerCall);
    // Nothing of the server is left running.
    const left = spawnSync('pgrep', ['-f', `callgrind-out-file=${join(dir, 'callgrind')}`], { encoding: 'utf8' });
    expect(left.stdout.trim()).toBe('');
    expect(left.status).toBe(1);
  }, 240_000);
});

describe('a callgrind dump', () => {
  it('is read at its totals line, not at the summary header that may say 0', () => {
    expect(dumpTotal('events: Ir\nsummary: 0\n\nfn=(1) x\n0 5\n\ntotals: 245256731\n')).toBe(245_256_731);
    expect(() => dumpTotal('events: Ir\nsummary: 0\n')).toThrow('totals');
  });

  it("is read thread by thread, thread 1 being the main thread, and only the asked part's files", () => {
    const dumps = mkdtempSync(join(tmpdir(), 'callgrind-dumps-'));
    try {
      const dump = (total: number): string => `events: Ir\nsummary: 0\n\ntotals: ${total}\n`;
      writeFileSync(join(dumps, 'callgrind.out.1-01'), dump(1000));
      writeFileSync(join(dumps, 'callgrind.out.1-02'), dump(300));
      writeFileSync(join(dumps, 'callgrind.out.1-10'), dump(20));
      writeFileSync(join(dumps, 'callgrind.out.2-01'), dump(99_999));
      writeFileSync(join(dumps, 'callgrind.out-01'), dump(99_999));
      expect(threadTotals(dumps, 'callgrind.out', 1)).toEqual({ mainThread: 1000, allThreads: 1320 });
      expect(() => threadTotals(dumps, 'callgrind.out', 3)).toThrow('main thread');
    } finally {
      rmSync(dumps, { recursive: true, force: true });
    }
  });
});

/** The `tool.called` records of a stopped bench server's audit trail (`<dir>/data/audit/`), oldest first. */
function toolCalls(serverDir: string): { time: string; environment: string }[] {
  const auditDir = join(serverDir, 'data', 'audit');
  return readdirSync(auditDir)
    .flatMap(file => readFileSync(join(auditDir, file), 'utf8').split('\n'))
    .filter(line => line !== '')
    .map(line => JSON.parse(line) as { event: string; time: string; environment: string })
    .filter(record => record.event === 'tool.called')
    .sort((a, b) => a.time.localeCompare(b.time));
}

function environments(records: { environment: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { environment } of records) counts[environment] = (counts[environment] ?? 0) + 1;
  return counts;
}

/** When a process started, in clock ticks since boot (field 22 of /proc/<pid>/stat). */
function processStartTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}
