import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { randomId } from '../dialects/engine.ts';
import { createPostgresDatabase, pgAdmin, POSTGRES } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { callTool, initializeStatus, type ToolAnswer } from '../helpers/mcp-connect.ts';
import {
  authorizationUrl,
  pkce,
  redeemCode,
  refresh,
  registerClient,
  revoke,
  type OAuthClient
} from '../helpers/oauth-client.ts';
import { CookieJar, signIn, type Credentials } from '../helpers/oauth-login.ts';
import { createPasswordRole, type PasswordRole } from '../helpers/postgres-password-role.ts';
import { filesUnder, findSecrets, searchForms, type Haystack } from '../helpers/secret-search.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { killIfRunning } from '../helpers/shutdown.ts';

/**
 * No secret at rest, none in the log. The real server over PostgreSQL, a login role that must send
 * its (known) password, a person with a known password, a pre-registered confidential client with a
 * known secret, and the audit trail written to its file, its SQLite table and the log. A whole
 * session: dynamic registration of confidential clients, a wrong password, sign-ins, codes redeemed
 * (once with a wrong client secret), tool calls (one the guard rejects, one the database fails),
 * refresh, a spent refresh token presented again (refused, and its grant revoked), revocation. Every
 * token, code, verifier, cookie and secret met on the way is kept; once the server has stopped,
 * every log line and every byte of every file in the data directory is searched for each of them,
 * raw and encoded. Nothing may be found, and a value planted in the data directory must be: the
 * search is shown to work before it is trusted to find nothing.
 */

const ENV = 'sales';
/** The same database, its password inside a URL. */
const URL_ENV = 'salesurl';
const suffix = randomId();
const ROLE = `sqlbridge_sar_${suffix}`;
const DB_PASSWORD = `dbpw-${randomBytes(18).toString('base64url')}`;
const ANA: Credentials = { username: 'ana', password: `ana-pw-${randomBytes(12).toString('base64url')}` };
const WRONG_PASSWORD = `ana-wrong-${randomBytes(12).toString('base64url')}`;
const STATIC_CLIENT: OAuthClient = {
  clientId: 'preregistered-reporting',
  clientSecret: `static-secret-${randomBytes(30).toString('base64url')}`,
  authMethod: 'client_secret_basic',
  redirectUri: 'http://127.0.0.1:9/reporting-callback'
};

let role: PasswordRole | undefined;
let dropDatabase: (() => Promise<void>) | undefined;
let server: RunningServer | undefined;
let dataDir = '';
let database = '';
/** The data directory's files read just before the server stopped. */
let whileRunning: Haystack[] = [];
/** Every secret met, by what it is. */
const secrets = new Map<string, string>();
/** What the session saw, for the assertions on its course. */
const seen = {
  registrations: [] as number[],
  wrongSignIn: '',
  wrongSecretAtCode: 0,
  wrongSecretAtPostCode: 0,
  calls: [] as { sql: string; answer: ToolAnswer }[],
  reusedRefresh: { status: 0, error: '' },
  afterReuse: { refresh: 0, mcp: 0 },
  afterRevocation: { revoke: 0, refresh: 0, mcp: 0 },
  staticCall: undefined as ToolAnswer | undefined,
  urlEnvironmentCall: undefined as ToolAnswer | undefined,
  exitCode: -1 as number | null
};

function keep(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length < 8)
    throw new Error(`${name}: expected a secret, got ${String(value)}`);
  secrets.set(name, value);
  return value;
}

/** The values of the authorization server's cookies a browser received (session, interaction, resume). */
function keepCookies(label: string, jar: CookieJar): void {
  for (const line of jar.received) {
    const [pair = ''] = line.split(';');
    const index = pair.indexOf('=');
    const name = pair.slice(0, index);
    const value = pair.slice(index + 1);
    const kind = /-(session|interaction|resume)$/.exec(name)?.[1];
    if (kind !== undefined && value !== '') secrets.set(`${kind} cookie (${label}, ${value.slice(0, 4)}…)`, value);
  }
}

async function withToken<T>(environment: string, token: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ name: 'secrets-at-rest', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(`${server?.baseUrl ?? ''}/${environment}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } }
  });
  await client.connect(transport);
  try {
    return await work(client);
  } finally {
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  }
}

/** The status the MCP endpoint answers an initialize with `token`. */
async function mcpStatus(token: string): Promise<number> {
  return initializeStatus(server?.baseUrl ?? '', ENV, token);
}

/** Signs `ANA` in for `client` and returns the code, keeping the code, the verifier and the cookies. */
async function authorizationCode(client: OAuthClient, label: string): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkce();
  keep(`PKCE verifier (${label})`, verifier);
  const jar = new CookieJar();
  const callback = await signIn(authorizationUrl(server?.baseUrl ?? '', ENV, client, challenge), ANA, { jar });
  keepCookies(label, jar);
  const code = keep(`authorization code (${label})`, callback.searchParams.get('code'));
  return { code, verifier };
}

function keepTokens(label: string, body: Record<string, unknown>): { access: string; refresh: string } {
  return {
    access: keep(`access token (${label})`, body['access_token']),
    refresh: keep(`refresh token (${label})`, body['refresh_token'])
  };
}

beforeAll(async () => {
  const created = await createPostgresDatabase(
    'CREATE TABLE deals (id integer PRIMARY KEY, amount numeric NOT NULL); INSERT INTO deals VALUES (1, 10), (2, 20), (3, 30)'
  );
  database = created.name;
  dropDatabase = created.drop;
  role = await createPasswordRole(ROLE, DB_PASSWORD);
  await pgAdmin(database, client => client.query(`GRANT SELECT ON deals TO ${ROLE}`));

  secrets.set('database password', DB_PASSWORD);
  secrets.set('user password', ANA.password);
  secrets.set('wrong password typed', WRONG_PASSWORD);
  secrets.set('pre-registered client secret', STATIC_CLIENT.clientSecret ?? '');

  dataDir = emptyDir('secrets-at-rest-data-');
  // The configuration holds the secrets by design: it lives outside the data directory searched.
  const configDir = emptyDir('secrets-at-rest-config-');
  const config = join(configDir, 'sqlbridge.yaml');
  const discrete = `{ engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${ROLE}, password: "${DB_PASSWORD}", database: ${database}, tls: disable }`;
  const url = `postgres://${ROLE}:${DB_PASSWORD}@${POSTGRES.host}:${POSTGRES.port}/${database}`;
  writeFileSync(
    config,
    [
      `dataDir: ${dataDir}`,
      // The most the server ever writes to its log.
      'logLevel: debug',
      'environments:',
      `  ${ENV}:`,
      `    database: ${discrete}`,
      `  ${URL_ENV}:`,
      `    database: { engine: postgres, url: "${url}", tls: disable }`,
      'auth:',
      '  grantCheckMs: 0',
      '  users:',
      `    - { username: ${ANA.username}, passwordHash: "${await hashPassword(ANA.password)}", environments: ["*"] }`,
      '  clients:',
      `    - { clientId: ${STATIC_CLIENT.clientId}, clientSecret: "${STATIC_CLIENT.clientSecret ?? ''}", redirectUris: ["${STATIC_CLIENT.redirectUri}"] }`,
      'audit:',
      '  log: true',
      '  database: { engine: sqlite }',
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config] });
  const base = server.baseUrl;

  // Two confidential clients register; each receives its secret once.
  const basic = await registerClient(base, ENV, 'client_secret_basic');
  const post = await registerClient(base, ENV, 'client_secret_post');
  seen.registrations = [basic.answer.status, post.answer.status];
  keep('registered client secret (client_secret_basic)', basic.clientSecret);
  keep('registered client secret (client_secret_post)', post.clientSecret);

  // A wrong password, then the right one; the code redeemed with a wrong client secret, then the right one.
  const { challenge } = pkce();
  seen.wrongSignIn = await signIn(authorizationUrl(base, ENV, basic, challenge), {
    username: ANA.username,
    password: WRONG_PASSWORD
  }).then(
    () => 'signed in',
    (error: unknown) => String(error)
  );
  const first = await authorizationCode(basic, 'first sign-in');
  seen.wrongSecretAtCode = (
    await redeemCode(base, ENV, basic, first.code, first.verifier, `${basic.clientSecret}x`)
  ).status;
  const issued = await redeemCode(base, ENV, basic, first.code, first.verifier);
  expect(issued.status, JSON.stringify(issued.body)).toBe(200);
  const tokens = keepTokens('first', issued.body);

  // Tool calls: two that work, one the guard rejects, one the database fails.
  await withToken(ENV, tokens.access, async client => {
    for (const sql of [
      'SELECT id, amount FROM deals ORDER BY id',
      'SELECT sum(amount) AS total FROM deals',
      'DELETE FROM deals',
      'SELECT no_such_column FROM deals'
    ]) {
      seen.calls.push({ sql, answer: await callTool(client, 'execute_sql', { query: sql }) });
    }
  });

  // Refresh (the token rotates), then the spent one again: refused, and the grant revoked with it.
  const refreshed = await refresh(base, ENV, basic, tokens.refresh);
  expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
  const rotated = keepTokens('refreshed', refreshed.body);
  const reused = await refresh(base, ENV, basic, tokens.refresh);
  seen.reusedRefresh = { status: reused.status, error: String(reused.body['error']) };
  seen.afterReuse = {
    refresh: (await refresh(base, ENV, basic, rotated.refresh)).status,
    mcp: await mcpStatus(rotated.access)
  };

  // A new sign-in, by the client authenticating with client_secret_post; then revocation.
  const second = await authorizationCode(post, 'second sign-in');
  seen.wrongSecretAtPostCode = (await redeemCode(base, ENV, post, second.code, second.verifier, 'x'.repeat(86))).status;
  const again = await redeemCode(base, ENV, post, second.code, second.verifier);
  expect(again.status, JSON.stringify(again.body)).toBe(200);
  const secondTokens = keepTokens('second', again.body);
  await withToken(ENV, secondTokens.access, async client => {
    const sql = 'SELECT count(*) AS n FROM deals';
    seen.calls.push({ sql, answer: await callTool(client, 'execute_sql', { query: sql }) });
  });
  seen.afterRevocation.revoke = await revoke(base, ENV, post, secondTokens.refresh, 'refresh_token');
  seen.afterRevocation.refresh = (await refresh(base, ENV, post, secondTokens.refresh)).status;
  seen.afterRevocation.mcp = await mcpStatus(secondTokens.access);

  // The pre-registered client, with its configured secret.
  const third = await authorizationCode(STATIC_CLIENT, 'pre-registered client');
  const staticTokens = await redeemCode(base, ENV, STATIC_CLIENT, third.code, third.verifier);
  expect(staticTokens.status, JSON.stringify(staticTokens.body)).toBe(200);
  const staticAccess = keepTokens('pre-registered client', staticTokens.body).access;
  seen.staticCall = await withToken(ENV, staticAccess, client =>
    callTool(client, 'execute_sql', { query: 'SELECT max(amount) AS top FROM deals' })
  );

  // The environment whose password is inside a URL serves too (its own authorization server).
  const urlClient = await registerClient(base, URL_ENV, 'client_secret_basic');
  keep('registered client secret (URL environment)', urlClient.clientSecret);
  const { verifier, challenge: urlChallenge } = pkce();
  keep('PKCE verifier (URL environment)', verifier);
  const jar = new CookieJar();
  const callback = await signIn(authorizationUrl(base, URL_ENV, urlClient, urlChallenge), ANA, { jar });
  keepCookies('URL environment', jar);
  const urlCode = keep('authorization code (URL environment)', callback.searchParams.get('code'));
  const urlTokens = await redeemCode(base, URL_ENV, urlClient, urlCode, verifier);
  const urlAccess = keepTokens('URL environment', urlTokens.body).access;
  seen.urlEnvironmentCall = await withToken(URL_ENV, urlAccess, client =>
    callTool(client, 'execute_sql', { query: 'SELECT min(amount) AS low FROM deals' })
  );

  // The files as a backup taken now would copy them: the SQLite WALs and shared memory still open.
  whileRunning = filesUnder(dataDir).map(file => ({ ...file, name: `${file.name} (while serving)` }));
  seen.exitCode = await server.stop();
}, 180_000);

afterAll(async () => {
  if (server !== undefined) await killIfRunning(server);
  await dropDatabase?.();
  await role?.drop();
}, 60_000);

describe('the session', () => {
  it('connected with the database password, which the database required', async () => {
    expect(await role?.canConnect(undefined, database)).toBe(false);
    expect(await role?.canConnect(`${DB_PASSWORD}x`, database)).toBe(false);
    expect(await role?.canConnect(DB_PASSWORD, database)).toBe(true);
    // sqlbridge's own statements ran as the role: the calls answered from the table.
    expect(seen.calls[0]?.answer.isError).toBe(false);
    expect(seen.calls[0]?.answer.text).toContain('30');
    expect(seen.urlEnvironmentCall?.isError).toBe(false);
  });

  it('went as a session goes: registrations, refusals, tokens, calls, replay and revocation', () => {
    expect(seen.registrations).toEqual([201, 201]);
    expect(seen.wrongSignIn).toMatch(/answered 401/);
    expect(seen.wrongSecretAtCode).toBe(401);
    expect(seen.wrongSecretAtPostCode).toBe(401);
    expect(seen.calls.map(call => call.answer.isError)).toEqual([false, false, true, true, false]);
    expect(seen.calls[2]?.answer.text).toContain('not allowed in a read-only environment');
    expect(seen.calls[3]?.answer.text).toMatch(/no_such_column/);
    expect(seen.reusedRefresh).toEqual({ status: 400, error: 'invalid_grant' });
    expect(seen.afterReuse).toEqual({ refresh: 400, mcp: 401 });
    expect(seen.afterRevocation).toEqual({ revoke: 200, refresh: 400, mcp: 401 });
    expect(seen.staticCall?.isError).toBe(false);
    expect(seen.exitCode).toBe(0);
  });

  it('left the files a data directory holds, the audit trail in each of its sinks', () => {
    const names = filesUnder(dataDir).map(file => file.name);
    expect(names).toEqual(
      expect.arrayContaining(['auth/auth.sqlite', 'auth/store.key', `auth/${ENV}.keys.json`, 'audit/audit.sqlite'])
    );
    expect(names.some(name => /^audit\/audit.*\.jsonl$/.test(name))).toBe(true);
    const audit = new DatabaseSync(join(dataDir, 'audit', 'audit.sqlite'), { readOnly: true });
    const events = (audit.prepare('SELECT event FROM sqlbridge_audit').all() as { event: string }[]).map(
      row => row.event
    );
    audit.close();
    expect(events).toEqual(
      expect.arrayContaining(['token.issued', 'token.refresh_reused', 'query.rejected', 'query.failed'])
    );
    expect(server?.logs.filter(line => line['msg'] === 'audit').length).toBe(events.length);
  });
});

describe('the search', () => {
  it('finds nothing of any secret in the log or the data directory (and finds one planted there)', () => {
    // Something of every kind was met, so every kind is searched for.
    for (const kind of [
      'database password',
      'user password',
      'wrong password typed',
      'pre-registered client secret',
      'registered client secret',
      'PKCE verifier',
      'authorization code',
      'access token',
      'refresh token',
      'session cookie',
      'interaction cookie',
      'resume cookie'
    ]) {
      expect(
        [...secrets.keys()].some(name => name.startsWith(kind)),
        kind
      ).toBe(true);
    }
    // Planted first, each secret in each form, in a scratch file of the data directory: all found.
    const scratchDir = join(dataDir, 'scratch');
    mkdirSync(scratchDir);
    for (const [name, value] of secrets) {
      for (const form of searchForms(value)) {
        const planted = join(scratchDir, 'planted.bin');
        writeFileSync(planted, Buffer.concat([randomBytes(5), form.bytes, randomBytes(5)]));
        const hits = findSecrets(new Map([[name, value]]), filesUnder(dataDir));
        expect(hits, `${name} planted ${form.encoding}`).toContainEqual({
          secret: name,
          encoding: form.encoding,
          where: 'scratch/planted.bin'
        });
      }
      // And encoded as part of something bigger, at every alignment.
      for (let offset = 0; offset < 3; offset++) {
        const planted = join(scratchDir, 'planted.txt');
        const inside = Buffer.concat([randomBytes(offset + 3), Buffer.from(value), randomBytes(4)]);
        writeFileSync(planted, `{"blob":"${inside.toString('base64')}"}`);
        expect(findSecrets(new Map([[name, value]]), filesUnder(dataDir)), `${name} inside base64`).not.toEqual([]);
      }
    }
    rmSync(scratchDir, { recursive: true });

    const files = [...whileRunning, ...filesUnder(dataDir)];
    expect(whileRunning.map(file => file.name)).toContain('auth/auth.sqlite-wal (while serving)');
    const logs: Haystack[] = [
      { name: 'stderr (every log line)', bytes: Buffer.from(server?.stderr() ?? '', 'utf8') },
      { name: 'stdout', bytes: Buffer.from(server?.stdout() ?? '', 'utf8') }
    ];
    const report = [...secrets].map(([name, value]) => ({
      secret: name,
      length: value.length,
      forms: searchForms(value)
        .map(form => form.encoding)
        .join(', '),
      searched: `${logs.map(log => `${log.name} ${log.bytes.length} B`).join(', ')}; ${files.length} files: ${files.map(file => `${file.name} ${file.bytes.length} B`).join(', ')}`
    }));
    console.log(JSON.stringify(report, null, 2));
    expect(server?.logs.length).toBeGreaterThan(50);
    expect(findSecrets(secrets, files)).toEqual([]);
    // The interaction ids (the interaction and resume cookies) are among them: the request log shows
    // the sign-in pages' paths without them.
    expect([...secrets.keys()].filter(name => INTERACTION_ID.test(name)).length).toBeGreaterThan(0);
    expect(findSecrets(secrets, logs)).toEqual([]);
  });
});

const INTERACTION_ID = /^(interaction|resume) cookie/;
