import { request as httpRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../dialects/engines/postgres.ts';
import type { RunningServer } from '../helpers/server-process.ts';
import {
  ENVIRONMENT,
  closeQuietly,
  connectClient,
  exitOf,
  killIfRunning,
  expectDone,
  expectNoErrorLogs,
  expectShutdownError,
  runningQueries,
  sessionsOf,
  settle,
  shuttingDown,
  startPgServer,
  taggedBusy,
  until,
  within,
  type McpClient
} from '../helpers/shutdown.ts';

/**
 * SIGTERM and SIGINT on the real server process (src/http/in-flight.ts, src/http-server.ts,
 * src/cli/commands/serve.ts) with calls running on a real PostgreSQL: running calls get until
 * `server.shutdownTimeoutMs` (default 10 s) to finish and do; a request arriving meanwhile starts
 * no work; a second signal cuts every call off at once. The process exits 0, logs nothing at error
 * level, and leaves no session on the database. The cut-off at the deadline, over every transport,
 * is in graceful-shutdown-cutoff.test.ts.
 */

describe('graceful shutdown of the real server', () => {
  let database: { name: string; drop: () => Promise<void> };
  let server: RunningServer | undefined;
  let clients: McpClient[] = [];

  beforeAll(async () => {
    database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
  });

  afterEach(async () => {
    await closeQuietly(clients);
    clients = [];
    await killIfRunning(server);
    server = undefined;
  });

  afterAll(async () => {
    await database.drop();
  });

  async function connectAll(running: RunningServer, count: number): Promise<McpClient[]> {
    const pins = Array.from({ length: count }, (_, i) => (i % 2 === 0 ? ('2026-07-28' as const) : undefined));
    clients = await Promise.all(pins.map(pin => connectClient(running, pin)));
    return clients;
  }

  function call(client: McpClient, sql: string) {
    return settle(client.client.callTool({ name: 'execute_sql', arguments: { query: sql } }));
  }

  it(
    'SIGTERM with 8 queries running: every call gets its real result, then the process exits 0',
    { timeout: 60_000 },
    async () => {
      server = await startPgServer(database.name);
      const running = server;
      const four = await connectAll(running, 4);
      // Warm the pool so that the 8 queries below start together.
      const warmUp = await Promise.all(four.flatMap(client => [0, 1].map(() => call(client, taggedBusy(0.3).sql))));
      warmUp.forEach(expectDone);

      const busy = taggedBusy(2);
      const calls = four.flatMap(client => [0, 1].map(() => call(client, busy.sql)));
      expect(await until(async () => (await runningQueries(database.name, busy.tag)) === 8, 10_000)).toBe(true);
      const exit = exitOf(running.process, 20_000);
      const signalledAt = Date.now();
      running.process.kill('SIGTERM');

      const outcomes = await within(Promise.all(calls), 15_000, 'the 8 calls');
      for (const outcome of outcomes) {
        expectDone(outcome);
        // Each was still running when the signal came.
        expect(outcome.at).toBeGreaterThanOrEqual(signalledAt);
      }
      const { code } = await exit;
      expect(code).toBe(0);
      expect((await shuttingDown(running))['running']).toBe(8);
      expect(running.logs.find(line => line['msg'] === 'every running call finished')).toMatchObject({
        level: 'info',
        running: 8,
        cutOff: 0
      });
      expect(await until(async () => (await sessionsOf(database.name)) === 0, 2000)).toBe(true);
      expectNoErrorLogs(running);
    }
  );

  it(
    'SIGINT, then a request on an open connection gets 503 and starts no work; a new connection is refused or gets 503',
    { timeout: 60_000 },
    async () => {
      server = await startPgServer(database.name);
      const running = server;
      const port = Number(new URL(running.baseUrl).port);
      const [client] = await connectAll(running, 1);
      if (client === undefined) throw new Error('no client');
      const busy = taggedBusy(4);
      const inFlight = call(client, busy.sql);
      expect(await until(async () => (await runningQueries(database.name, busy.tag)) === 1, 10_000)).toBe(true);

      // Requests already on their way (their headers not complete) when the signal comes.
      const late = taggedBusy(30);
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: {
          name: 'execute_sql',
          arguments: { query: late.sql },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientInfo': { name: 'late', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {}
          }
        }
      });
      const health = await openRequest(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
      const mcp = await openRequest(
        port,
        [
          `POST /${ENVIRONMENT}/mcp HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          'Content-Type: application/json',
          'Accept: application/json, text/event-stream',
          'MCP-Protocol-Version: 2026-07-28',
          'Mcp-Method: tools/call',
          'Mcp-Name: execute_sql',
          `Content-Length: ${Buffer.byteLength(body)}`,
          ''
        ].join('\r\n')
      );

      const exit = exitOf(running.process, 20_000);
      running.process.kill('SIGINT');
      expect((await shuttingDown(running))['signal']).toBe('SIGINT');

      const healthAnswer = await health.finish('\r\n');
      expect(healthAnswer.status).toBe(503);
      expect(healthAnswer.headers['retry-after']).toBeDefined();
      expect(healthAnswer.headers['connection']).toBe('close');
      const mcpAnswer = await mcp.finish(`\r\n${body}`);
      expect(mcpAnswer.status).toBe(503);
      expect(mcpAnswer.headers['retry-after']).toBeDefined();
      expect(mcpAnswer.headers['connection']).toBe('close');
      const refusal = JSON.parse(mcpAnswer.body) as { jsonrpc: string; error: { code: number; message: string } };
      expect(refusal.jsonrpc).toBe('2.0');
      expect(refusal.error.code).toBe(-32000);
      // Never "stopped before it finished": nothing of it started.
      expect(refusal.error.message).toBe('Server shutting down: the request was not run; send it again in a moment');
      expect(await runningQueries(database.name, late.tag)).toBe(0);

      // A new connection: the listener stopped accepting at once, or the request is refused with 503.
      const fresh = await freshGet(port, '/healthz');
      expect(fresh === 'refused' || fresh === 503, `a new connection got ${String(fresh)}`).toBe(true);

      expectDone(await within(inFlight, 10_000, 'the running call'));
      expect(await runningQueries(database.name, late.tag)).toBe(0);
      expect((await exit).code).toBe(0);
      expect(await until(async () => (await sessionsOf(database.name)) === 0, 2000)).toBe(true);
      expectNoErrorLogs(running);
    }
  );

  it('a second SIGTERM during the grace period cuts every call off at once', { timeout: 60_000 }, async () => {
    server = await startPgServer(database.name);
    const running = server;
    const both = await connectAll(running, 2);
    const busy = taggedBusy(30);
    const calls = both.map(client => call(client, busy.sql));
    expect(await until(async () => (await runningQueries(database.name, busy.tag)) === 2, 10_000)).toBe(true);

    const exit = exitOf(running.process, 20_000);
    const signalledAt = Date.now();
    running.process.kill('SIGTERM');
    await shuttingDown(running);
    running.process.kill('SIGTERM');

    // Answered at once, not at the default 10 s deadline.
    for (const outcome of await within(Promise.all(calls), 15_000, 'the 2 calls')) {
      expectShutdownError(outcome);
      expect(outcome.at - signalledAt).toBeLessThan(5000);
    }
    const { code, at } = await exit;
    expect(code).toBe(0);
    expect(at - signalledAt).toBeLessThan(8000);
    expect(await until(async () => (await runningQueries(database.name, busy.tag)) === 0, 2000)).toBe(true);
    expect(running.logs.find(line => String(line['msg']).startsWith('calls still running'))).toMatchObject({
      level: 'warn',
      cutOff: 2
    });
    expect(await until(async () => (await sessionsOf(database.name)) === 0, 2000)).toBe(true);
    expectNoErrorLogs(running);
  });
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A connection with a request whose head is not complete yet; `finish` sends the rest and reads the answer. */
async function openRequest(port: number, head: string): Promise<{ finish: (rest: string) => Promise<RawAnswer> }> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve).once('error', reject);
  });
  socket.write(head);
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()));
  return {
    async finish(rest) {
      socket.write(rest);
      const timer = setTimeout(() => socket.destroy(), 5000);
      await closed;
      clearTimeout(timer);
      const [head = '', ...bodyParts] = received.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(
        headerLines.map(line => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim()
        ])
      );
      return { status: Number(statusLine.split(' ')[1]), headers, body: bodyParts.join('\r\n\r\n') };
    }
  };
}

/** GET on a new connection: its status, or 'refused' when the connection is refused or dropped unanswered. */
function freshGet(port: number, path: string): Promise<number | 'refused'> {
  return new Promise(resolve => {
    const request = httpRequest({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, response => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET' ? 'refused' : 0);
    });
    request.end();
  });
}
