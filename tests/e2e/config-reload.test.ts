import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredOAuthTokens } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createPostgresDatabase, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import { auditFileIn, untilAuditFile } from '../helpers/audit-file.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import type { Credentials } from '../helpers/oauth-login.ts';
import { runCli, startServer, type RunningServer } from '../helpers/server-process.ts';
import { tokensFor } from '../helpers/sse.ts';

/**
 * Reloading the configuration of a running server with SIGHUP: a user disabled in the file is
 * refused at once (their token, while others' keep working), a user added can sign in, a file that
 * no longer loads changes nothing and is reported, and a change that needs a restart is named.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const BOB: Credentials = { username: 'bob', password: 'bob-correct-horse-battery' };
const CAROL: Credentials = { username: 'carol', password: 'carol-correct-horse-battery' };

let server: RunningServer;
let dir: string;
let configPath: string;
let dropDatabase: () => Promise<void> = async () => undefined;
let lines: (users: string[], extra?: string[]) => string;
let hashes: Record<string, string>;

beforeAll(async () => {
  dir = emptyDir('config-reload-');
  const database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1)');
  dropDatabase = database.drop;
  hashes = {
    alice: await hashPassword(ALICE.password),
    bob: await hashPassword(BOB.password),
    carol: await hashPassword(CAROL.password)
  };
  lines = (users, extra = []) =>
    [
      'environments:',
      '  pg:',
      `    database: ${postgresDatabaseYaml(database.name)}`,
      ...extra,
      'auth:',
      '  grantCheckMs: 60000',
      '  users:',
      ...users,
      ''
    ].join('\n');
  configPath = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    configPath,
    lines([
      `    - { username: alice, passwordHash: "${hashes['alice']}", environments: [pg] }`,
      `    - { username: bob, passwordHash: "${hashes['bob']}", environments: [pg] }`
    ])
  );
  server = await startServer({ args: ['serve', '--config', configPath, '--data-dir', dir] });
}, 60_000);

afterAll(async () => {
  await server.stop();
  await dropDatabase();
});

async function pingStatus(tokens: StoredOAuthTokens): Promise<number> {
  const response = await fetch(`${server.baseUrl}/pg/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      authorization: `Bearer ${tokens.access_token}`
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
  });
  await response.body?.cancel();
  return response.status;
}

/** Sends SIGHUP and waits for the server's log line about it (the nth such line). */
async function hangUp(message: string, count: number): Promise<Record<string, unknown>> {
  server.process.kill('SIGHUP');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = server.logs.filter(entry => entry['msg'] === message);
    if (found.length >= count) return found[count - 1] ?? {};
    if (Date.now() > deadline) throw new Error(`no "${message}" log line:\n${server.stderr()}`);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

it('disables a user at once, keeps the others, and lets a user added to the file sign in', async () => {
  const alice = await tokensFor(`${server.baseUrl}/pg/mcp`, ALICE);
  const bob = await tokensFor(`${server.baseUrl}/pg/mcp`, BOB);
  expect(await pingStatus(alice)).toBe(200);
  await expect(tokensFor(`${server.baseUrl}/pg/mcp`, CAROL)).rejects.toThrow();

  writeFileSync(
    configPath,
    lines([
      `    - { username: alice, passwordHash: "${hashes['alice']}", environments: [pg], disabled: true }`,
      `    - { username: bob, passwordHash: "${hashes['bob']}", environments: [pg] }`,
      `    - { username: carol, passwordHash: "${hashes['carol']}", environments: [pg] }`
    ])
  );
  const reloaded = await hangUp('configuration reloaded', 1);
  expect(reloaded).toMatchObject({ trigger: 'SIGHUP', users: 3 });
  // grantCheckMs is a minute: the refusal comes from the reloaded users, not from an expired cache.
  expect(await pingStatus(alice)).toBe(401);
  expect(await pingStatus(bob)).toBe(200);
  await expect(tokensFor(`${server.baseUrl}/pg/mcp`, ALICE)).rejects.toThrow();
  const carol = await tokensFor(`${server.baseUrl}/pg/mcp`, CAROL);
  expect(await pingStatus(carol)).toBe(200);
  expect(server.process.exitCode).toBeNull();
}, 60_000);

it('keeps serving as it was when the file no longer loads, and names what needs a restart', async () => {
  const bob = await tokensFor(`${server.baseUrl}/pg/mcp`, BOB);
  const before = readFileSync(configPath, 'utf8');
  writeFileSync(configPath, `${before}\nlogLevel: loudest\n`);
  const refused = await hangUp(
    'configuration not reloaded: it does not load; the server carries on with the one it has',
    1
  );
  expect(String(refused['problem'])).toContain('logLevel');
  expect(await pingStatus(bob)).toBe(200);

  writeFileSync(configPath, before.replace('environments:\n  pg:\n', 'environments:\n  pg:\n    readOnly: false\n'));
  await hangUp('configuration reloaded', 2);
  const warning = server.logs.find(entry => Array.isArray(entry['settings']));
  expect(warning?.['settings']).toEqual(['environments.pg.readOnly']);
  expect(await pingStatus(bob)).toBe(200);

  const loads = (records: AuditRecord[]): AuditRecord[] => records.filter(record => record.event === 'config.loaded');
  const records = loads(await untilAuditFile(auditFileIn(dir), all => loads(all).length >= 4));
  expect(records.map(record => [record.outcome, record.detail?.['trigger']])).toEqual([
    ['ok', undefined],
    ['ok', 'SIGHUP'],
    ['failed', 'SIGHUP'],
    ['ok', 'SIGHUP']
  ]);
}, 60_000);

it('signs with keys rotated in the data directory once told with SIGHUP, and still accepts tokens signed before', async () => {
  const kid = (jwt: string): unknown =>
    (JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: unknown }).kid;
  const before = await tokensFor(`${server.baseUrl}/pg/mcp`, BOB);
  const rotated = await runCli(['rotate-keys', '--config', configPath, '--data-dir', dir]);
  expect(rotated, rotated.stderr).toMatchObject({ code: 0 });
  const newKid = /new signing key ([\w-]{43})/.exec(rotated.stdout)?.[1];
  expect(newKid).toBeDefined();
  // Until told, the server signs with the key it has.
  expect(kid((await tokensFor(`${server.baseUrl}/pg/mcp`, BOB)).access_token)).toBe(kid(before.access_token));
  server.process.kill('SIGHUP');
  await server.logLine(entry => entry['msg'] === 'signing with the rotated keys', { timeoutMs: 10_000 });
  const after = await tokensFor(`${server.baseUrl}/pg/mcp`, BOB);
  expect(kid(after.access_token)).toBe(newKid);
  expect(await pingStatus(after)).toBe(200);
  expect(await pingStatus(before)).toBe(200);
}, 60_000);

const reloads = (): number => server.logs.filter(entry => entry['msg'] === 'configuration reloaded').length;
const endedLine = (entry: Record<string, unknown>): boolean =>
  entry['msg'] === 'the grants of users no longer configured ended';
const userRemoved = (user: string) => (record: AuditRecord) =>
  record.event === 'grant.revoked' && record.user === user && record.detail?.['reason'] === 'user_removed';

it('ends the grants of a user removed from the file: configured again under that name, the old tokens stay refused', async () => {
  const current = readFileSync(configPath, 'utf8');
  const old = await tokensFor(`${server.baseUrl}/pg/mcp`, CAROL);
  expect(await pingStatus(old)).toBe(200);
  const from = server.logs.length;
  writeFileSync(configPath, current.replace(/^ {4}- \{ username: carol, .*\n/m, ''));
  await hangUp('configuration reloaded', reloads() + 1);
  expect(await pingStatus(old)).toBe(401);
  const ended = await server.logLine(endedLine, { from, timeoutMs: 10_000 });
  expect(ended['grants']).toBeGreaterThanOrEqual(1);
  const records = await untilAuditFile(auditFileIn(dir), all => all.some(userRemoved('carol')));
  expect(records.filter(userRemoved('carol')).every(record => record.environment === 'pg')).toBe(true);

  // Someone else given the name later does not inherit what was issued to the one removed.
  writeFileSync(configPath, current);
  await hangUp('configuration reloaded', reloads() + 1);
  expect(await pingStatus(old)).toBe(401);
  const fresh = await tokensFor(`${server.baseUrl}/pg/mcp`, CAROL);
  expect(await pingStatus(fresh)).toBe(200);
  // Users still configured keep theirs.
  const bob = await tokensFor(`${server.baseUrl}/pg/mcp`, BOB);
  expect(await pingStatus(bob)).toBe(200);
}, 60_000);

it('ends, at its next start, the grants of a user removed from the file while it was stopped', async () => {
  const current = readFileSync(configPath, 'utf8');
  const old = await tokensFor(`${server.baseUrl}/pg/mcp`, CAROL);
  expect(await pingStatus(old)).toBe(200);
  expect(await server.stop()).toBe(0);
  writeFileSync(configPath, current.replace(/^ {4}- \{ username: carol, .*\n/m, ''));
  server = await startServer({ args: ['serve', '--config', configPath, '--data-dir', dir] });
  await server.logLine(endedLine, { timeoutMs: 10_000 });
  writeFileSync(configPath, current);
  await hangUp('configuration reloaded', reloads() + 1);
  expect(await pingStatus(old)).toBe(401);
  expect(await pingStatus(await tokensFor(`${server.baseUrl}/pg/mcp`, BOB))).toBe(200);
}, 60_000);

it('applies nothing of a file a server could not start with (an empty one): every user and grant stays', async () => {
  const current = readFileSync(configPath, 'utf8');
  const bob = await tokensFor(`${server.baseUrl}/pg/mcp`, BOB);
  const notReloaded = 'configuration not reloaded: it does not load; the server carries on with the one it has';
  const refusals = (): number => server.logs.filter(entry => entry['msg'] === notReloaded).length;
  writeFileSync(configPath, '');
  const refused = await hangUp(notReloaded, refusals() + 1);
  expect(String(refused['problem'])).toContain('no environment is configured');
  expect(await pingStatus(bob)).toBe(200);
  // Nothing was ended meanwhile: with the file back, the same token still works.
  writeFileSync(configPath, current);
  await hangUp('configuration reloaded', reloads() + 1);
  expect(await pingStatus(bob)).toBe(200);
}, 60_000);
