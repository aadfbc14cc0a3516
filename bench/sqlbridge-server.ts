import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../src/auth/server/passwords.ts';
import { PROJECT_ROOT, SQLBRIDGE_ENV, SQLBRIDGE_MAIN } from './build.ts';
import { PG_DATABASE, type PostgresServer } from './datasets.ts';
import type { HttpTarget } from './http-caller.ts';
import { bearerTokenFor } from './oauth-token.ts';
import { spawnServer, type SpawnedServer } from './spawned-server.ts';
import type { Era } from './workloads.ts';

/**
 * sqlbridge as it is run in production (`node dist/main.js serve --config …`, see build.ts), with the bench
 * configuration: a read-only PostgreSQL environment `pg` and a read-only SQLite environment
 * `lite` on the generated data, every tool-call rate limit off (the load would hit them by
 * design), 16 PostgreSQL connections (the highest concurrency measured). With OAuth on, a user
 * signs in through the real flow and the bench calls with the access tokens it was issued.
 */

const BENCH_USER = { username: 'bench', password: 'bench-correct-horse-battery-staple' };

export interface SqlbridgeServer extends SpawnedServer {
  /** The access token to send to each environment (OAuth on only; a token is bound to one environment). */
  bearers?: { pg: string; lite: string };
  url(environment: 'pg' | 'lite', transport: 'mcp' | 'sse'): string;
  /** Its `execute_sql` over Streamable HTTP in an environment, with that environment's token when OAuth is on. */
  target(environment: 'pg' | 'lite', era: Era): HttpTarget;
}

export interface SqlbridgeOptions {
  workDir: string;
  postgres: PostgresServer;
  /** The PostgreSQL database of the `pg` environment (default: the bench's own). */
  pgDatabase?: string;
  sqlitePath: string;
  oauth: boolean;
  maxStreams: number;
  /** The built server to start (default: dist/main.js, as `npm run bench` builds it). */
  main?: string;
  /** Options for `node` itself, before the server's script (`--node-flags`). */
  nodeFlags?: readonly string[];
  /** A program and its arguments that run Node with the server (e.g. valgrind), and how long the start may take then. */
  launcher?: { command: string; args: string[]; startTimeoutMs: number };
}

/** A JSON string is a valid YAML scalar, whatever it holds. */
const q = (value: string): string => JSON.stringify(value);

async function configYaml(options: SqlbridgeOptions): Promise<string> {
  const noLimits = '{ toolCalls: { perUser: null }, maxConcurrentQueriesPerUser: null }';
  const { host, port, user } = options.postgres;
  const lines = [
    `dataDir: ${q(join(options.workDir, 'data'))}`,
    'server:',
    '  host: 127.0.0.1',
    `  legacySse: { maxStreams: ${Math.max(1000, options.maxStreams + 100)}, maxStreamsPerUser: 1000 }`,
    'auth:',
    `  enabled: ${options.oauth}`
  ];
  if (options.oauth) {
    lines.push(
      '  accessTokenTtlSeconds: 86400',
      '  users:',
      `    - { username: ${BENCH_USER.username}, passwordHash: ${q(await hashPassword(BENCH_USER.password))}, environments: ["*"] }`
    );
  }
  lines.push(
    'environments:',
    '  pg:',
    `    database: { engine: postgres, host: ${q(host)}, port: ${port}, user: ${q(user)}, database: ${options.pgDatabase ?? PG_DATABASE}, tls: disable, pool: { max: 16 } }`,
    `    rateLimits: ${noLimits}`,
    '  lite:',
    `    database: { engine: sqlite, path: ${q(options.sqlitePath)} }`,
    `    rateLimits: ${noLimits}`,
    ''
  );
  return lines.join('\n');
}

/** The "is serving" log line: a JSON entry with the URL and port it listens on. */
export function servingUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (typeof entry['url'] === 'string' && typeof entry['port'] === 'number')
      return `http://127.0.0.1:${entry['port']}`;
  } catch {
    // not a JSON line
  }
  return undefined;
}

export async function startSqlbridge(options: SqlbridgeOptions): Promise<SqlbridgeServer> {
  const dir = join(options.workDir, options.oauth ? 'sqlbridge-oauth' : 'sqlbridge');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(config, await configYaml({ ...options, workDir: dir }));
  const node = [
    process.execPath,
    ...(options.nodeFlags ?? []),
    options.main ?? SQLBRIDGE_MAIN,
    'serve',
    '--config',
    config,
    '--port',
    '0'
  ];
  const { launcher } = options;
  const server = await spawnServer(
    launcher?.command ?? node[0]!,
    launcher === undefined ? node.slice(1) : [...launcher.args, ...node],
    {
      cwd: PROJECT_ROOT,
      env: SQLBRIDGE_ENV,
      readyWhen: servingUrl,
      ...(launcher === undefined ? {} : { timeoutMs: launcher.startTimeoutMs })
    }
  );
  const url = (environment: 'pg' | 'lite', transport: 'mcp' | 'sse'): string =>
    `${server.baseUrl}/${environment}/${transport}`;
  const targetWith =
    (bearers?: { pg: string; lite: string }) =>
    (environment: 'pg' | 'lite', era: Era): HttpTarget => ({
      url: url(environment, 'mcp'),
      tool: 'execute_sql',
      sqlArgument: 'query',
      era,
      ...(bearers === undefined ? {} : { bearer: bearers[environment] })
    });
  if (!options.oauth) return { ...server, url, target: targetWith() };
  try {
    const bearers = {
      pg: await bearerTokenFor(url('pg', 'mcp'), BENCH_USER),
      lite: await bearerTokenFor(url('lite', 'mcp'), BENCH_USER)
    };
    return { ...server, url, bearers, target: targetWith(bearers) };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * Runs `use` on a sqlbridge of its own (OAuth off, in `workDir/<name>`) that has served nothing
 * else, and stops it afterwards: figures of memory over time need a server no other workload has
 * grown.
 */
export async function withOwnSqlbridge<T>(
  options: Pick<SqlbridgeOptions, 'workDir' | 'postgres' | 'sqlitePath' | 'maxStreams' | 'nodeFlags'> & {
    name: string;
  },
  use: (server: SqlbridgeServer) => Promise<T>
): Promise<T> {
  const server = await startSqlbridge({
    workDir: join(options.workDir, options.name),
    postgres: options.postgres,
    sqlitePath: options.sqlitePath,
    oauth: false,
    maxStreams: options.maxStreams,
    ...(options.nodeFlags === undefined ? {} : { nodeFlags: options.nodeFlags })
  });
  try {
    return await use(server);
  } finally {
    await server.stop();
  }
}
