import { join } from 'node:path';
import { PG_DATABASE, type PostgresServer } from './datasets.ts';
import { startDbhub, type DbhubServer } from './dbhub.ts';
import type { HttpTarget } from './http-caller.ts';
import type { LoadJob } from './load.ts';
import type { SystemName } from './options.ts';
import { startSqlbridge, type SqlbridgeOptions, type SqlbridgeServer } from './sqlbridge-server.ts';
import type { Engine, Era, Workload } from './workloads.ts';

/**
 * The systems compared, started once for the whole run and all kept up while it alternates
 * between them, and how each one is given a workload: over HTTP to a server, or to the driver.
 */

export interface Systems {
  sqlbridge?: SqlbridgeServer;
  sqlbridgeOauth?: SqlbridgeServer;
  dbhub?: DbhubServer;
  postgres: PostgresServer;
  sqlitePath: string;
  stop(): Promise<void>;
}

/**
 * Starts the servers among `names`, in that order (the raw drivers need none). DBHub must have been
 * installed into `<workDir>/dbhub` (`installDbhub`), as `dbhubVersion`. `main` and `pgDatabase` are
 * sqlbridge's (see SqlbridgeOptions); DBHub and the raw drivers use the bench's database.
 */
export async function startSystems(
  names: readonly SystemName[],
  options: Pick<
    SqlbridgeOptions,
    'workDir' | 'postgres' | 'pgDatabase' | 'sqlitePath' | 'maxStreams' | 'main' | 'nodeFlags'
  > & {
    dbhubVersion?: string;
  }
): Promise<Systems> {
  const { dbhubVersion, ...common } = options;
  const started: { stop(): Promise<void> }[] = [];
  const systems: Systems = {
    postgres: options.postgres,
    sqlitePath: options.sqlitePath,
    async stop() {
      await Promise.all(started.map(server => server.stop()));
    }
  };
  try {
    for (const name of names) {
      if (name === 'sqlbridge') started.push((systems.sqlbridge = await startSqlbridge({ ...common, oauth: false })));
      if (name === 'sqlbridge-oauth')
        started.push((systems.sqlbridgeOauth = await startSqlbridge({ ...common, oauth: true })));
      if (name === 'dbhub') {
        if (dbhubVersion === undefined) throw new Error('DBHub is not installed (installDbhub)');
        const dir = join(options.workDir, 'dbhub');
        started.push(
          (systems.dbhub = await startDbhub({
            dir,
            version: dbhubVersion,
            postgres: options.postgres,
            sqlitePath: options.sqlitePath
          }))
        );
      }
    }
  } catch (error) {
    await systems.stop();
    throw error;
  }
  return systems;
}

/** The server process a system's figures are measured on (none for the raw driver). */
export function serverPid(systems: Systems, name: SystemName): number | undefined {
  if (name === 'sqlbridge') return systems.sqlbridge?.pid;
  if (name === 'sqlbridge-oauth') return systems.sqlbridgeOauth?.pid;
  if (name === 'dbhub') return systems.dbhub?.pid;
  return undefined;
}

export function loadJob(
  systems: Systems,
  name: SystemName,
  workload: Workload,
  timing: { durationMs: number; warmupMs: number }
): LoadJob {
  const base = {
    calls: workload.calls,
    capped: workload.capped === true,
    concurrency: workload.concurrency,
    ...timing
  };
  if (name === 'raw' || name === 'raw-read-only') {
    return {
      ...base,
      kind: 'raw',
      raw: {
        engine: workload.engine,
        postgres: { ...systems.postgres, database: PG_DATABASE },
        sqlitePath: systems.sqlitePath,
        readOnlyTransaction: name === 'raw-read-only'
      }
    };
  }
  return { ...base, kind: 'http', http: httpTarget(systems, name, workload.engine, workload.era) };
}

/** How a server among the systems is called on an engine's data: its SQL tool over Streamable HTTP. */
export function httpTarget(
  systems: Systems,
  name: Exclude<SystemName, 'raw' | 'raw-read-only'>,
  engine: Engine,
  era: Era
): HttpTarget {
  const environment = engine === 'postgres' ? 'pg' : 'lite';
  if (name === 'dbhub') {
    const dbhub = systems.dbhub!;
    return { url: dbhub.url, tool: dbhub.tool(environment), sqlArgument: 'sql', era };
  }
  return (name === 'sqlbridge' ? systems.sqlbridge! : systems.sqlbridgeOauth!).target(environment, era);
}
