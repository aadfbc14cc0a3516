import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../dialects/engine.ts';
import {
  createMssqlDatabase,
  MSSQL_URL,
  mssqlDatabaseYaml,
  mssqlEngine,
  runningMssqlRequests
} from '../dialects/engines/mssql.ts';
import { createMysqlDatabases, mysqlAdmin, MYSQL } from '../dialects/engines/mysql.ts';
import { createPostgresDatabase, pgAdmin, POSTGRES } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { eventMessage, openEventStream } from '../helpers/sse.ts';

/**
 * A long query started from the official MCP client, then cancelled by the client (2025 protocol:
 * notifications/cancelled; 2026-07-28: the client closes the response stream) or cut by the
 * environment's timeout; either way the statement must be gone from the database within 2 seconds,
 * as the database itself reports (pg_stat_activity, the MariaDB process list, SQL Server's
 * sys.dm_exec_requests). On SQL Server the cancel is a TDS attention; the long statement is a read
 * (the guard refuses WAITFOR, which reads nothing).
 */

interface Target {
  name: string;
  environment: string;
  /** Only with SQLBRIDGE_TEST_MSSQL_URL: no SQL Server runs on this project's machines. */
  needsMssql?: boolean;
  sleep: (marker: string) => string;
  running: (marker: string) => Promise<number>;
}

const TARGETS: Target[] = [
  {
    name: 'PostgreSQL',
    environment: 'pg',
    sleep: marker =>
      `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c /* ${marker} */`,
    running: marker =>
      pgAdmin('test', async client => {
        const result = await client.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
          [`%${marker}%`]
        );
        return Number(result.rows[0]?.n ?? 0);
      })
  },
  {
    name: 'MariaDB',
    environment: 'maria',
    sleep: marker =>
      `SELECT COUNT(*) FROM information_schema.COLUMNS a, information_schema.COLUMNS b, information_schema.COLUMNS c, information_schema.COLUMNS d /* ${marker} */`,
    running: marker =>
      mysqlAdmin(async connection => {
        const [rows] = await connection.query(
          'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()',
          [`%${marker}%`]
        );
        return (rows as { n: number }[])[0]?.n ?? 0;
      })
  },
  {
    name: 'SQL Server',
    environment: 'mssql',
    needsMssql: true,
    sleep: marker => mssqlEngine.sleep(marker),
    running: marker => runningMssqlRequests(marker)
  }
];

const ERAS = [
  { name: '2026-07-28 client (closes the response stream)', pin: '2026-07-28' as const },
  { name: '2025-11-25 client (notifications/cancelled)', pin: undefined }
];

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

describe('cancellation from the MCP client reaches the database', () => {
  let server: RunningServer;
  const drops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const pg = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
    const maria = await createMysqlDatabases('CREATE TABLE {main}.t (id int PRIMARY KEY)');
    drops.push(pg.drop, maria.drop);
    const dir = emptyDir('cancel-');
    const config = join(dir, 'sqlbridge.yaml');
    const limits = (timeout: number) => `    limits: { queryTimeoutMs: ${timeout} }\n`;
    const mssql: string[] = [];
    if (MSSQL_URL !== undefined) {
      const database = await createMssqlDatabase(['CREATE TABLE dbo.t (id int PRIMARY KEY)']);
      drops.push(database.drop);
      const line = `    database: ${mssqlDatabaseYaml(database.name)}`;
      mssql.push('  mssql:', line, limits(20_000), '  mssql-quick:', line, limits(1500));
    }
    writeFileSync(
      config,
      [
        'environments:',
        '  pg:',
        `    database: { engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${POSTGRES.user}, database: ${pg.name}, tls: disable }`,
        limits(20_000),
        '  pg-quick:',
        `    database: { engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${POSTGRES.user}, database: ${pg.name}, tls: disable }`,
        limits(1500),
        '  maria:',
        `    database: { engine: mysql, host: ${MYSQL.host}, port: ${MYSQL.port}, user: ${MYSQL.user}, database: ${maria.main}, tls: disable }`,
        limits(20_000),
        '  maria-quick:',
        `    database: { engine: mysql, host: ${MYSQL.host}, port: ${MYSQL.port}, user: ${MYSQL.user}, database: ${maria.main}, tls: disable }`,
        limits(1500),
        ...mssql
      ].join('\n')
    );
    server = await startServer({ args: ['serve', '--no-auth', '--config', config, '--data-dir', dir] });
  }, 60_000);

  afterAll(async () => {
    await server.stop();
    for (const drop of drops) await drop();
  }, 60_000);

  async function connect(environment: string, pin: '2026-07-28' | undefined): Promise<Client> {
    const client = new Client(
      { name: 'cancel-e2e', version: '1' },
      pin === undefined ? {} : { versionNegotiation: { mode: { pin } } }
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.baseUrl}/${environment}/mcp`)));
    return client;
  }

  for (const target of TARGETS) {
    // SQL Server cannot run on this project's machines; its cases run wherever SQLBRIDGE_TEST_MSSQL_URL names one.
    const skip = target.needsMssql === true && MSSQL_URL === undefined;
    for (const era of ERAS) {
      it.skipIf(skip)(`${target.name}, ${era.name}: a cancelled call stops the statement`, async () => {
        const client = await connect(target.environment, era.pin);
        const marker = `sqlbridge-e2e-${randomId()}`;
        const controller = new AbortController();
        try {
          const call = client.callTool(
            { name: 'execute_sql', arguments: { query: target.sleep(marker) } },
            { signal: controller.signal }
          );
          call.catch(() => undefined);
          expect(await until(async () => (await target.running(marker)) > 0, 5000)).toBe(true);
          const cancelledAt = Date.now();
          controller.abort();
          await expect(call).rejects.toThrow();
          expect(await until(async () => (await target.running(marker)) === 0, 2000)).toBe(true);
          expect(Date.now() - cancelledAt).toBeLessThan(2000);
        } finally {
          await client.close();
        }
      });
    }

    it.skipIf(skip)(`${target.name}: the environment's timeout stops the statement and says so`, async () => {
      const client = await connect(`${target.environment}-quick`, undefined);
      const marker = `sqlbridge-e2e-${randomId()}`;
      try {
        const started = Date.now();
        const result = await client.callTool({ name: 'execute_sql', arguments: { query: target.sleep(marker) } });
        expect(result.isError).toBe(true);
        expect((result.content as { text: string }[])[0]?.text).toBe(
          'Query timed out: the query ran longer than 1500 ms and was cancelled on the database\nHint: narrow it with WHERE, aggregate, or limit the rows'
        );
        expect(await until(async () => (await target.running(marker)) === 0, 2000)).toBe(true);
        expect(Date.now() - started).toBeLessThan(3500);
      } finally {
        await client.close();
      }
    });
  }

  describe('a cancelled call of a 2025-era session, sent by hand', () => {
    const MEDIA = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.baseUrl}${path}`, {
        method: 'POST',
        headers: { ...MEDIA, ...headers },
        body: JSON.stringify(body)
      });
    const callOf = (id: number, marker: string) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'execute_sql', arguments: { query: TARGETS[0]!.sleep(marker) } }
    });
    const cancellation = (id: number) => ({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: id }
    });

    it('Streamable HTTP: ends the call’s event stream, which gets no answer', async () => {
      const initialize = await post('/pg/mcp', {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'cancel-e2e', version: '1' } }
      });
      const session = {
        'mcp-session-id': initialize.headers.get('mcp-session-id') ?? '',
        'mcp-protocol-version': '2025-11-25'
      };
      await initialize.text();
      await (await post('/pg/mcp', { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).text();
      const marker = `sqlbridge-e2e-${randomId()}`;
      const call = await post('/pg/mcp', callOf(7, marker), session);
      expect(call.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const body: ReadableStreamDefaultReader<Uint8Array> = call.body!.getReader();
      expect(await until(async () => (await TARGETS[0]!.running(marker)) > 0, 5000)).toBe(true);
      const cancelledAt = Date.now();
      expect((await post('/pg/mcp', cancellation(7), session)).status).toBe(202);
      // Read to the end: keep-alives at most, no answer, and the end within 2 s (it stayed open for good before).
      let text = '';
      for (let read = await body.read(); !read.done; read = await body.read())
        text += new TextDecoder().decode(read.value);
      expect(Date.now() - cancelledAt).toBeLessThan(2000);
      expect(text).not.toContain('"id":7');
      expect(await until(async () => (await TARGETS[0]!.running(marker)) === 0, 2000)).toBe(true);
    });

    it('legacy HTTP+SSE: the call is no longer running, so its id may be used again', async () => {
      const { stream } = await openEventStream(`${server.baseUrl}/pg/sse`);
      try {
        const messages = (await stream.nextEvent())?.data ?? '';
        const initialize = {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'cancel-e2e', version: '1' } }
        };
        expect((await post(messages, initialize)).status).toBe(202);
        expect(eventMessage(await stream.nextEvent())).toMatchObject({ id: 1 });
        expect((await post(messages, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
        const marker = `sqlbridge-e2e-${randomId()}`;
        expect((await post(messages, callOf(7, marker))).status).toBe(202);
        expect(await until(async () => (await TARGETS[0]!.running(marker)) > 0, 5000)).toBe(true);
        // While it runs, its id belongs to it.
        expect((await post(messages, { jsonrpc: '2.0', id: 7, method: 'ping' })).status).toBe(400);
        expect((await post(messages, cancellation(7))).status).toBe(202);
        expect(await until(async () => (await TARGETS[0]!.running(marker)) === 0, 2000)).toBe(true);
        expect((await post(messages, { jsonrpc: '2.0', id: 7, method: 'ping' })).status).toBe(202);
        expect(eventMessage(await stream.nextEvent())).toMatchObject({ id: 7, result: {} });
      } finally {
        await stream.close();
      }
    });
  });
});
