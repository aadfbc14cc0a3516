import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PG_DATABASE, type PostgresServer } from './datasets.ts';
import { freePort, spawnServer, type SpawnedServer } from './spawned-server.ts';
import { ROW_CAP } from './workloads.ts';

/**
 * DBHub (`@bytebase/dbhub`), the peer users would otherwise pick, installed from the npm registry
 * at its latest version into a directory of the bench's own, and run with its HTTP transport on
 * the same data: two sources (`pg`, `lite`) in one process, each `execute_sql` read-only with the
 * same row cap as sqlbridge. Its configuration format is the TOML file of its documentation
 * (https://dbhub.ai/config/toml): `[[sources]]` with `id` and `dsn`, `[[tools]]` with `readonly`
 * and `max_rows`. With several sources its tools are named `execute_sql_<id>`.
 */

const run = promisify(execFile);

export interface DbhubServer extends SpawnedServer {
  version: string;
  url: string;
  tool(environment: 'pg' | 'lite'): string;
}

/** Installs (or updates to) the latest DBHub; its version. */
export async function installDbhub(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await run(
    'npm',
    ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error', '@bytebase/dbhub@latest'],
    {
      timeout: 600_000
    }
  );
  const manifest = JSON.parse(readFileSync(join(dir, 'node_modules/@bytebase/dbhub/package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

function toml(postgres: PostgresServer, sqlitePath: string): string {
  const pgDsn = `postgres://${postgres.user}@${postgres.host}:${postgres.port}/${PG_DATABASE}?sslmode=disable`;
  const source = (id: string, dsn: string): string[] => [
    '[[sources]]',
    `id = ${JSON.stringify(id)}`,
    `dsn = ${JSON.stringify(dsn)}`,
    '',
    '[[tools]]',
    'name = "execute_sql"',
    `source = ${JSON.stringify(id)}`,
    'readonly = true',
    `max_rows = ${ROW_CAP}`,
    ''
  ];
  return [...source('pg', pgDsn), ...source('lite', `sqlite://${sqlitePath}`)].join('\n');
}

/** Starts DBHub as `installDbhub` installed it into `dir` (its `version`). */
export async function startDbhub(options: {
  dir: string;
  version: string;
  postgres: PostgresServer;
  sqlitePath: string;
}): Promise<DbhubServer> {
  const { version } = options;
  const config = join(options.dir, 'dbhub.toml');
  writeFileSync(config, toml(options.postgres, options.sqlitePath));
  const port = await freePort();
  const entry = join(options.dir, 'node_modules/@bytebase/dbhub/dist/index.js');
  const server = await spawnServer(
    process.execPath,
    [entry, '--transport', 'http', '--host', '127.0.0.1', '--port', String(port), `--config=${config}`],
    {
      cwd: options.dir,
      env: { NODE_ENV: 'production' },
      readyWhen: line => (line.includes('MCP server endpoint at') ? `http://127.0.0.1:${port}` : undefined)
    }
  );
  return { ...server, version, url: `${server.baseUrl}/mcp`, tool: environment => `execute_sql_${environment}` };
}
