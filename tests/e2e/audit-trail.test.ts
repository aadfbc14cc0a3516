import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auth, type Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createPostgresDatabase, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import {
  auditFileIn,
  auditHealth,
  obstructAuditFile,
  readAuditFile,
  sha256,
  untilAuditFile,
  untilAuditHealth
} from '../helpers/audit-file.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import {
  callTool,
  connectWithOAuth,
  connectWithoutAuth,
  disconnect,
  mcpUrl,
  type ToolAnswer
} from '../helpers/mcp-connect.ts';
import { signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import { runCli, startServer, type RunningServer } from '../helpers/server-process.ts';
import { killIfRunning } from '../helpers/shutdown.ts';

/**
 * The audit trail end to end, as docs/audit.md states it: the real server process over real
 * PostgreSQL, people signing in through the real OAuth flow, the official MCP client SDK making the
 * calls, and the JSON Lines file read afterwards. Every count is exact: a record written twice or
 * not at all fails. Then `sqlbridge audit` reading that file, what each environment keeps of a
 * statement, and a file sink that really fails: `block` refusing calls until it writes again,
 * `continue` serving on and reporting exactly how many records it had to drop.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A record reduced to who, what and how it ended (absent fields as '-'), for comparing whole trails. */
function summary(record: Partial<AuditRecord>): string {
  const { event, outcome, environment, user, clientId, tool, errorClass } = record;
  return [event, outcome, environment, user, clientId, tool, errorClass].map(value => value ?? '-').join(' | ');
}

const summaries = (records: readonly Partial<AuditRecord>[]): string[] => records.map(summary).sort();

const servers: RunningServer[] = [];
const drops: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.allSettled(servers.map(killIfRunning));
  await Promise.allSettled(drops.map(drop => drop()));
});

async function database(sql: string): Promise<string> {
  const created = await createPostgresDatabase(sql);
  drops.push(created.drop);
  return created.name;
}

async function serve(config: string, noAuth: boolean): Promise<RunningServer> {
  const server = await startServer({ args: ['serve', ...(noAuth ? ['--no-auth'] : []), '--config', config] });
  servers.push(server);
  return server;
}

/** Stops the server with SIGTERM (its trail is flushed as it stops) and checks it stopped cleanly. */
async function stopGracefully(server: RunningServer): Promise<void> {
  expect(await server.stop()).toBe(0);
}

describe('a session through OAuth, recorded once per event', () => {
  const ANA: Credentials = { username: 'ana', password: 'ana-correct-horse-audit' };
  const BEN: Credentials = { username: 'ben', password: 'ben-staple-battery-audit' };
  const ANA_WRONG = 'ana-wrong-password-typed';
  /** A password typed into the name field: no such user, and it must reach neither the trail nor the log. */
  const TYPED_AS_NAME = 'hunter2-typed-as-the-name';
  const ROWS_IN_T = 3;
  const MAX_ROWS = 2;

  /** Ana's calls in production, in order: what she sends and how each call must end. */
  const ANA_CALLS: { tool: string; args: Record<string, string>; outcome: string; errorClass?: string }[] = [
    { tool: 'list_tables', args: {}, outcome: 'ok' },
    { tool: 'describe_table', args: { table_name: 't' }, outcome: 'ok' },
    { tool: 'execute_sql', args: { query: 'SELECT id FROM t ORDER BY id' }, outcome: 'ok' },
    { tool: 'execute_sql', args: { query: 'SELECT count(*) AS n FROM t' }, outcome: 'ok' },
    { tool: 'execute_sql', args: { query: 'DELETE FROM t' }, outcome: 'rejected', errorClass: 'statement_rejected' },
    {
      tool: 'execute_sql',
      args: { query: 'SELECT no_such_column FROM t' },
      outcome: 'failed',
      errorClass: 'query_failed'
    }
  ];
  const BEN_SQL = 'SELECT max(id) AS top FROM t';
  const ANALYTICS_SQL = 'SELECT sum(n) AS visits FROM visits';

  let dir: string;
  let config: string;
  let databases: string[];
  let server: RunningServer;
  let records: AuditRecord[];
  let fileText: string;
  /** Client ids as the authorization servers registered them. */
  const clients = { anaProduction: '', benProduction: '', anaAnalytics: '' };
  /** Every answer, by statement, to compare with what the trail says of it. */
  const answers = new Map<string, ToolAnswer>();
  /** Tokens, codes and verifiers seen on the way: none may be in the trail. */
  const secrets: string[] = [];

  function keepSecrets(provider: TestOAuthProvider): void {
    const tokens = provider.tokens();
    secrets.push(tokens?.access_token ?? '', tokens?.refresh_token ?? '', provider.codeVerifier());
    const code = provider.callback?.searchParams.get('code');
    if (typeof code === 'string') secrets.push(code);
  }

  async function sql(client: Client, query: string): Promise<ToolAnswer> {
    const answer = await callTool(client, 'execute_sql', { query });
    answers.set(query, answer);
    return answer;
  }

  beforeAll(async () => {
    dir = emptyDir('audit-session-');
    databases = [
      await database(`CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t SELECT generate_series(1, ${ROWS_IN_T})`),
      await database(
        "CREATE TABLE visits (day date PRIMARY KEY, n integer); INSERT INTO visits VALUES ('2025-01-01', 4)"
      )
    ];
    config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        `dataDir: ${dir}`,
        'environments:',
        '  production:',
        `    database: ${postgresDatabaseYaml(databases[0] ?? '')}`,
        `    limits: { maxRows: ${MAX_ROWS} }`,
        '  analytics:',
        `    database: ${postgresDatabaseYaml(databases[1] ?? '')}`,
        'auth:',
        '  users:',
        `    - { username: ana, passwordHash: "${await hashPassword(ANA.password)}", environments: [production, analytics] }`,
        `    - { username: ben, passwordHash: "${await hashPassword(BEN.password)}", environments: [production] }`,
        ''
      ].join('\n')
    );
    server = await serve(config, false);
    const base = server.baseUrl;

    // Ana, in production: registration; a password typed as the name, a wrong password, then hers; consent; the token.
    const anaProvider = new TestOAuthProvider(async url => {
      await expect(signIn(url, { username: TYPED_AS_NAME, password: ANA.password })).rejects.toThrow(/answered 401/);
      await expect(signIn(url, { username: ANA.username, password: ANA_WRONG })).rejects.toThrow(/answered 401/);
      return signIn(url, ANA);
    });
    const ana = await connectWithOAuth(base, 'production', anaProvider);
    clients.anaProduction = anaProvider.clientInformation()?.client_id ?? '';
    keepSecrets(anaProvider);
    for (const call of ANA_CALLS) {
      const answer =
        call.tool === 'execute_sql'
          ? await sql(ana, call.args['query'] ?? '')
          : await callTool(ana, call.tool, call.args);
      expect(answer.isError, `${call.tool} ${JSON.stringify(call.args)}: ${answer.text}`).toBe(call.outcome !== 'ok');
    }
    await disconnect(ana);
    // Refresh (rotating the refresh token), then the spent refresh token presented again: refused, grant revoked.
    const spent = anaProvider.tokens()?.refresh_token ?? '';
    expect(await auth(anaProvider, { serverUrl: mcpUrl(base, 'production') })).toBe('AUTHORIZED');
    expect(anaProvider.tokens()?.refresh_token).not.toBe(spent);
    keepSecrets(anaProvider);
    const replay = await fetch(`${base}/production/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: spent, client_id: clients.anaProduction })
    });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });

    // Ben, in production: one call.
    const benProvider = new TestOAuthProvider(url => signIn(url, BEN));
    const ben = await connectWithOAuth(base, 'production', benProvider);
    clients.benProduction = benProvider.clientInformation()?.client_id ?? '';
    keepSecrets(benProvider);
    expect((await sql(ben, BEN_SQL)).isError).toBe(false);
    await disconnect(ben);

    // Ana again, in analytics (its own authorization server): one call.
    const analyticsProvider = new TestOAuthProvider(url => signIn(url, ANA));
    const anaAnalytics = await connectWithOAuth(base, 'analytics', analyticsProvider);
    clients.anaAnalytics = analyticsProvider.clientInformation()?.client_id ?? '';
    keepSecrets(analyticsProvider);
    expect((await sql(anaAnalytics, ANALYTICS_SQL)).isError).toBe(false);
    await disconnect(anaAnalytics);

    await stopGracefully(server);
    const file = auditFileIn(dir);
    fileText = readFileSync(file, 'utf8');
    records = readAuditFile(file);
  }, 60_000);

  /** The request log line of a request id (the server logs one per request). */
  const requestLines = (requestId: string | undefined) =>
    server.logs.filter(line => line['msg'] === 'request' && line['reqId'] === requestId);

  it('records each tool call exactly once, with its user, client, environment, outcome and request', () => {
    const calls = records.filter(record => record.event === 'tool.called');
    const expected = [
      ...ANA_CALLS.map(call => ({
        environment: 'production',
        user: 'ana',
        clientId: clients.anaProduction,
        tool: call.tool,
        outcome: call.outcome,
        errorClass: call.errorClass
      })),
      { environment: 'production', user: 'ben', clientId: clients.benProduction, tool: 'execute_sql', outcome: 'ok' },
      { environment: 'analytics', user: 'ana', clientId: clients.anaAnalytics, tool: 'execute_sql', outcome: 'ok' }
    ];
    // In the order they were made: the calls were sequential.
    expect(calls.map(summary)).toEqual(expected.map(call => summary({ event: 'tool.called', ...call } as AuditRecord)));
    expect(new Set(calls.map(call => call.requestId)).size).toBe(calls.length);
    for (const call of calls) {
      expect(call.requestId).toMatch(UUID);
      expect(call.remoteAddress).toBe('127.0.0.1');
      expect(call.durationMs).toBeGreaterThanOrEqual(0);
      // The request id is the one of the request's log line: the trail joins with the log.
      const lines = requestLines(call.requestId);
      expect(lines, `log line of ${call.tool} ${String(call.requestId)}`).toHaveLength(1);
      expect(lines[0]).toMatchObject({ method: 'POST', path: `/${call.environment ?? ''}/mcp`, status: 200 });
    }
  });

  it('records each statement exactly once, executed, rejected or failed, with its text and SHA-256', () => {
    const queries = records.filter(record => record.event.startsWith('query.'));
    const sent = [
      ...ANA_CALLS.filter(call => call.tool === 'execute_sql').map(call => ({
        environment: 'production',
        user: 'ana',
        clientId: clients.anaProduction,
        statement: call.args['query'] ?? '',
        event: { ok: 'query.executed', rejected: 'query.rejected', failed: 'query.failed' }[call.outcome] ?? '',
        outcome: call.outcome,
        errorClass: call.errorClass
      })),
      {
        environment: 'production',
        user: 'ben',
        clientId: clients.benProduction,
        statement: BEN_SQL,
        event: 'query.executed',
        outcome: 'ok',
        errorClass: undefined
      },
      {
        environment: 'analytics',
        user: 'ana',
        clientId: clients.anaAnalytics,
        statement: ANALYTICS_SQL,
        event: 'query.executed',
        outcome: 'ok',
        errorClass: undefined
      }
    ];
    expect(
      queries.map(q => [q.event, q.outcome, q.environment, q.user, q.clientId, q.statement, q.errorClass])
    ).toEqual(sent.map(q => [q.event, q.outcome, q.environment, q.user, q.clientId, q.statement, q.errorClass]));
    for (const query of queries) {
      const statement = query.statement ?? '';
      expect(query.statementHash).toBe(sha256(statement));
      expect(query.tool).toBe('execute_sql');
      expect(query.remoteAddress).toBe('127.0.0.1');
      expect(query.detail).toMatchObject({ kind: 'query' });
      // The same request as its tool call: one call, one tool.called, one query record.
      const call = records.filter(record => record.event === 'tool.called' && record.requestId === query.requestId);
      expect(call.map(summary)).toEqual([summary({ ...query, event: 'tool.called', statement: undefined })]);
      const answer = answers.get(statement);
      if (query.event === 'query.executed') {
        const result = answer?.structured as { rowCount: number; truncated: boolean };
        expect({ rows: query.rows, truncated: query.truncated }).toEqual({
          rows: result.rowCount,
          truncated: result.truncated
        });
      } else {
        expect(query).not.toHaveProperty('rows');
        expect(query).not.toHaveProperty('truncated');
      }
    }
    // The first statement matched all ROWS_IN_T rows, more than MAX_ROWS: the record says the result was cut.
    const first = queries[0];
    expect({ rows: first?.rows, truncated: first?.truncated }).toEqual({ rows: MAX_ROWS, truncated: true });
    expect(queries[1]).toMatchObject({ rows: 1, truncated: false });
  });

  it('records each sign-in, consent, registration, token and grant event exactly once', () => {
    const oauth = records.filter(
      record =>
        !['tool.called', 'config.loaded', 'server.started', 'server.stopped'].includes(record.event) &&
        !record.event.startsWith('query.')
    );
    const signedIn = (environment: string, user: string, clientId: string) => [
      { event: 'client.registered', outcome: 'ok', environment, clientId },
      { event: 'auth.login_succeeded', outcome: 'ok', environment, user, clientId },
      { event: 'consent.granted', outcome: 'ok', environment, user, clientId },
      { event: 'token.issued', outcome: 'ok', environment, user, clientId }
    ];
    const anaProduction = { environment: 'production', clientId: clients.anaProduction };
    expect(summaries(oauth)).toEqual(
      summaries([
        ...signedIn('production', 'ana', clients.anaProduction),
        { event: 'auth.login_failed', outcome: 'failed', ...anaProduction, errorClass: 'unknown_user' },
        { event: 'auth.login_failed', outcome: 'failed', ...anaProduction, user: 'ana', errorClass: 'wrong_password' },
        { event: 'token.refreshed', outcome: 'ok', ...anaProduction, user: 'ana' },
        {
          event: 'token.refresh_reused',
          outcome: 'rejected',
          ...anaProduction,
          user: 'ana',
          errorClass: 'invalid_grant'
        },
        { event: 'grant.revoked', outcome: 'ok', ...anaProduction, user: 'ana' },
        ...signedIn('production', 'ben', clients.benProduction),
        ...signedIn('analytics', 'ana', clients.anaAnalytics)
      ] as AuditRecord[])
    );
    // Each joins the log line of the request it came in: the endpoint, and how that request was answered.
    const requests: Record<string, { path: RegExp; status: number }> = {
      'client.registered': { path: /^\/register$/, status: 201 },
      'auth.login_failed': { path: /^\/interaction\/[^/]+\/login$/, status: 401 },
      'auth.login_succeeded': { path: /^\/interaction\/[^/]+\/login$/, status: 303 },
      'consent.granted': { path: /^\/interaction\/[^/]+\/confirm$/, status: 303 },
      'token.issued': { path: /^\/token$/, status: 200 },
      'token.refreshed': { path: /^\/token$/, status: 200 },
      'token.refresh_reused': { path: /^\/token$/, status: 400 },
      'grant.revoked': { path: /^\/token$/, status: 400 }
    };
    for (const record of oauth) {
      expect(record.requestId, record.event).toMatch(UUID);
      expect(record.remoteAddress, record.event).toBe('127.0.0.1');
      const lines = requestLines(record.requestId);
      expect(lines, `log line of ${record.event}`).toHaveLength(1);
      const line = lines[0] ?? {};
      const environment = record.environment ?? '';
      expect(line['method'], record.event).toBe('POST');
      expect(String(line['path']).replace(`/${environment}`, ''), record.event).toMatch(
        requests[record.event]?.path ?? /^$/
      );
      expect(line['status'], record.event).toBe(requests[record.event]?.status);
    }
    // The replay and the revocation it caused are one request.
    const replayed = oauth.find(record => record.event === 'token.refresh_reused');
    expect(oauth.find(record => record.event === 'grant.revoked')?.requestId).toBe(replayed?.requestId);
    // Ana's production grant, followed from consent to its revocation.
    const one = (event: string) => {
      const found = oauth.filter(r => r.event === event && r.clientId === clients.anaProduction);
      expect(found, event).toHaveLength(1);
      return found[0]?.detail ?? {};
    };
    const grantId = one('consent.granted')['grantId'];
    expect(grantId).toEqual(expect.any(String));
    expect(one('token.issued')).toMatchObject({ grantType: 'authorization_code', grantId });
    expect(one('token.refreshed')).toMatchObject({ grantType: 'refresh_token', grantId });
    expect(one('token.refresh_reused')).toMatchObject({ grantType: 'refresh_token' });
    expect(one('grant.revoked')).toMatchObject({ grantId, reason: 'refresh_token_reused' });
  });

  it("records the server's configuration, start and stop once each, in order", () => {
    const life = records.filter(record => ['config.loaded', 'server.started', 'server.stopped'].includes(record.event));
    expect(life.map(record => [record.event, record.outcome])).toEqual([
      ['config.loaded', 'ok'],
      ['server.started', 'ok'],
      ['server.stopped', 'ok']
    ]);
    expect(records[0]?.event).toBe('config.loaded');
    expect(records[1]?.event).toBe('server.started');
    expect(records.at(-1)?.event).toBe('server.stopped');
    expect(life[0]?.detail).toMatchObject({ file: config, environments: 'production,analytics', auth: true, users: 2 });
    expect(life[2]?.detail).toMatchObject({ signal: 'SIGTERM', cutOff: 0 });
  });

  it('holds those records and nothing else, each with a unique id and a UTC time', () => {
    const signedIn = 4; // registration, sign-in, consent, token
    const statements = ANA_CALLS.filter(call => call.tool === 'execute_sql').length;
    // Ana in production: two failed sign-ins too; her calls and statements; refresh; replay and revocation.
    const anaInProduction = signedIn + 2 + ANA_CALLS.length + statements + 1 + 2;
    const oneCallEach = 2 * (signedIn + 2); // ben, and ana in analytics: one tool call and its statement
    const expectedCount = 3 + anaInProduction + oneCallEach;
    expect(records).toHaveLength(expectedCount);
    expect(new Set(records.map(record => record.id)).size).toBe(records.length);
    for (const record of records) {
      expect(record.id).toMatch(UUID);
      expect(record.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(new Date(record.time).toISOString()).toBe(record.time);
    }
    const times = records.map(record => Date.parse(record.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('keeps no password, token, authorization code, typed-in name or connection detail', () => {
    const forbidden = [ANA.password, BEN.password, ANA_WRONG, TYPED_AS_NAME, ...databases, ...secrets];
    // Every secret was really captured (an empty string would prove nothing).
    expect(secrets.filter(secret => secret.length < 16)).toEqual([]);
    for (const secret of forbidden) expect(fileText.includes(secret), `the trail holds ${secret}`).toBe(false);
    // The typed-in name is not logged either.
    expect(server.stderr().includes(TYPED_AS_NAME)).toBe(false);
  });

  describe('sqlbridge audit', () => {
    /** Ana's production records as the file holds them: each line as stored, and its record. */
    const anaInProduction = () =>
      fileText
        .split('\n')
        .filter(line => line !== '')
        .map(line => ({ line, record: JSON.parse(line) as AuditRecord }))
        .filter(({ record }) => record.user === 'ana' && record.environment === 'production');
    const audit = (...flags: string[]) =>
      runCli(['audit', '--config', config, '--user', 'ana', '--env', 'production', ...flags], { timeoutMs: 15_000 });

    it('--user ana --env production --json prints exactly her production records, as stored', async () => {
      const expected = anaInProduction();
      // Her failed and good sign-in, consent, token, refresh, replay and revocation; every call and statement.
      const statements = ANA_CALLS.filter(call => call.tool === 'execute_sql').length;
      expect(expected).toHaveLength(2 + 1 + 1 + 1 + 2 + ANA_CALLS.length + statements);
      const result = await audit('--json');
      expect(result.code, result.stderr).toBe(0);
      const printed = result.stdout.split('\n').filter(line => line !== '');
      expect(printed.map(line => (JSON.parse(line) as AuditRecord).id).sort()).toEqual(
        expected.map(({ record }) => record.id).sort()
      );
      // As stored: the very lines of the file, in its order.
      expect(printed).toEqual(expected.map(({ line }) => line));
    });

    it('without --json prints a table: a header, then one line per record', async () => {
      const expected = anaInProduction().map(({ record }) => record);
      const result = await audit();
      expect(result.code, result.stderr).toBe(0);
      const [header = '', ...rows] = result.stdout.split('\n').filter(line => line !== '');
      expect(header.split(/\s+/).slice(0, 5)).toEqual(['TIME', 'EVENT', 'OUTCOME', 'ENV', 'USER']);
      expect(rows).toHaveLength(expected.length);
      // Columns split on white space (an absent field is "-"): time, event, outcome, environment, user.
      expect(rows.map(row => row.split(/\s+/).slice(0, 5))).toEqual(
        expected.map(record => [record.time, record.event, record.outcome, 'production', 'ana'])
      );
    });
  });
});

describe('what each environment keeps of a statement', () => {
  it('full keeps the text and its SHA-256, hash only the SHA-256, omit neither', async () => {
    const dir = emptyDir('audit-statements-');
    const name = await database('CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1)');
    const modes = { kept: 'full', hashed: 'hash', omitted: 'omit' } as const;
    const config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        `dataDir: ${dir}`,
        'environments:',
        ...Object.entries(modes).flatMap(([environment, statements]) => [
          `  ${environment}:`,
          `    database: ${postgresDatabaseYaml(name)}`,
          `    audit: { statements: ${statements} }`
        ]),
        ''
      ].join('\n')
    );
    const server = await serve(config, true);
    // Each environment gets a statement that runs and one the guard refuses, each with a marker of its own.
    const sent = new Map<string, { ok: string; refused: string }>();
    for (const environment of Object.keys(modes)) {
      const statements = {
        ok: `SELECT 'marker-${environment}-ran' AS m`,
        refused: `DELETE FROM t WHERE id = 1 /* marker-${environment}-refused */`
      };
      sent.set(environment, statements);
      const client = await connectWithoutAuth(server.baseUrl, environment);
      expect((await callTool(client, 'execute_sql', { query: statements.ok })).isError).toBe(false);
      expect((await callTool(client, 'execute_sql', { query: statements.refused })).isError).toBe(true);
      await disconnect(client);
    }
    await stopGracefully(server);
    const file = auditFileIn(dir);
    const records = readAuditFile(file);
    const text = readFileSync(file, 'utf8');
    for (const [environment, mode] of Object.entries(modes)) {
      const statements = sent.get(environment) ?? { ok: '', refused: '' };
      const queries = records.filter(record => record.event.startsWith('query.') && record.environment === environment);
      expect(queries.map(query => query.event)).toEqual(['query.executed', 'query.rejected']);
      [statements.ok, statements.refused].forEach((statement, i) => {
        const query = queries[i] ?? ({} as AuditRecord);
        const kept = { statement: query.statement, statementHash: query.statementHash };
        if (mode === 'full') expect(kept).toEqual({ statement, statementHash: sha256(statement) });
        if (mode === 'hash') {
          expect(query).not.toHaveProperty('statement');
          expect(kept.statementHash).toBe(sha256(statement));
        }
        if (mode === 'omit') {
          expect(query).not.toHaveProperty('statement');
          expect(query).not.toHaveProperty('statementHash');
        }
      });
      // Nothing else in the trail holds the text either.
      const markers = [`marker-${environment}-ran`, `marker-${environment}-refused`];
      for (const marker of markers) expect(text.includes(marker), marker).toBe(mode === 'full');
    }
  }, 30_000);
});

describe('a file sink that cannot write', () => {
  /** A real server with `--no-auth` over one PostgreSQL database; the trail flushed every 50 ms. */
  async function failureServer(
    environments: Record<string, string>,
    maxPending?: number
  ): Promise<{ server: RunningServer; file: string }> {
    const dir = emptyDir('audit-failure-');
    const name = await database('CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1)');
    const config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        `dataDir: ${dir}`,
        `audit: { flushIntervalMs: 50${maxPending === undefined ? '' : `, maxPending: ${maxPending}`} }`,
        'environments:',
        ...Object.entries(environments).flatMap(([environment, onFailure]) => [
          `  ${environment}:`,
          `    database: ${postgresDatabaseYaml(name)}`,
          `    audit: { onFailure: ${onFailure} }`
        ]),
        ''
      ].join('\n')
    );
    const server = await serve(config, true);
    const file = auditFileIn(dir);
    // The trail is being written before anything is broken: the server's own records are in the file.
    await untilAuditFile(file, records => records.some(record => record.event === 'server.started'));
    return { server, file };
  }

  /** The resource of the failure server's one table. */
  const TABLE_URI = 'sqlbridge://guarded/public/t';

  /** Log lines with this message. */
  const logged = (server: RunningServer, message: string) => server.logs.filter(line => line['msg'] === message);

  it('block: refuses every call while the trail cannot be written, then serves again with nothing lost', async () => {
    const { server, file } = await failureServer({ guarded: 'block', open: 'continue' });
    const guarded = await connectWithoutAuth(server.baseUrl, 'guarded');
    const open = await connectWithoutAuth(server.baseUrl, 'open');
    const run = async (client: Client, query: string) => callTool(client, 'execute_sql', { query });
    const BEFORE = "SELECT 'before' AS phase";
    const OPEN_FIRST = "SELECT 'open, first' AS phase";
    const REFUSED = "SELECT 'refused' AS phase";
    const OPEN_SECOND = "SELECT 'open, second' AS phase";
    const AFTER = "SELECT 'after' AS phase";
    const toolCalls = (records: AuditRecord[], environment: string) =>
      records.filter(record => record.event === 'tool.called' && record.environment === environment).length;

    expect((await run(guarded, BEFORE)).isError).toBe(false);
    await untilAuditFile(file, records => toolCalls(records, 'guarded') === 1);

    const obstacle = obstructAuditFile(file);
    try {
      // The first records after the break: taken, but the sink fails to write them.
      expect((await run(open, OPEN_FIRST)).isError).toBe(false);
      expect(await untilAuditHealth(server, report => !report.healthy, 3000)).toEqual({
        healthy: false,
        sinks: [{ name: 'file', healthy: false, pending: 2, lost: 0 }]
      });
      const refused = await run(guarded, REFUSED);
      expect(refused.isError).toBe(true);
      expect(refused.text).toMatch(/^The audit trail is unavailable: /);
      // Nor does the catalog answer through resources, which read the database as the caller.
      await expect(guarded.readResource({ uri: TABLE_URI })).rejects.toThrow(/The audit trail is unavailable/);
      // `continue` is per environment: the other one keeps serving.
      expect((await run(open, OPEN_SECOND)).isError).toBe(false);
      // Kept meanwhile: the first call (2), the two refusals (1 each), the second call (2).
      expect(await auditHealth(server)).toEqual({
        healthy: false,
        sinks: [{ name: 'file', healthy: false, pending: 6, lost: 0 }]
      });
    } finally {
      obstacle.restore();
    }
    expect(await untilAuditHealth(server, report => report.healthy, 10_000)).toEqual({
      healthy: true,
      sinks: [{ name: 'file', healthy: true, pending: 0, lost: 0 }]
    });
    expect((await run(guarded, AFTER)).isError).toBe(false);
    expect(JSON.stringify((await guarded.readResource({ uri: TABLE_URI })).contents)).toContain('# Table public.t');
    const catalogReads = (records: AuditRecord[]) => records.filter(record => record.event === 'catalog.read').length;
    const records = await untilAuditFile(
      file,
      written => toolCalls(written, 'guarded') === 3 && catalogReads(written) === 2
    );
    await Promise.all([disconnect(guarded), disconnect(open)]);

    // The whole trail, in order, each record once; the refused call ran nothing, so it has no query record.
    expect(records.map(r => [r.event, r.environment, r.outcome, r.errorClass, r.statement])).toEqual([
      ['config.loaded', undefined, 'ok', undefined, undefined],
      ['server.started', undefined, 'ok', undefined, undefined],
      ['query.executed', 'guarded', 'ok', undefined, BEFORE],
      ['tool.called', 'guarded', 'ok', undefined, undefined],
      ['query.executed', 'open', 'ok', undefined, OPEN_FIRST],
      ['tool.called', 'open', 'ok', undefined, undefined],
      ['tool.called', 'guarded', 'rejected', 'audit_unavailable', undefined],
      ['catalog.read', 'guarded', 'rejected', 'audit_unavailable', undefined],
      ['query.executed', 'open', 'ok', undefined, OPEN_SECOND],
      ['tool.called', 'open', 'ok', undefined, undefined],
      ['query.executed', 'guarded', 'ok', undefined, AFTER],
      ['tool.called', 'guarded', 'ok', undefined, undefined],
      ['catalog.read', 'guarded', 'ok', undefined, undefined]
    ]);
    expect(records.filter(record => record.event === 'catalog.read').map(record => record.tool)).toEqual([
      'resources/read',
      'resources/read'
    ]);
    expect(new Set(records.map(record => record.id)).size).toBe(records.length);
    // Logged once when it started failing (error), once when it wrote again (warn): every line is
    // written once the server has stopped.
    await stopGracefully(server);
    expect(logged(server, 'audit sink failed; its records are kept and written when it recovers')).toEqual([
      expect.objectContaining({ level: 'error', sink: 'file' })
    ]);
    expect(logged(server, 'audit sink writing again')).toEqual([
      expect.objectContaining({ level: 'warn', sink: 'file', lost: 0 })
    ]);
  }, 30_000);

  it('continue: serves on, drops the oldest beyond maxPending, and writes exactly how many into the trail', async () => {
    const MAX_PENDING = 100; // the least the configuration accepts
    /** Each call here leaves two records: its statement (query.executed) and the call (tool.called). */
    const RECORDS_PER_CALL = 2;
    // Just past the limit: the last two calls push four records out. Few on purpose: the trail puts its
    // loss record in the queue while it retries, and a record taken during that retry drops it (and its
    // count); the fewer records arrive past the limit, the less this test depends on that race.
    const CALLS = MAX_PENDING / RECORDS_PER_CALL + 2;
    const dropped = CALLS * RECORDS_PER_CALL - MAX_PENDING;
    const { server, file } = await failureServer({ open: 'continue' }, MAX_PENDING);
    const client = await connectWithoutAuth(server.baseUrl, 'open');
    const statements = Array.from({ length: CALLS }, (_, i) => `SELECT ${i + 1} AS call_${i + 1}`);

    const obstacle = obstructAuditFile(file);
    try {
      const [first = '', ...rest] = statements;
      expect((await callTool(client, 'execute_sql', { query: first })).isError).toBe(false);
      await untilAuditHealth(server, report => !report.healthy, 3000);
      for (const query of rest) {
        const answer = await callTool(client, 'execute_sql', { query });
        expect(answer.isError, answer.text).toBe(false);
      }
      expect(await auditHealth(server)).toEqual({
        healthy: false,
        sinks: [{ name: 'file', healthy: false, pending: MAX_PENDING, lost: dropped }]
      });
    } finally {
      obstacle.restore();
    }
    expect(await untilAuditHealth(server, report => report.healthy, 10_000)).toEqual({
      healthy: true,
      sinks: [{ name: 'file', healthy: true, pending: 0, lost: dropped }]
    });
    const records = await untilAuditFile(file, written => written.some(r => r.event === 'audit.records_lost'));
    await disconnect(client);

    // Written as soon as the sink wrote again: before the records it kept, which are the newest MAX_PENDING.
    const kept = statements.slice(dropped / RECORDS_PER_CALL);
    expect(records.map(record => record.event)).toEqual([
      'config.loaded',
      'server.started',
      'audit.records_lost',
      ...kept.flatMap(() => ['query.executed', 'tool.called'])
    ]);
    expect(records[2]).toMatchObject({
      event: 'audit.records_lost',
      outcome: 'failed',
      errorClass: 'audit_overflow',
      detail: { sink: 'file', records: dropped }
    });
    expect(records.filter(record => record.event === 'query.executed').map(record => record.statement)).toEqual(kept);
    // The loss is in the log too, with the same count.
    await stopGracefully(server);
    const losses = logged(server, 'audit records were dropped: the sink could not keep up while it was failing');
    expect(losses.at(-1)).toMatchObject({ level: 'error', sink: 'file', records: dropped, lost: dropped });
  }, 30_000);
});
