import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { renderNginxSite } from '../../deploy/nginx/render.ts';
import { createPostgresDatabase, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import { emptyDir } from './data-dir.ts';
import { createNginxSandbox, startNginx, type RunningNginx } from './nginx.ts';
import { authorizationUrl, pkce, redeemCode, registerClient, type OAuthClient } from './oauth-client.ts';
import { signIn, type Credentials } from './oauth-login.ts';
import { deletePrefix, redisUrl, uniquePrefix } from './redis.ts';
import { startServer, type RunningServer } from './server-process.ts';

/**
 * A scaled-out deployment on loopback: Redis, two sqlbridge replicas (A and B) started from ONE configuration file
 * (as a Kubernetes ConfigMap would be mounted into both) with `auth.storage: redis://…`, each with a data directory
 * of its own, and nginx in front of both with the shipped site file (shared layout, round robin over the two). One
 * environment, `pg`, on a fresh PostgreSQL database. The replicas start first (port 0), nginx then with their ports;
 * their public URL is nginx's https origin, known beforehand from the sandbox's port.
 */

export interface ScaleOutUser extends Credentials {
  disabled?: boolean;
}

export interface ScaleOutOptions {
  /** A label for the Redis prefix and the directories. */
  label: string;
  users: ScaleOutUser[];
  /** SQL run on the fresh database. */
  sql?: string;
  grantCheckMs?: number;
  /** `environments.pg.rateLimits.toolCalls.perUser`, over a 600 s window; the server's default when undefined. */
  toolCallsPerUser?: number;
  /** `environments.pg.rateLimits.maxConcurrentQueriesPerUser` (counted per process). */
  maxConcurrentQueriesPerUser?: number;
  /** `environments.pg.database.pool.max` of each replica; 8 by default. */
  poolMax?: number;
  /** `auth.login.maxFailuresPerUser`. */
  maxFailuresPerUser?: number;
}

export interface Replica {
  name: 'A' | 'B';
  server: RunningServer;
  port: number;
  /** http://127.0.0.1:<port>: the replica itself, bypassing nginx. */
  baseUrl: string;
  dataDir: string;
}

export interface ScaleOut {
  /** https://localhost:<nginx port>: the URL clients use, and every replica's `server.publicUrl`. */
  publicOrigin: string;
  /** The certificate clients of nginx must trust. */
  ca: string;
  replicas: [Replica, Replica];
  /** The configuration file both replicas read. */
  configPath: string;
  nginx: RunningNginx;
  redisPrefix: string;
  databaseName: string;
  /** Rewrites the shared configuration file with these users (a changed ConfigMap); signals nobody. */
  writeConfig(users: ScaleOutUser[]): Promise<void>;
  /** Stops a replica (SIGTERM) and starts it again on the same port, so nginx's upstream stays valid. */
  restart(replica: Replica): Promise<Replica>;
  stop(): Promise<void>;
}

/** The port a server listens on (its log line; the base URL of one behind a public URL is not its own). */
export function portOf(server: RunningServer): number {
  const port = server.logs.find(entry => typeof entry['port'] === 'number')?.['port'];
  if (typeof port !== 'number') throw new Error('the server never said its port');
  return port;
}

function rateLimitLines(options: ScaleOutOptions): string[] {
  const limits: string[] = [];
  if (options.toolCallsPerUser !== undefined) {
    limits.push(`toolCalls: { perUser: { limit: ${String(options.toolCallsPerUser)}, windowSeconds: 600 } }`);
  }
  if (options.maxConcurrentQueriesPerUser !== undefined) {
    limits.push(`maxConcurrentQueriesPerUser: ${String(options.maxConcurrentQueriesPerUser)}`);
  }
  return limits.length === 0 ? [] : [`    rateLimits: { ${limits.join(', ')} }`];
}

async function configYaml(options: ScaleOutOptions, users: ScaleOutUser[], context: ConfigContext): Promise<string> {
  const userLines = await Promise.all(
    users.map(
      async user =>
        `    - { username: ${user.username}, passwordHash: "${await hashPassword(user.password)}", environments: [pg]${
          user.disabled === true ? ', disabled: true' : ''
        } }`
    )
  );
  return [
    'server:',
    `  publicUrl: ${context.publicOrigin}`,
    '  trustProxy: ["127.0.0.1"]',
    'environments:',
    '  pg:',
    `    database: ${postgresDatabaseYaml(context.databaseName, `, pool: { max: ${String(options.poolMax ?? 8)} }`)}`,
    ...rateLimitLines(options),
    'auth:',
    `  storage: "${redisUrl(context.redisPrefix)}"`,
    `  grantCheckMs: ${String(options.grantCheckMs ?? 1000)}`,
    ...(options.maxFailuresPerUser === undefined
      ? []
      : [`  login: { maxFailuresPerUser: ${String(options.maxFailuresPerUser)} }`]),
    '  users:',
    ...userLines,
    ''
  ].join('\n');
}

interface ConfigContext {
  publicOrigin: string;
  databaseName: string;
  redisPrefix: string;
}

/** Stops a replica unless it already ended (killed by a test: RunningServer.stop() would wait for an exit past). */
async function stopReplica(replica: Replica): Promise<void> {
  const child = replica.server.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  await replica.server.stop();
}

async function startReplica(name: Replica['name'], configPath: string, dataDir: string, port = 0): Promise<Replica> {
  const server = await startServer({ args: ['serve', '--config', configPath, '--data-dir', dataDir], port });
  const listening = portOf(server);
  return { name, server, port: listening, baseUrl: `http://127.0.0.1:${String(listening)}`, dataDir };
}

export async function deployReplicas(options: ScaleOutOptions): Promise<ScaleOut> {
  const sandbox = await createNginxSandbox();
  const publicOrigin = `https://localhost:${String(sandbox.httpsPort)}`;
  const redisPrefix = uniquePrefix(options.label);
  const database = await createPostgresDatabase(options.sql ?? 'CREATE TABLE t (id integer PRIMARY KEY)');
  const context: ConfigContext = { publicOrigin, databaseName: database.name, redisPrefix };
  const configDir = emptyDir(`scale-out-${options.label}-config-`);
  const configPath = join(configDir, 'sqlbridge.yaml');
  writeFileSync(configPath, await configYaml(options, options.users, context));
  const running: Replica[] = [];
  let nginx: RunningNginx | undefined;
  const stopAll = async (): Promise<void> => {
    await nginx?.stop();
    await Promise.all(running.map(replica => stopReplica(replica)));
    await deletePrefix(redisPrefix);
    await database.drop();
  };
  try {
    // One after the other: the first one creates the shared store key and signing keys in Redis.
    running.push(await startReplica('A', configPath, emptyDir(`scale-out-${options.label}-a-`)));
    running.push(await startReplica('B', configPath, emptyDir(`scale-out-${options.label}-b-`)));
    const site = renderNginxSite({
      layout: 'shared',
      serverName: 'localhost',
      environments: ['pg'],
      upstreams: running.map(replica => `127.0.0.1:${String(replica.port)}`),
      ...sandbox.siteOptions,
      listen: { ...sandbox.siteOptions.listen, httpPort: null },
      // A load test from one address must not meet nginx's per-address flood guard.
      rateLimits: { mcp: { rate: '100000r/s', burst: 100_000 }, oauth: { rate: '100000r/s', burst: 100_000 } }
    });
    nginx = await startNginx(sandbox, site);
  } catch (error) {
    await stopAll();
    throw error;
  }
  const deployment: ScaleOut = {
    publicOrigin,
    ca: sandbox.certificate.pem,
    replicas: [running[0]!, running[1]!],
    configPath,
    nginx,
    redisPrefix,
    databaseName: database.name,
    async writeConfig(users) {
      writeFileSync(configPath, await configYaml(options, users, context));
    },
    async restart(replica) {
      await stopReplica(replica);
      const again = await startReplica(replica.name, configPath, replica.dataDir, replica.port);
      const index = running.indexOf(replica);
      running[index] = again;
      deployment.replicas[index as 0 | 1] = again;
      return again;
    },
    stop: stopAll
  };
  return deployment;
}

/** The JSON log lines of a replica with this `msg`. */
export function logsWith(replica: Replica, msg: string): Record<string, unknown>[] {
  return replica.server.logs.filter(entry => entry['msg'] === msg);
}

/** How many requests `METHOD path` a replica has logged (its request log, one line per request). */
export function requestsLogged(replica: Replica, method: string, path: string): number {
  return logsWith(replica, 'request').filter(entry => entry['method'] === method && entry['path'] === path).length;
}

/** A client and its tokens, registered and authorized on one replica directly, for the deployment's public resource. */
export interface DirectGrant {
  client: OAuthClient;
  accessToken: string;
  refreshToken: string;
}

/**
 * Registers a public client (RFC 7591) on `replica` itself, signs `user` in through that replica's pages and redeems
 * the code there: every OAuth request reaches that one replica, none goes through nginx. The resource is the public
 * URL of `endpoint` (`mcp` or `sse`), as a client that found it through nginx would ask.
 */
export async function authorizeOn(
  replica: Replica,
  publicOrigin: string,
  user: Credentials,
  endpoint: 'mcp' | 'sse' = 'mcp'
): Promise<DirectGrant> {
  const client = await registerClient(replica.baseUrl, 'pg', 'none');
  if (client.answer.status !== 201) throw new Error(`registration answered ${client.answer.status}`);
  const { verifier, challenge } = pkce();
  const url = authorizationUrl(replica.baseUrl, 'pg', client, challenge);
  url.searchParams.set('resource', `${publicOrigin}/pg/${endpoint}`);
  const callback = await signIn(url, user, { publicOrigin });
  const code = callback.searchParams.get('code');
  if (code === null) throw new Error(`no code in ${callback.href}`);
  const tokens = await redeemCode(replica.baseUrl, 'pg', client, code, verifier);
  const { access_token: accessToken, refresh_token: refreshToken } = tokens.body;
  if (tokens.status !== 200 || typeof accessToken !== 'string' || typeof refreshToken !== 'string') {
    throw new Error(`the token endpoint answered ${tokens.status}: ${JSON.stringify(tokens.body)}`);
  }
  return { client, accessToken, refreshToken };
}
