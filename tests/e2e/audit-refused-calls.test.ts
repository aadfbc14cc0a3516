import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { auditFileIn, readAuditFile } from '../helpers/audit-file.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { connectWithOAuth, mcpUrl } from '../helpers/mcp-connect.ts';
import { signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { legacySseTransport, tokensFor } from '../helpers/sse.ts';

/**
 * Tool calls refused before any tool ran, audited like every other call: a tool the caller is not
 * offered (over a 2026-07-28 request and in a 2025-era session), arguments that fail the tool's
 * input schema, and a token without the scope a tool needs, both where the HTTP layer answers 403
 * (Streamable HTTP) and over the legacy HTTP+SSE transport, which has no such gate and where the
 * write must still not happen. The real server, real OAuth sign-ins, the official client SDK.
 */

const ANA: Credentials = { username: 'ana', password: 'ana-correct-horse-refused' };
const BEN: Credentials = { username: 'ben', password: 'ben-staple-battery-refused' };
const LONG_NAME = `no_such_tool_${'x'.repeat(500)}`;
/** Beyond 128 characters, each of two UTF-16 code units: cut between characters, never inside one. */
const EMOJI_NAME = `x${'\u{1F600}'.repeat(200)}`;

let dir: string;
let server: RunningServer;
let rwPath: string;
let records: AuditRecord[];
const clients: Client[] = [];
/** What each refused call answered, by a label of the call. */
const answers = new Map<string, { isError: boolean; text: string } | { thrown: string }>();
/** HTTP statuses of the plain-bearer client's requests. */
const statuses: number[] = [];

function sqliteFile(name: string, sql: string): string {
  const path = join(dir, name);
  const db = new DatabaseSync(path);
  db.exec(sql);
  db.close();
  return path;
}

/** A client of `environment` signed in as `who` through the SDK's OAuth flow (2025-era unless pinned). */
async function signedIn(environment: string, who: Credentials, pin?: '2026-07-28'): Promise<Client> {
  const provider = new TestOAuthProvider(url => signIn(url, who));
  const options = pin === undefined ? {} : { versionNegotiation: { mode: { pin } } };
  const client = await connectWithOAuth(server.baseUrl, environment, provider, options);
  clients.push(client);
  return client;
}

/** A legacy HTTP+SSE client of `environment` signed in as `who`. */
async function signedInOverSse(environment: string, who: Credentials): Promise<Client> {
  const provider = new TestOAuthProvider(url => signIn(url, who));
  const url = `${server.baseUrl}/${environment}/sse`;
  const first = legacySseTransport(url, provider);
  await new Client({ name: 'refused-e2e', version: '1' }).connect(first).catch(() => undefined);
  const callback = provider.callback;
  if (callback === undefined) throw new Error('the client was never sent to sign in');
  await first.finishAuth(callback.searchParams);
  const client = new Client({ name: 'refused-e2e', version: '1' });
  await client.connect(legacySseTransport(url, provider));
  clients.push(client);
  return client;
}

/** A client that sends `token` as a plain bearer, so that a 403 is seen rather than stepped up. */
async function withPlainBearer(environment: string, token: string, pin?: '2026-07-28'): Promise<Client> {
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    statuses.push(response.status);
    return response;
  };
  const client = new Client(
    { name: 'refused-e2e', version: '1' },
    pin === undefined ? {} : { versionNegotiation: { mode: { pin } } }
  );
  await client.connect(
    new StreamableHTTPClientTransport(mcpUrl(server.baseUrl, environment), {
      fetch: recording,
      requestInit: { headers: { authorization: `Bearer ${token}` } }
    })
  );
  clients.push(client);
  return client;
}

async function attempt(label: string, client: Client, name: string, args: Record<string, unknown>): Promise<void> {
  try {
    const result = await client.callTool({ name, arguments: args });
    const first = (result.content as { type: string; text?: string }[])[0];
    answers.set(label, { isError: result.isError === true, text: first?.text ?? '' });
  } catch (error) {
    answers.set(label, { thrown: String(error) });
  }
}

const rowsInRw = (): number => {
  const db = new DatabaseSync(rwPath, { readOnly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  dir = emptyDir('audit-refused-');
  const litePath = sqliteFile('lite.sqlite', 'CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1), (2)');
  rwPath = sqliteFile('rw.sqlite', 'CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)');
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      `dataDir: ${dir}`,
      'environments:',
      '  lite:',
      `    database: { engine: sqlite, path: ${JSON.stringify(litePath)} }`,
      '    executeSql: { groups: [analysts] }',
      '  rw:',
      `    database: { engine: sqlite, path: ${JSON.stringify(rwPath)} }`,
      '    readOnly: false',
      'auth:',
      '  users:',
      `    - { username: ana, passwordHash: "${await hashPassword(ANA.password)}", environments: ["*"], groups: [analysts] }`,
      `    - { username: ben, passwordHash: "${await hashPassword(BEN.password)}", environments: ["*"] }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config] });

  // Ben is not an analyst: execute_sql is not offered to him in lite.
  const benModern = await signedIn('lite', BEN, '2026-07-28');
  await attempt('hidden, 2026-07-28', benModern, 'execute_sql', { query: 'SELECT 1' });
  const benSession = await signedIn('lite', BEN);
  await attempt('hidden, 2025 session', benSession, 'execute_sql', { query: 'SELECT 1' });
  await attempt('long name', benSession, LONG_NAME, {});
  await attempt('emoji name', benSession, EMOJI_NAME, {});

  // Ana is: her arguments are what is wrong.
  const ana = await signedIn('lite', ANA, '2026-07-28');
  await attempt('wrong type', ana, 'execute_sql', { query: 42 });
  await attempt('too long', ana, 'execute_sql', { query: `SELECT 1 -- ${'x'.repeat(100_000)}` });
  await attempt('missing', ana, 'describe_table', {});

  // Ben may only grant sql:read, also in the read-write environment.
  // Ben's sql:read-only token for the read-write environment, through a real sign-in.
  const token = (await tokensFor(mcpUrl(server.baseUrl, 'rw').href, BEN)).access_token;
  const plain = await withPlainBearer('rw', token);
  await attempt('no scope, Streamable HTTP', plain, 'execute_write_sql', { query: 'DELETE FROM t' });
  const modern = await withPlainBearer('rw', token, '2026-07-28');
  await attempt('no scope, 2026-07-28', modern, 'execute_write_sql', { query: 'DELETE FROM t' });
  const overSse = await signedInOverSse('rw', BEN);
  await attempt('no scope, legacy SSE', overSse, 'execute_write_sql', { query: 'DELETE FROM t' });

  await Promise.allSettled(clients.map(client => client.close()));
  expect(await server.stop()).toBe(0);
  records = readAuditFile(auditFileIn(dir));
}, 90_000);

afterAll(async () => {
  await server.stop();
});

const refusals = (): string[] =>
  records
    .filter(record => record.event === 'tool.called' && record.outcome === 'rejected')
    .map(record => [record.environment, record.user, record.tool, record.errorClass].join(' | '));

describe('a tool the caller is not offered', () => {
  it('is answered with the protocol error, over a 2026-07-28 request and in a 2025-era session', () => {
    for (const label of ['hidden, 2026-07-28', 'hidden, 2025 session']) {
      expect(answers.get(label)).toEqual({ thrown: expect.stringContaining('Tool execute_sql not found') });
    }
  });

  it('is recorded once per call, with the user and the name asked for, as tool_not_found', () => {
    expect(refusals().filter(line => line.endsWith('tool_not_found'))).toEqual([
      'lite | ben | execute_sql | tool_not_found',
      'lite | ben | execute_sql | tool_not_found',
      `lite | ben | ${LONG_NAME.slice(0, 128)}… | tool_not_found`,
      `lite | ben | x${'\u{1F600}'.repeat(127)}… | tool_not_found`
    ]);
  });

  it('carries the request id and address of the HTTP request it came in', () => {
    const hidden = records.filter(record => record.errorClass === 'tool_not_found');
    for (const record of hidden) {
      expect(record.requestId).toEqual(expect.any(String));
      expect(record.remoteAddress).toBe('127.0.0.1');
    }
  });
});

describe('arguments that fail the input schema', () => {
  it('come back as a tool error naming the argument and what is wrong', () => {
    expect(answers.get('wrong type')).toEqual({
      isError: true,
      text: expect.stringMatching(/^Invalid argument: invalid arguments for execute_sql: query: .*expected string/)
    });
    expect(answers.get('too long')).toEqual({
      isError: true,
      text: expect.stringMatching(/^Invalid argument: invalid arguments for execute_sql: query: .*100000/)
    });
    expect(answers.get('missing')).toEqual({
      isError: true,
      text: expect.stringMatching(/^Invalid argument: invalid arguments for describe_table: table_name: /)
    });
  });

  it('are recorded as rejected invalid_argument, without the statement', () => {
    expect(refusals().filter(line => line.endsWith('invalid_argument'))).toEqual([
      'lite | ana | execute_sql | invalid_argument',
      'lite | ana | execute_sql | invalid_argument',
      'lite | ana | describe_table | invalid_argument'
    ]);
    const invalid = records.filter(record => record.errorClass === 'invalid_argument');
    expect(invalid.every(record => record.statement === undefined)).toBe(true);
    expect(records.some(record => record.event.startsWith('query.'))).toBe(false);
  });
});

describe('a token without the scope a tool needs', () => {
  it('is answered 403 over Streamable HTTP, in a 2025-era session and to a 2026-07-28 request', () => {
    expect(statuses.filter(status => status === 403)).toHaveLength(2);
    for (const label of ['no scope, Streamable HTTP', 'no scope, 2026-07-28']) {
      expect(answers.get(label)).toEqual({ thrown: expect.stringMatching(/InsufficientScopeError.*sql:write/) });
    }
  });

  it('is refused over legacy HTTP+SSE too, and nothing is written', () => {
    expect(answers.get('no scope, legacy SSE')).toEqual({
      isError: true,
      text: expect.stringContaining('Access denied: this tool needs the sql:write scope')
    });
    expect(rowsInRw()).toBe(3);
  });

  it('is recorded once per call as rejected access_denied, whichever transport refused it', () => {
    expect(refusals().filter(line => line.endsWith('access_denied'))).toEqual([
      'rw | ben | execute_write_sql | access_denied',
      'rw | ben | execute_write_sql | access_denied',
      'rw | ben | execute_write_sql | access_denied'
    ]);
  });
});

it('records no other refusal and no call that ran', () => {
  expect(refusals()).toHaveLength(10);
  expect(records.filter(record => record.event === 'tool.called' && record.outcome !== 'rejected')).toEqual([]);
});
