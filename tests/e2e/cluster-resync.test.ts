import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { auditFileIn, untilAuditFile } from '../helpers/audit-file.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { createPostgresDatabase, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import type { Credentials } from '../helpers/oauth-login.ts';
import { deletePrefix, REDIS_URL, redisUrl, uniquePrefix } from '../helpers/redis.ts';
import { authorizeOn, portOf, type Replica } from '../helpers/scale-out.ts';
import { runCli, startServer, type RunningServer } from '../helpers/server-process.ts';
import { killIfRunning } from '../helpers/shutdown.ts';
import { tcpRelay, type TcpRelay } from '../helpers/tcp-relay.ts';
import { callToolRaw } from '../helpers/tool-calls.ts';

/**
 * Two replicas on one Redis, replica B reaching it through a relay the test cuts: what the others
 * broadcast while B cannot hear (Redis pub/sub keeps nothing for a listener that is away) must not
 * be lost on B. During one outage: a user disabled with `sqlbridge admin`, another disabled in the
 * configuration file and reloaded with SIGHUP on A, and the signing keys rotated. Once B hears
 * again, it refuses both users' tokens and accepts tokens signed with the new key.
 */

const user = (username: string): Credentials => ({ username, password: `${username}-correct-horse-resync` });
const DAVE = user('dave');
const ZED = user('zed');
const ALICE = user('alice');
/**
 * Every replica's public URL: tokens name it, so both replicas accept the same tokens. It is A's own
 * address (the sign-in pages post to it), on a port chosen before A starts.
 */
let PUBLIC = '';

const prefix = uniquePrefix('resync');
const redis = new URL(REDIS_URL);
let relay: TcpRelay;
let dir: string;
let configA: string;
let configB: string;
let a: RunningServer;
let b: RunningServer;
let dataDirB: string;
let dropDatabase = async (): Promise<void> => undefined;

async function configYaml(storage: string, disabled: readonly string[]): Promise<string> {
  const lines = await Promise.all(
    [DAVE, ZED, ALICE].map(
      async who =>
        `    - { username: ${who.username}, passwordHash: "${await hashPassword(who.password)}", environments: [pg]${
          disabled.includes(who.username) ? ', disabled: true' : ''
        } }`
    )
  );
  return [
    'server:',
    `  publicUrl: ${PUBLIC}`,
    'environments:',
    '  pg:',
    `    database: ${postgresDatabaseYaml(databaseName)}`,
    'auth:',
    `  storage: "${storage}"`,
    '  grantCheckMs: 60000',
    '  users:',
    ...lines,
    ''
  ].join('\n');
}

let databaseName = '';
const storageA = (): string => redisUrl(prefix);
const storageB = (): string => {
  const url = new URL(redisUrl(prefix));
  url.host = `127.0.0.1:${String(relay.port)}`;
  return url.toString();
};

/** A replica's own address: a server's `baseUrl` is its public URL, here A's for both. */
const ownUrl = (server: RunningServer): string => `http://127.0.0.1:${String(portOf(server))}`;

const replica = (server: RunningServer): Replica => ({
  name: 'A',
  server,
  port: portOf(server),
  baseUrl: ownUrl(server),
  dataDir: ''
});

const status = async (server: RunningServer, token: string): Promise<number> =>
  (await callToolRaw(ownUrl(server), 'pg', 'list_tables', {}, { token })).status;

async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

/** A port nothing listens on now. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

beforeAll(async () => {
  const portA = await unusedPort();
  PUBLIC = `http://localhost:${String(portA)}`;
  relay = await tcpRelay(redis.hostname, redis.port === '' ? 6379 : Number(redis.port));
  const database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
  dropDatabase = database.drop;
  databaseName = database.name;
  dir = emptyDir('cluster-resync-');
  configA = join(dir, 'a.yaml');
  configB = join(dir, 'b.yaml');
  writeFileSync(configA, await configYaml(storageA(), []));
  writeFileSync(configB, await configYaml(storageB(), []));
  a = await startServer({
    args: ['serve', '--config', configA, '--data-dir', emptyDir('cluster-resync-a-')],
    port: portA
  });
  dataDirB = emptyDir('cluster-resync-b-');
  b = await startServer({ args: ['serve', '--config', configB, '--data-dir', dataDirB] });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([killIfRunning(a), killIfRunning(b)]);
  relay.close();
  await deletePrefix(prefix);
  await dropDatabase();
});

it('reads again on B, once it hears the others again, what it missed: users, configuration and keys', async () => {
  const dave = (await authorizeOn(replica(a), PUBLIC, DAVE)).accessToken;
  const zed = (await authorizeOn(replica(a), PUBLIC, ZED)).accessToken;
  for (const token of [dave, zed]) expect(await status(b, token)).toBe(200);

  relay.cut();
  const disabled = await runCli(['admin', 'disable-user', '--user', 'dave', '--config', configA]);
  expect(disabled.code, disabled.stderr).toBe(0);
  writeFileSync(configA, await configYaml(storageA(), ['zed']));
  writeFileSync(configB, await configYaml(storageB(), ['zed']));
  a.process.kill('SIGHUP');
  expect(await within(5000, async () => (await status(a, zed)) === 401)).toBe(true);
  const rotated = await runCli(['admin', 'rotate-keys', '--env', 'pg', '--config', configA]);
  expect(rotated.code, rotated.stderr).toBe(0);
  await a.logLine(line => line['msg'] === 'signing with the rotated keys');
  // A signs with the new key; B, not hearing, cannot know of it yet.
  const alice = (await authorizeOn(replica(a), PUBLIC, ALICE)).accessToken;
  expect(await status(a, alice)).toBe(200);
  expect(await status(a, dave)).toBe(401);

  relay.restore();
  expect(await within(10_000, async () => (await status(b, dave)) === 401)).toBe(true);
  expect(await within(10_000, async () => (await status(b, zed)) === 401)).toBe(true);
  expect(await within(10_000, async () => (await status(b, alice)) === 200)).toBe(true);

  const reloaded = await untilAuditFile(
    auditFileIn(dataDirB),
    records => records.some(record => record.event === 'config.loaded' && record.detail?.['trigger'] === 'resync'),
    10_000
  );
  expect(
    reloaded.filter((record: AuditRecord) => record.event === 'config.loaded').map(record => record.detail?.['trigger'])
  ).toContain('resync');
}, 90_000);
