import { driveCalls } from './drive.ts';
import { httpCaller } from './http-caller.ts';
import type { SystemName } from './options.ts';
import { httpTarget, type Systems } from './systems.ts';
import type { Call, Engine } from './workloads.ts';

/**
 * Priming: each server, once started, answers the same number of checked calls before any of its
 * figures is measured, half on PostgreSQL and half on SQLite at once, 8 clients each (as the soak
 * loads it). V8 runs a function in its interpreter first and compiles it with its optimizing
 * compiler only once it has run many times; on a server, that takes tens of thousands of calls.
 * sqlbridge, started afresh and traced with `--trace-opt`, compiled about 420 functions between
 * its 5,000th and 25,000th primary-key lookup, and 46 over the 23,000 lookups that followed a
 * priming of 40,000 calls. Measured before, a figure says how fast a server warms up, not how fast
 * it serves; the same count for every server gives each the same start. The raw drivers run in the
 * load generator, a process each measurement starts afresh: they have only the warm-up before each
 * measurement, in which they answer tens of thousands of queries.
 */

export interface Priming {
  /** Calls each server answers before it is measured, over both engines (0: none). */
  calls: number;
  /** The calls it cycles through on each engine. */
  pg: readonly Call[];
  lite: readonly Call[];
}

const CLIENTS_PER_ENGINE = 8;

type ServerName = Exclude<SystemName, 'raw' | 'raw-read-only'>;

async function primeEngine(
  systems: Systems,
  name: ServerName,
  engine: Engine,
  calls: readonly Call[],
  count: number
): Promise<void> {
  const caller = await httpCaller(httpTarget(systems, name, engine, '2026-07-28'), CLIENTS_PER_ENGINE);
  try {
    await driveCalls(caller, calls, CLIENTS_PER_ENGINE, count);
  } catch (error) {
    throw new Error(`priming ${name} on ${engine}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error
    });
  } finally {
    await caller.close();
  }
}

/** Primes every server among `order`, one after another in that order. */
export async function primeSystems(systems: Systems, order: readonly SystemName[], priming: Priming): Promise<void> {
  if (priming.calls === 0) return;
  const onPg = Math.ceil(priming.calls / 2);
  for (const name of order) {
    if (name === 'raw' || name === 'raw-read-only') continue;
    await Promise.all([
      primeEngine(systems, name, 'postgres', priming.pg, onPg),
      primeEngine(systems, name, 'sqlite', priming.lite, priming.calls - onPg)
    ]);
  }
}
