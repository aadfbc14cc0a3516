import { SSEClientTransport, Client, type FetchLike } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../dialects/engines/postgres.ts';
import type { RunningServer } from '../helpers/server-process.ts';
import {
  ENVIRONMENT,
  closeQuietly,
  connectClient,
  exitOf,
  killIfRunning,
  expectNoErrorLogs,
  expectShutdownError,
  runningQueries,
  sessionsOf,
  settle,
  startPgServer,
  taggedBusy,
  until,
  within,
  type McpClient
} from '../helpers/shutdown.ts';

/**
 * Calls still running at `server.shutdownTimeoutMs` (here 1 s) are cut off (src/http/in-flight.ts,
 * src/transports/mcp-exchange.ts, event-stream.ts, sse-session.ts): each gets the JSON-RPC error
 * -32000 "Server shutting down…", as a JSON answer when nothing was sent yet or as an event at the
 * end of its event stream, and its query is stopped on PostgreSQL; the process then exits 0 long
 * before the 30 s queries would have ended, with nothing logged at error level. Over Streamable HTTP
 * as 2026-07-28 and as 2025-11-25 clients, and over the legacy HTTP+SSE transport.
 */

const DEADLINE_MS = 1000;
/** The cut-off answers come within this long of the deadline. */
const ANSWER_SLACK_MS = 4000;
/** The process is gone within this long of the signal, where the queries would run 30 s. */
const EXIT_WITHIN_MS = 10_000;

/** How each era answers a call that has sent nothing yet: 2026-07-28 in JSON, 2025 sessions on an event stream. */
const ERAS = [
  { name: '2026-07-28 clients', pin: '2026-07-28' as const, quietFormat: /^application\/json/ },
  { name: '2025-11-25 clients', pin: undefined, quietFormat: /^text\/event-stream/ }
];

describe('cut-off at the shutdown deadline', () => {
  let database: { name: string; drop: () => Promise<void> };
  let server: RunningServer | undefined;
  let clients: McpClient[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
  });

  afterEach(async () => {
    await closeQuietly(clients);
    clients = [];
    await Promise.allSettled(closers.splice(0).map(close => close()));
    await killIfRunning(server);
    server = undefined;
  });

  afterAll(async () => {
    await database.drop();
  });

  for (const era of ERAS) {
    it(
      `${era.name}: 8 running calls, 2 of them streaming progress, each get the shutdown error and their queries stop`,
      { timeout: 60_000 },
      async () => {
        server = await startPgServer(database.name, DEADLINE_MS);
        const running = server;
        clients = await Promise.all(Array.from({ length: 8 }, () => connectClient(running, era.pin)));
        const busy = taggedBusy(30);
        const progress = [0, 0];
        const calls = clients.map((mcp, i) =>
          settle(
            mcp.client.callTool(
              { name: 'execute_sql', arguments: { query: busy.sql } },
              i < 2
                ? {
                    onprogress: () => {
                      progress[i] = (progress[i] ?? 0) + 1;
                    }
                  }
                : {}
            )
          )
        );
        const startedAt = Date.now();
        expect(await until(async () => (await runningQueries(database.name, busy.tag)) === 8, 10_000)).toBe(true);
        // The streaming calls have had their first progress: their answers are event streams already.
        expect(await until(() => progress.every(count => count > 0), 5000)).toBe(true);
        await new Promise(resolve => setTimeout(resolve, Math.max(0, startedAt + 1500 - Date.now())));

        const exit = exitOf(running.process, 20_000);
        const signalledAt = Date.now();
        running.process.kill('SIGTERM');

        const outcomes = await within(Promise.all(calls), 15_000, 'the 8 calls');
        for (const outcome of outcomes) {
          expectShutdownError(outcome);
          expect(outcome.at - signalledAt).toBeLessThan(DEADLINE_MS + ANSWER_SLACK_MS);
        }
        // The errors came in both forms: on the streams already open, and in the answers not yet started.
        for (const [i, mcp] of clients.entries()) {
          expect(mcp.callFormats).toEqual([expect.stringMatching(i < 2 ? /^text\/event-stream/ : era.quietFormat)]);
        }
        // The queries were stopped on the database (PostgreSQL would not notice a closed connection).
        expect(await until(async () => (await runningQueries(database.name, busy.tag)) === 0, 3000)).toBe(true);
        const { code, at } = await exit;
        expect(code).toBe(0);
        expect(at - signalledAt).toBeLessThan(EXIT_WITHIN_MS);
        expect(running.logs.find(line => String(line['msg']).startsWith('calls still running'))).toMatchObject({
          level: 'warn',
          running: 8,
          cutOff: 8
        });
        expect(await until(async () => (await sessionsOf(database.name)) === 0, 2000)).toBe(true);
        expectNoErrorLogs(running);
      }
    );
  }

  it(
    'legacy HTTP+SSE: the cut-off call gets the error on its stream, then the stream ends',
    { timeout: 60_000 },
    async () => {
      server = await startPgServer(database.name, DEADLINE_MS);
      const running = server;
      const stream = { text: '', endedAt: undefined as number | undefined };
      // The event stream as it arrives, and when it ends.
      const watching: FetchLike = async (url, init) => {
        const response = await fetch(url, init);
        if (init?.method === 'POST' || response.body === null) return response;
        const body = response.body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform: (chunk, controller) => {
              stream.text += new TextDecoder().decode(chunk);
              controller.enqueue(chunk);
            },
            flush: () => {
              stream.endedAt ??= Date.now();
            }
          })
        );
        return new Response(body, { status: response.status, headers: response.headers });
      };
      const client = new Client({ name: 'shutdown-sse-e2e', version: '1' });
      // The transport is deprecated for new clients; serving the clients that still use it is what is tested here.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      const transport = new SSEClientTransport(new URL(`${running.baseUrl}/${ENVIRONMENT}/sse`), { fetch: watching });
      await client.connect(transport);
      closers.push(() => client.close());
      const busy = taggedBusy(30);
      const call = settle(client.callTool({ name: 'execute_sql', arguments: { query: busy.sql } }));
      expect(await until(async () => (await runningQueries(database.name, busy.tag)) === 1, 10_000)).toBe(true);

      const exit = exitOf(running.process, 20_000);
      const signalledAt = Date.now();
      running.process.kill('SIGTERM');

      const outcome = await within(call, 15_000, 'the call');
      expectShutdownError(outcome);
      expect(outcome.at - signalledAt).toBeLessThan(DEADLINE_MS + ANSWER_SLACK_MS);
      expect(await until(() => stream.endedAt !== undefined, DEADLINE_MS + ANSWER_SLACK_MS)).toBe(true);
      const events = stream.text
        .split('\n\n')
        .filter(event => event.startsWith('event: message'))
        .map(
          event => JSON.parse(event.slice(event.indexOf('data: ') + 6)) as { error?: { code: number; message: string } }
        );
      expect(events.at(-1)?.error).toMatchObject({
        code: -32000,
        message: expect.stringMatching(/^Server shutting down/)
      });
      expect(await until(async () => (await runningQueries(database.name, busy.tag)) === 0, 3000)).toBe(true);
      const { code, at } = await exit;
      expect(code).toBe(0);
      expect(at - signalledAt).toBeLessThan(EXIT_WITHIN_MS);
      expect(await until(async () => (await sessionsOf(database.name)) === 0, 2000)).toBe(true);
      expectNoErrorLogs(running);
    }
  );
});
