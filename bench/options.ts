import { parseArgs } from 'node:util';

/** The command line of `npm run bench`. */

export const SYSTEMS = ['sqlbridge', 'sqlbridge-oauth', 'dbhub', 'raw', 'raw-read-only'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export interface BenchOptions {
  quick: boolean;
  durationMs: number;
  warmupMs: number;
  /** Calls each server answers once started, before it is measured (see prime.ts). */
  primeCalls: number;
  runs: number;
  /** Workload names (or name prefixes), `sse`, `cold-start`, `soak`, `sdk-floor` and `instructions`; empty = everything. */
  only: string[];
  systems: SystemName[];
  streams: number;
  /** Length of the soak (ms). */
  soakMs: number;
  /** Options for `node` itself, before the script, in every sqlbridge process the bench starts (and Fastify alone's). */
  nodeFlags: string[];
  out?: string;
}

export const USAGE = `Usage: npm run bench -- [options]
  --quick              short runs (3 s each, 2,000 idle streams, a 30-second soak): a smoke run, not figures to publish
  --duration SECONDS   measured time per run and system (default 20, quick 3)
  --warmup SECONDS     unmeasured time before each run (default 3, quick 1)
  --prime CALLS        unmeasured calls each server answers once started, before its first run (default 40000,
                       quick 2000; 0 for none)
  --runs N             runs per workload and system, alternating systems (default 3, at least 1)
  --only LIST          comma-separated workload names or prefixes (e.g. pk,rows1000), sse, cold-start, soak, sdk-floor,
                       instructions (sqlbridge under valgrind's callgrind: instructions per call, OAuth off and on)
  --systems LIST       comma-separated among ${SYSTEMS.join(', ')} (default all)
  --streams N          idle legacy SSE streams to hold (default 10000, quick 2000)
  --soak SECONDS       length of the mixed-load soak at concurrency 8 (default 600, quick 30)
  --node-flags FLAGS   space-separated options for node itself, before sqlbridge's script, on top of the image's
                       NODE_OPTIONS (e.g. --node-flags=--optimize-for-size): V8 options Node refuses in NODE_OPTIONS
  --out FILE           where to write the results JSON (default bench/results/<date>-<commit>.json)`;

/** Thrown for a bad command line; the message names the option. */
export class UsageError extends Error {}

function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0)
    throw new UsageError(`--${name} must be a whole number, 0 or more, got ${JSON.stringify(value)}`);
  return number;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new UsageError(`--${name} must be a positive number, got ${JSON.stringify(value)}`);
  return number;
}

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map(item => item.trim())
    .filter(item => item !== '');

export function parseOptions(argv: string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        prime: { type: 'string' },
        runs: { type: 'string' },
        only: { type: 'string' },
        systems: { type: 'string' },
        streams: { type: 'string' },
        soak: { type: 'string' },
        'node-flags': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean' }
      },
      strict: true
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help === true) throw new UsageError('');
  const quick = values.quick === true;
  const systems = values.systems === undefined ? [...SYSTEMS] : list(values.systems);
  for (const system of systems) {
    if (!(SYSTEMS as readonly string[]).includes(system)) {
      throw new UsageError(`--systems: unknown system ${JSON.stringify(system)} (known: ${SYSTEMS.join(', ')})`);
    }
  }
  const nodeFlags = (values['node-flags'] ?? '').split(/\s+/).filter(flag => flag !== '');
  for (const flag of nodeFlags) {
    if (!flag.startsWith('-'))
      throw new UsageError(
        `--node-flags: each must be an option of node, starting with "-", got ${JSON.stringify(flag)}`
      );
  }
  return {
    quick,
    durationMs: positive('duration', values.duration, quick ? 3 : 20) * 1000,
    warmupMs: positive('warmup', values.warmup, quick ? 1 : 3) * 1000,
    primeCalls: count('prime', values.prime, quick ? 2000 : 40_000),
    runs: Math.round(positive('runs', values.runs, 3)),
    only: list(values.only),
    systems: systems as SystemName[],
    streams: Math.round(positive('streams', values.streams, quick ? 2000 : 10_000)),
    soakMs: positive('soak', values.soak, quick ? 30 : 600) * 1000,
    nodeFlags,
    ...(values.out === undefined ? {} : { out: values.out })
  };
}

/** Whether `name` was asked for by `--only` (everything when it is empty). */
export const selected = (options: BenchOptions, name: string): boolean =>
  options.only.length === 0 || options.only.some(item => name === item || name.startsWith(item));
