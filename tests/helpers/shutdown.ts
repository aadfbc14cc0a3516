import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, ProtocolError, StreamableHTTPClientTransport, type FetchLike } from '@modelcontextprotocol/client';
import { expect } from 'vitest';
import { randomId } from '../dialects/engine.ts';
import { pgAdmin, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import { emptyDir } from './data-dir.ts';
import { startServer, type RunningServer } from './server-process.ts';
import { busyFor } from './slow-postgres.ts';

/**
 * The pieces the graceful-shutdown suites share: a real server over a PostgreSQL environment whose
 * pool lets 8 queries run at once, what PostgreSQL itself says is running, the official SDK
 * client (recording which response format each call got), and the outcome of each call.
 */

export const ENVIRONMENT = 'pg';

/** The real server over `database`, with `--no-auth` on 127.0.0.1; at most `shutdownTimeoutMs` of grace. */
export async function startPgServer(database: string, shutdownTimeoutMs?: number): Promise<RunningServer> {
  const dir = emptyDir('shutdown-');
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      ...(shutdownTimeoutMs === undefined ? [] : ['server:', `  shutdownTimeoutMs: ${shutdownTimeoutMs}`]),
      'environments:',
      `  ${ENVIRONMENT}:`,
      `    database: ${postgresDatabaseYaml(database, ', pool: { max: 10 }')}`,
      // Longer than any query of these suites: only the shutdown may stop them.
      '    limits: { queryTimeoutMs: 120000 }',
      ''
    ].join('\n')
  );
  return startServer({ args: ['serve', '--no-auth', '--config', config, '--data-dir', dir] });
}

/** `busyFor(seconds)`, tagged so that PostgreSQL's view of it can be told apart. */
export function taggedBusy(seconds: number): { sql: string; tag: string } {
  const tag = `shutdown_${randomId()}`;
  return { sql: `${busyFor(seconds)} /* ${tag} */`, tag };
}

/** Statements running in `database` whose text holds `tag`, as pg_stat_activity reports them. */
export async function runningQueries(database: string, tag: string): Promise<number> {
  return pgAdmin('test', async client => {
    const result = await client.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE $2",
      [database, `%${tag}%`]
    );
    return Number(result.rows[0]?.n ?? 0);
  });
}

/** Every pg_stat_activity row of `database` (connections of any state). */
export async function sessionsOf(database: string): Promise<number> {
  return pgAdmin('test', async client => {
    const result = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [
      database
    ]);
    return Number(result.rows[0]?.n ?? 0);
  });
}

export async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

/** `promise`, or a rejection naming `what` once `timeoutMs` has passed. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** The process's exit, or a rejection after `timeoutMs` (it is then killed). Call before signalling. */
export function exitOf(child: ChildProcess, timeoutMs: number): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode, at: Date.now() });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    // 'close', not 'exit': its standard error has been read to the end (the lines it wrote last).
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, at: Date.now() });
    });
  });
}

/** Resolves once the server has logged that it is shutting down (bounded). */
export async function shuttingDown(server: RunningServer, timeoutMs = 5000): Promise<Record<string, unknown>> {
  expect(await until(() => server.logs.some(line => line['msg'] === 'shutting down'), timeoutMs)).toBe(true);
  return server.logs.find(line => line['msg'] === 'shutting down') ?? {};
}

/** Refused or aborted work logs at warn at most: no error-level line, no stack trace. */
export function expectNoErrorLogs(server: RunningServer): void {
  const errors = server.logs.filter(line => line['level'] === 'error' || line['level'] === 'fatal');
  expect(errors).toEqual([]);
  expect(server.stderr()).not.toMatch(/"stack"|\n\s+at [^\n]+:\d+:\d+/);
}

export interface McpClient {
  client: Client;
  /** The content type of each tools/call response, in order. */
  callFormats: string[];
}

/** An SDK client over Streamable HTTP, as a 2026-07-28 client when pinned, else as a 2025-11-25 one. */
export async function connectClient(server: RunningServer, pin?: '2026-07-28'): Promise<McpClient> {
  const callFormats: string[] = [];
  const recording: FetchLike = async (url, init) => {
    const response = await fetch(url, init);
    if (typeof init?.body === 'string' && init.body.includes('"tools/call"')) {
      callFormats.push(response.headers.get('content-type') ?? '');
    }
    return response;
  };
  const client = new Client(
    { name: 'shutdown-e2e', version: '1' },
    pin === undefined ? {} : { versionNegotiation: { mode: { pin } } }
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.baseUrl}/${ENVIRONMENT}/mcp`), { fetch: recording })
  );
  return { client, callFormats };
}

export interface Settled {
  result?: Awaited<ReturnType<Client['callTool']>>;
  error?: unknown;
  at: number;
}

/** A call's outcome and when it came; never rejects. */
export function settle(call: Promise<Awaited<ReturnType<Client['callTool']>>>): Promise<Settled> {
  return call.then(
    result => ({ result, at: Date.now() }),
    (error: unknown) => ({ error, at: Date.now() })
  );
}

/** The shutdown error, as the SDK client reports a JSON-RPC error: code -32000, "Server shutting down…". */
export function expectShutdownError(outcome: Settled): void {
  expect(outcome.result, 'the call should have been cut off').toBeUndefined();
  expect(ProtocolError.isInstance(outcome.error), `not a JSON-RPC error: ${String(outcome.error)}`).toBe(true);
  const error = outcome.error as ProtocolError;
  expect(error.code).toBe(-32000);
  expect(error.message).toMatch(/Server shutting down/);
}

/** The real answer of `busyFor`: one row, `done` = 1. */
export function expectDone(outcome: Settled): void {
  expect(outcome.error, `the call failed: ${String(outcome.error)}`).toBeUndefined();
  expect(outcome.result?.isError).not.toBe(true);
  const structured = outcome.result?.structuredContent as { columns: { name: string }[]; rows: unknown[][] };
  expect(structured.columns.map(column => column.name)).toEqual(['done']);
  expect(structured.rows).toEqual([[1]]);
}

export async function closeQuietly(clients: readonly McpClient[]): Promise<void> {
  await Promise.allSettled(clients.map(({ client }) => client.close()));
}

/** Ends a server a test left running (a failed assertion before its exit), without waiting for a drain. */
export async function killIfRunning(server: RunningServer | undefined): Promise<void> {
  if (server === undefined || server.process.exitCode !== null || server.process.signalCode !== null) return;
  server.process.kill('SIGKILL');
  await exitOf(server.process, 5000);
}
