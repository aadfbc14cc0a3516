import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientSummary, GrantSummary, UserSummary } from '../../src/admin/admin-types.ts';
import type { AuditRecord } from '../../src/audit/record.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import {
  authorizationUrl,
  pkce,
  redeemCode,
  refresh,
  registerClient,
  type OAuthClient
} from '../helpers/oauth-client.ts';
import { jwtClaims, signIn, type Credentials } from '../helpers/oauth-login.ts';
import { runCli, startServer, type CliResult, type RunningServer } from '../helpers/server-process.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * `sqlbridge admin …` as a script runs it: a process of its own against the data directory of a
 * running server (SQLite store) whose clients and grants were made through the real registration,
 * sign-in and consent. What it changes is checked where it matters (the running server's token
 * endpoint and MCP endpoint, which checks grants on every call here: `grantCheckMs: 0`), and so are
 * its exit codes: 0 done, 1 not found, 2 bad usage naming the argument.
 */

const BOB: Credentials = { username: 'bob', password: 'bob-correct-horse-battery' };
const ENV = 'lab';

let server: RunningServer;
let configFile: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = emptyDir('admin-cli-');
  const database = createSqliteFixture();
  configFile = join(dataDir, 'sqlbridge.yaml');
  writeFileSync(
    configFile,
    [
      'environments:',
      `  ${ENV}: { database: { engine: sqlite, path: ${JSON.stringify(database)} } }`,
      'auth:',
      '  grantCheckMs: 0',
      '  clients:',
      '    - { clientId: configured-app, name: Configured app, redirectUris: ["https://app.example.com/cb"] }',
      '  users:',
      `    - { username: bob, passwordHash: "${await hashPassword(BOB.password)}", environments: [${ENV}], scopes: [sql:read] }`,
      `    - { username: former, environments: [${ENV}], scopes: [sql:read], disabled: true }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', configFile, '--data-dir', dataDir] });
}, 60_000);

afterAll(async () => {
  await server.stop();
});

const admin = async (...args: string[]): Promise<CliResult> =>
  runCli(['admin', ...args, '--config', configFile, '--data-dir', dataDir]);

/** What a successful `--json` run printed. */
const json = (result: CliResult): unknown => {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
};

interface Tokens {
  client: OAuthClient;
  accessToken: string;
  refreshToken: string;
  grantId: string;
}

async function grant(): Promise<Tokens> {
  const client = await registerClient(server.baseUrl, ENV, 'none');
  const { verifier, challenge } = pkce();
  const callback = await signIn(
    authorizationUrl(server.baseUrl, ENV, client, challenge, 'sql:read offline_access'),
    BOB
  );
  const tokens = await redeemCode(server.baseUrl, ENV, client, callback.searchParams.get('code') ?? '', verifier);
  expect(tokens.status).toBe(200);
  const accessToken = String(tokens.body['access_token']);
  return {
    client,
    accessToken,
    refreshToken: String(tokens.body['refresh_token']),
    grantId: String(jwtClaims(accessToken)['gid'])
  };
}

/** The MCP endpoint's answer to the token: 401 once its grant is gone. */
async function mcpStatus(token: string): Promise<number> {
  const response = await fetch(`${server.baseUrl}/${ENV}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream'
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
  });
  await response.arrayBuffer();
  return response.status;
}

describe('sqlbridge admin', () => {
  it('lists clients, grants and users, as tables and as JSON', async () => {
    const tokens = await grant();
    const clients = json(await admin('clients', '--json')) as ClientSummary[];
    expect(clients.find(c => c.clientId === tokens.client.clientId)).toMatchObject({
      environment: ENV,
      kind: 'dynamic',
      redirectHosts: ['127.0.0.1:9']
    });
    expect(clients.find(c => c.clientId === 'configured-app')).toMatchObject({ kind: 'static' });
    const grants = json(await admin('grants', '--user', 'bob', '--json')) as GrantSummary[];
    expect(grants.map(g => g.grantId)).toContain(tokens.grantId);
    const users = json(await admin('users', '--json')) as UserSummary[];
    expect(users.find(u => u.username === 'bob')).toMatchObject({ disabled: false, origin: 'config' });

    const table = await admin('grants', '--env', ENV, `--client=${tokens.client.clientId}`);
    expect(table.code).toBe(0);
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ENV\s+GRANT\s+USER\s+CLIENT/);
    expect(row?.split(/\s{2,}/).slice(0, 4)).toEqual([ENV, tokens.grantId, 'bob', tokens.client.clientId]);
    expect(rest).toEqual([]);
    expect((await admin('users')).stdout).toMatch(/^bob\s+-\s+config\s+active/m);
  });

  it('revokes a grant: the running server refuses its token on the next call', async () => {
    const tokens = await grant();
    expect(await mcpStatus(tokens.accessToken)).not.toBe(401);
    expect(json(await admin('revoke-grant', `--grant=${tokens.grantId}`, '--json')) as { revoked: boolean }).toEqual({
      revoked: true,
      environment: ENV,
      grantId: tokens.grantId
    });
    expect(await mcpStatus(tokens.accessToken)).toBe(401);
    expect((await refresh(server.baseUrl, ENV, tokens.client, tokens.refreshToken)).body['error']).toBe(
      'invalid_grant'
    );
    const again = await admin('revoke-grant', `--grant=${tokens.grantId}`);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`there is no grant ${tokens.grantId}`);
  });

  it('deletes a client: it cannot refresh any more; a configured client is refused', async () => {
    const tokens = await grant();
    const deleted = await admin('delete-client', `--client=${tokens.client.clientId}`);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`${ENV}: client ${tokens.client.clientId} deleted`);
    expect(await mcpStatus(tokens.accessToken)).toBe(401);
    const refreshed = await refresh(server.baseUrl, ENV, tokens.client, tokens.refreshToken);
    expect(refreshed.body['error']).toBe('invalid_client');
    expect((await admin('delete-client', `--client=${tokens.client.clientId}`)).code).toBe(1);
    const configured = await admin('delete-client', '--client', 'configured-app');
    expect(configured.code).toBe(2);
    expect(configured.stderr).toContain('--client: configured-app is configured in auth.clients');
  });

  it('disables and enables a user; an unknown user is not found', async () => {
    expect((await admin('disable-user', '--user', 'bob')).stdout).toContain('bob: disabled');
    expect((json(await admin('users', '--json')) as UserSummary[]).find(u => u.username === 'bob')?.disabled).toBe(
      true
    );
    expect((await admin('enable-user', '--user', 'BOB')).stdout).toContain('BOB: enabled');
    expect((json(await admin('users', '--json')) as UserSummary[]).find(u => u.username === 'bob')?.disabled).toBe(
      false
    );
    const unknown = await admin('disable-user', '--user', 'nobody');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('there is no user nobody');
  });

  it('refuses to enable a user the configuration disables, and records nothing', async () => {
    const refused = await admin('enable-user', '--user', 'former');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'former is disabled in the configuration (auth.users, disabled: true); enable them there and reload the configuration (SIGHUP)'
    );
    expect((json(await admin('users', '--json')) as UserSummary[]).find(u => u.username === 'former')?.disabled).toBe(
      true
    );
  });

  it('rotates the signing keys', async () => {
    expect(json(await admin('rotate-keys', '--env', ENV, '--json')) as { rotated: string[] }).toEqual({
      rotated: [ENV]
    });
  });

  it('shows every admin action in the audit trail, done by "cli", newest first', async () => {
    const records = json(await admin('audit', '--event', 'admin', '--json')) as AuditRecord[];
    expect(records.every(record => record.user === 'cli')).toBe(true);
    expect(records.map(record => record.event)).toEqual([
      'admin.keys_rotated',
      'admin.user_enabled',
      'admin.user_disabled',
      'admin.client_deleted',
      'admin.grant_revoked'
    ]);
    const table = await admin('audit', '--event', 'admin.user_disabled');
    expect(table.stdout).toMatch(/admin\.user_disabled\s+ok\s+-\s+cli/);
    expect((json(await admin('audit', '--limit', '1', '--json')) as AuditRecord[]).length).toBe(1);
  });

  it('answers bad usage with exit 2, naming the argument', async () => {
    const cases: [string[], string][] = [
      [[], 'admin needs an action'],
      [['frobnicate'], 'unknown admin action: frobnicate'],
      [['grants', '--env', 'nowhere'], '--env: there is no environment named "nowhere"'],
      [['users', '--client', 'x'], '--client is not an option of "sqlbridge admin users"'],
      [['revoke-grant'], '--grant is required'],
      [['disable-user'], '--user is required'],
      [['audit', '--limit', '0'], '--limit must be a whole number'],
      [['audit', '--event', 'admin.nothing'], '--event: "admin.nothing" is neither an audit event'],
      [['audit', '--since', 'yesterday'], '--since must be'],
      [['clients', 'extra'], 'unexpected argument: extra']
    ];
    for (const [args, message] of cases) {
      const result = await admin(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(message);
    }
    const elsewhere = await runCli(['check', '--grant', 'x', '--config', configFile]);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain('--grant is an option of "sqlbridge admin"');
  });
});
