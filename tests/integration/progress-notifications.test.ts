import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Client,
  StreamableHTTPClientTransport,
  type Progress,
  type Transport,
  type VersionNegotiationOptions
} from '@modelcontextprotocol/client';
import { InMemoryTransport, createMcpHandler } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { configSchema } from '../../src/config/schema.ts';
import type { Environment } from '../../src/environment.ts';
import { createServerFactory } from '../../src/mcp/server.ts';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import { POSTGRES, createPostgresDatabase } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { rowsOverTime } from '../helpers/slow-postgres.ts';

/**
 * MCP progress notifications (https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress)
 * through the official client SDK, against the server sqlbridge builds for every transport: a call
 * with `onprogress` (a progressToken) receives strictly increasing progress while its query runs,
 * a call without one receives none, and a notification that cannot be delivered does not fail the
 * call. Over an in-memory pair (a 2025-11-25 session, as stdio and HTTP+SSE serve) and over the
 * Streamable HTTP handler as a 2026-07-28 and as a 2025-11-25 client.
 */

const INTERVAL = 200;
/** 300 rows, one every 5 ms: about 1.5 s, several intervals. */
const ROWS = 300;
const PAD = 'x'.repeat(100);
// Wide enough rows that the server's 8 KB output buffer fills, and is sent, every ~60 rows (~300 ms).
const SLOW_QUERY = `SELECT n, ready, repeat('x', 100) AS pad FROM (${rowsOverTime(ROWS, 5)}) AS slow`;
const EXPECTED_ROWS = Array.from({ length: ROWS }, (_, i) => [i + 1, 1, PAD]);
const MESSAGE = /^Query running for \d+(\.\d)? s; [\d,]+ rows? read so far$/;

interface Connected {
  client: Client;
  close: () => Promise<void>;
}

interface Mode {
  name: string;
  era: 'modern' | 'legacy';
  negotiation?: VersionNegotiationOptions;
  connect: (environment: Environment, logger: Logger, client: Client) => Promise<Connected>;
}

function newClient(versionNegotiation?: VersionNegotiationOptions): Client {
  return new Client(
    { name: 'progress-test', version: '1.0.0' },
    versionNegotiation === undefined ? {} : { versionNegotiation }
  );
}

async function inMemory(environment: Environment, logger: Logger, client: Client): Promise<Connected> {
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const server = await createServerFactory(environment, { version: '0.0.0-test', logger })({ era: 'legacy' });
  await server.connect(serverTransport);
  await client.connect(clientTransport);
  return {
    client,
    close: async () => {
      await client.close();
      await server.close();
    }
  };
}

async function overHttp(environment: Environment, logger: Logger, client: Client): Promise<Connected> {
  const handler = createMcpHandler(createServerFactory(environment, { version: '0.0.0-test', logger }));
  const transport: Transport = new StreamableHTTPClientTransport(new URL('http://sqlbridge.test/progress/mcp'), {
    fetch: (url, init) => handler.fetch(new Request(url, init))
  });
  await client.connect(transport);
  return {
    client,
    close: async () => {
      await client.close();
      await handler.close();
    }
  };
}

const MODES: Mode[] = [
  { name: 'in memory (2025-11-25 session)', era: 'legacy', connect: inMemory },
  {
    name: 'Streamable HTTP as a 2026-07-28 client',
    era: 'modern',
    negotiation: { mode: { pin: '2026-07-28' } },
    connect: overHttp
  },
  { name: 'Streamable HTTP as a 2025-11-25 client', era: 'legacy', connect: overHttp }
];

let database: { name: string; drop: () => Promise<void> } | undefined;
let app: App | undefined;
let environment: Environment;
let logger: Logger;
const logLines: string[] = [];

beforeAll(async () => {
  database = await createPostgresDatabase(`CREATE VIEW slow_view AS ${rowsOverTime(60, 20)}`);
  const config = configSchema.parse({
    dataDir: emptyDir(),
    environments: {
      progress: {
        database: {
          engine: 'postgres',
          host: POSTGRES.host,
          port: POSTGRES.port,
          user: POSTGRES.user,
          database: database.name,
          tls: 'disable'
        }
      }
    }
  });
  const stream = new PassThrough();
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => logLines.push(...chunk.split('\n').filter(Boolean)));
  logger = createLogger('debug', stream);
  // The interval reaches the runtime the way production builds it, through the app.
  app = createApp(config, logger, { progressIntervalMs: INTERVAL });
  expect(await app.connect()).toEqual([]);
  environment = app.environments[0]!;
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

function expectProgressUpdates(updates: readonly Progress[]): void {
  // ~7 in 1.5 s; a busy machine delays timers, so ask for fewer.
  expect(updates.length).toBeGreaterThanOrEqual(2);
  updates.slice(1).forEach((update, i) => expect(update.progress).toBeGreaterThan(updates[i]!.progress));
  for (const update of updates) {
    expect(update.total).toBeUndefined();
    expect(update.message).toMatch(MESSAGE);
  }
}

for (const mode of MODES) {
  describe(mode.name, () => {
    it('sends progress while execute_sql runs, to a call that asked, and still returns every row', async () => {
      const { client, close } = await mode.connect(environment, logger, newClient(mode.negotiation));
      try {
        expect(client.getProtocolEra()).toBe(mode.era);
        const updates: Progress[] = [];
        const result = await client.callTool(
          { name: 'execute_sql', arguments: { query: SLOW_QUERY } },
          { onprogress: update => updates.push(update) }
        );
        expect(result.isError).toBeFalsy();
        expect(result.structuredContent).toMatchObject({ rowCount: ROWS, rows: EXPECTED_ROWS, truncated: false });
        expectProgressUpdates(updates);
        // The rows arrive as the server sends them; the last updates have seen some.
        expect(updates.some(u => !u.message!.includes('; 0 rows'))).toBe(true);
      } finally {
        await close();
      }
    });

    it('sends no progress to a call without a progress token', async () => {
      const client = newClient(mode.negotiation);
      let notifications = 0;
      // Replaces the client's own routing of progress to onprogress callbacks: every one is counted.
      client.setNotificationHandler('notifications/progress', () => {
        notifications++;
      });
      const { close } = await mode.connect(environment, logger, client);
      try {
        expect(client.getProtocolEra()).toBe(mode.era);
        const result = await client.callTool({ name: 'execute_sql', arguments: { query: SLOW_QUERY } });
        expect(result.structuredContent).toMatchObject({ rowCount: ROWS, rows: EXPECTED_ROWS });
        await sleep(INTERVAL * 3);
        expect(notifications).toBe(0);
      } finally {
        await close();
      }
    });
  });
}

describe('other tools and failures', () => {
  it('sends progress while get_table_sample reads a slow view', async () => {
    const { client, close } = await inMemory(environment, logger, newClient());
    try {
      const updates: Progress[] = [];
      const result = await client.callTool(
        { name: 'get_table_sample', arguments: { table_name: 'slow_view', limit: 60 } },
        { onprogress: update => updates.push(update) }
      );
      expect(result.structuredContent).toMatchObject({ table: 'slow_view', rowCount: 60 });
      expectProgressUpdates(updates);
    } finally {
      await close();
    }
  });

  it('completes the call when progress notifications cannot be delivered, and logs that at debug', async () => {
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    // The server's side of the connection refuses progress notifications, as a closed stream would.
    const send = serverTransport.send.bind(serverTransport);
    serverTransport.send = (message, options) =>
      'method' in message && message.method === 'notifications/progress'
        ? Promise.reject(new Error('stream closed'))
        : send(message, options);
    const server = await createServerFactory(environment, { version: '0.0.0-test', logger })({ era: 'legacy' });
    await server.connect(serverTransport);
    const client = newClient();
    await client.connect(clientTransport);
    try {
      const before = logLines.length;
      const updates: Progress[] = [];
      const result = await client.callTool(
        { name: 'execute_sql', arguments: { query: SLOW_QUERY } },
        { onprogress: update => updates.push(update) }
      );
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ rowCount: ROWS, rows: EXPECTED_ROWS });
      expect(updates).toEqual([]);
      const undelivered = logLines
        .slice(before)
        .map(line => JSON.parse(line) as { level: string; msg: string; tool?: string })
        .filter(line => line.msg === 'progress notification not delivered');
      expect(undelivered.length).toBeGreaterThanOrEqual(2);
      expect(undelivered.every(line => line.level === 'debug' && line.tool === 'execute_sql')).toBe(true);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
