import { writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createPostgresDatabase, POSTGRES } from '../dialects/engines/postgres.ts';
import { auditFileIn, obstructAuditFile, readAuditFile, untilAuditFile } from '../helpers/audit-file.ts';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { callTool, connectWithoutAuth, disconnect } from '../helpers/mcp-connect.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { killIfRunning, until } from '../helpers/shutdown.ts';
import { busyFor } from '../helpers/slow-postgres.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * `/readyz` against the real server process: real PostgreSQL (through a TCP relay that counts the
 * pings reaching it and can make it hang), a real SQLite file, the real OAuth storage and a file
 * sink made to fail for real. Liveness (`/healthz`) stays 200 throughout.
 */

/** The statement of a readiness ping, as it crosses the wire to PostgreSQL. */
const PING = 'SELECT 1';
/** A finished check answers the requests of the next second; waiting longer forces a new one. */
const PAST_REUSE_MS = 1100;
const TIMEOUT_MS = 500;

interface Report {
  status: 'ready' | 'not_ready';
  environments: Record<string, { database: string; ms: number }>;
  auth?: { storage: string; ms: number };
  audit: { healthy: boolean; sinks: { name: string; healthy: boolean; pending: number; lost: number }[] };
}

async function readyz(
  server: RunningServer
): Promise<{ status: number; body: Report; text: string; headers: Headers }> {
  const response = await fetch(`${server.baseUrl}/readyz`);
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Report, text, headers: response.headers };
}

const pause = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

const servers: RunningServer[] = [];
const cleanups: (() => Promise<void>)[] = [];

async function serve(lines: string[], noAuth: boolean): Promise<RunningServer> {
  const dir = lines[0]?.replace(/^dataDir: /, '') ?? '';
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(config, [...lines, ''].join('\n'));
  const server = await startServer({ args: ['serve', ...(noAuth ? ['--no-auth'] : []), '--config', config] });
  servers.push(server);
  return server;
}

afterAll(async () => {
  for (const server of servers) await killIfRunning(server);
  for (const cleanup of cleanups) await cleanup();
}, 60_000);

/** A fresh PostgreSQL database behind a relay that counts pings; `warehouse`'s database settings for it. */
async function warehouseBehindProxy(extra = ''): Promise<{ proxy: CountingProxy; database: string }> {
  const database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
  cleanups.push(database.drop);
  const proxy = await startCountingProxy(POSTGRES, PING);
  cleanups.push(() => proxy.close());
  return {
    proxy,
    database: `{ engine: postgres, host: 127.0.0.1, port: ${proxy.port}, user: ${POSTGRES.user}, database: ${database.name}, tls: disable${extra} }`
  };
}

describe('/readyz of a server whose databases, OAuth storage and audit trail all answer', () => {
  let server: RunningServer;
  let proxy: CountingProxy;

  beforeAll(async () => {
    let warehouse: string;
    ({ proxy, database: warehouse } = await warehouseBehindProxy());
    const dir = emptyDir('readiness-');
    server = await serve(
      [
        `dataDir: ${dir}`,
        `server: { readinessTimeoutMs: ${TIMEOUT_MS} }`,
        'environments:',
        '  warehouse:',
        `    database: ${warehouse}`,
        '  notes:',
        `    database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} }`,
        'auth:',
        '  users:',
        `    - { username: ana, passwordHash: "${await hashPassword('ana-readiness-password')}", environments: ["*"] }`
      ],
      false
    );
  }, 60_000);

  it('answers 200 with every check named, never cached', async () => {
    const { status, body, headers } = await readyz(server);
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(body).toEqual({
      status: 'ready',
      environments: {
        warehouse: { database: 'ok', ms: expect.any(Number) },
        notes: { database: 'ok', ms: expect.any(Number) }
      },
      auth: { storage: 'ok', ms: expect.any(Number) },
      audit: { healthy: true, sinks: [{ name: 'file', healthy: true, pending: expect.any(Number), lost: 0 }] }
    });
    for (const { ms } of [...Object.values(body.environments), body.auth ?? { ms: -1 }]) {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(TIMEOUT_MS);
    }
  });

  it('a probe storm costs the database one ping: concurrent requests share the check, the next second reuses it', async () => {
    await pause(PAST_REUSE_MS);
    const before = proxy.count();
    const storm = await Promise.all(Array.from({ length: 25 }, () => readyz(server)));
    expect(storm.map(answer => answer.status)).toEqual(Array.from({ length: 25 }, () => 200));
    // One check answered them all: the same measured times in every answer.
    expect(new Set(storm.map(answer => answer.text)).size).toBe(1);
    expect(proxy.count() - before).toBe(1);

    // Within the second that follows, the finished check answers without a new ping.
    const again = await Promise.all(Array.from({ length: 5 }, () => readyz(server)));
    expect(again.map(answer => answer.text)).toEqual(Array.from({ length: 5 }, () => storm[0]?.text));
    expect(proxy.count() - before).toBe(1);

    // After it, a new check pings again, once.
    await pause(PAST_REUSE_MS);
    expect((await readyz(server)).status).toBe(200);
    expect(proxy.count() - before).toBe(2);
  });

  it('a database that hangs counts as timeout at the deadline, and the server is ready again once it answers', async () => {
    await pause(PAST_REUSE_MS);
    proxy.stall();
    let hung;
    try {
      hung = await readyz(server);
    } finally {
      proxy.resume();
    }
    expect(hung.status).toBe(503);
    expect(hung.body.status).toBe('not_ready');
    expect(hung.body.environments['warehouse']?.database).toBe('timeout');
    expect(hung.body.environments['warehouse']?.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(hung.body.environments['warehouse']?.ms).toBeLessThan(TIMEOUT_MS + 1000);
    expect(hung.body.environments['notes']?.database).toBe('ok');
    expect(hung.body.auth?.storage).toBe('ok');
    expect(await until(async () => (await readyz(server)).status === 200, 10_000)).toBe(true);
    // Liveness never depended on the database.
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe('/readyz of a server with a database that is down', () => {
  const PASSWORD = 'readiness-secret-password-7f3a';
  let server: RunningServer;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    port = await closedPort();
    dir = emptyDir('readiness-down-');
    server = await serve(
      [
        `dataDir: ${dir}`,
        'environments:',
        '  notes:',
        `    database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} }`,
        '  ledger:',
        `    database: { engine: postgres, host: 127.0.0.1, port: ${port}, user: probe_login_name, password: ${PASSWORD}, database: ledger_database_name, tls: disable, connectTimeoutMs: 1000 }`
      ],
      true
    );
  }, 60_000);

  it('starts anyway, and answers 503 naming the environment as unreachable and nothing else of it', async () => {
    expect(server.logs.some(line => line['environment'] === 'ledger' && line['level'] === 'error')).toBe(true);
    const { status, body, text, headers } = await readyz(server);
    expect(status).toBe(503);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({
      status: 'not_ready',
      environments: {
        notes: { database: 'ok', ms: expect.any(Number) },
        ledger: { database: 'unreachable', ms: expect.any(Number) }
      },
      audit: { healthy: true, sinks: [{ name: 'file', healthy: true, pending: expect.any(Number), lost: 0 }] }
    });
    // No host, port, login, password, database name, path or driver text: only classes.
    for (const secret of [PASSWORD, 'probe_login_name', 'ledger_database_name', '127.0.0.1', String(port), dir]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/ECONNREFUSED|Error|connect|\/tmp\//i);
    // Still alive: liveness is not readiness.
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe('/readyz while the audit trail cannot be written', () => {
  let server: RunningServer;
  let dir: string;

  beforeAll(async () => {
    dir = emptyDir('readiness-audit-');
    server = await serve(
      [
        `dataDir: ${dir}`,
        'audit: { flushIntervalMs: 50 }',
        'environments:',
        '  notes:',
        `    database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} }`
      ],
      true
    );
    await untilAuditFile(auditFileIn(dir), records => records.some(record => record.event === 'server.started'));
  }, 60_000);

  it('pings are the server’s own: no query record for them in the trail', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await readyz(server)).status).toBe(200);
      await pause(PAST_REUSE_MS);
    }
    const client = await connectWithoutAuth(server.baseUrl, 'notes');
    try {
      expect((await callTool(client, 'execute_sql', { query: "SELECT 'by a caller' AS who" })).isError).toBe(false);
    } finally {
      await disconnect(client);
    }
    const records = await untilAuditFile(auditFileIn(dir), written => written.some(r => r.event === 'tool.called'));
    expect(records.filter(record => record.event.startsWith('query.')).map(record => record.statement)).toEqual([
      "SELECT 'by a caller' AS who"
    ]);
  });

  it('answers 503 while the sink fails, without its error text, and 200 once it writes again', async () => {
    const file = auditFileIn(dir);
    expect((await readyz(server)).status).toBe(200);
    const obstacle = obstructAuditFile(file);
    let failing;
    try {
      // Something to write: a call, whose records the sink fails to write.
      const client = await connectWithoutAuth(server.baseUrl, 'notes');
      try {
        expect((await callTool(client, 'execute_sql', { query: 'SELECT 1 AS one' })).isError).toBe(false);
      } finally {
        await disconnect(client);
      }
      let answer = await readyz(server);
      expect(await until(async () => (answer = await readyz(server)).status === 503, 5000)).toBe(true);
      failing = answer;
    } finally {
      obstacle.restore();
    }
    expect(failing.body).toEqual({
      status: 'not_ready',
      environments: { notes: { database: 'ok', ms: expect.any(Number) } },
      audit: { healthy: false, sinks: [{ name: 'file', healthy: false, pending: expect.any(Number), lost: 0 }] }
    });
    expect(failing.text).not.toContain(dir);
    expect(failing.text).not.toMatch(/ENOTDIR|audit\.jsonl/);
    expect(await until(async () => (await readyz(server)).status === 200, 10_000)).toBe(true);
    expect(readAuditFile(file).some(record => record.statement === 'SELECT 1 AS one')).toBe(true);
  });
});

describe.each([
  ['the check’s deadline', 10_000],
  ['the pool’s wait for a connection (connectTimeoutMs)', 200]
])('/readyz of a server whose pool is full of its own running statements, ended by %s', (_name, connectTimeoutMs) => {
  const QUERY_TIMEOUT_MS = 2000;
  let server: RunningServer;
  let proxy: CountingProxy;

  beforeAll(async () => {
    let warehouse: string;
    ({ proxy, database: warehouse } = await warehouseBehindProxy(
      `, connectTimeoutMs: ${connectTimeoutMs}, pool: { max: 1 }`
    ));
    const dir = emptyDir('readiness-busy-');
    server = await serve(
      [
        `dataDir: ${dir}`,
        `server: { readinessTimeoutMs: ${TIMEOUT_MS} }`,
        'environments:',
        '  warehouse:',
        `    database: ${warehouse}`,
        `    limits: { queryTimeoutMs: ${QUERY_TIMEOUT_MS} }`
      ],
      true
    );
  }, 60_000);

  /** Starts a call that holds the pool's one connection for `seconds`, and gives it time to reach the database. */
  async function holdThePool(seconds: number): Promise<{ call: Promise<unknown> }> {
    const client = await connectWithoutAuth(server.baseUrl, 'warehouse');
    const call = callTool(client, 'execute_sql', { query: busyFor(seconds) }).finally(() => disconnect(client));
    await pause(300);
    // Wrapped: an async function returning the promise itself would wait for the call to end.
    return { call };
  }

  it('is ready, the database "busy", while a statement the database answers lately holds every connection', async () => {
    const client = await connectWithoutAuth(server.baseUrl, 'warehouse');
    try {
      expect((await callTool(client, 'execute_sql', { query: 'SELECT 1 AS answered' })).isError).toBe(false);
    } finally {
      await disconnect(client);
    }
    await pause(PAST_REUSE_MS);
    const running = await holdThePool(1.5);
    const loaded = await readyz(server);
    expect(loaded.status).toBe(200);
    expect(loaded.body.status).toBe('ready');
    expect(loaded.body.environments['warehouse']?.database).toBe('busy');
    expect(loaded.body.environments['warehouse']?.ms).toBeGreaterThanOrEqual(
      Math.min(TIMEOUT_MS, connectTimeoutMs) - 5
    );
    expect(await running.call).toMatchObject({ isError: false });
    await pause(PAST_REUSE_MS);
    const idle = await readyz(server);
    expect(idle.status).toBe(200);
    expect(idle.body.environments['warehouse']?.database).toBe('ok');
  });

  it('is not ready when the database hangs under a running statement and last answered longer ago than the query timeout', async () => {
    await pause(QUERY_TIMEOUT_MS + 100);
    const client = await connectWithoutAuth(server.baseUrl, 'warehouse');
    proxy.stall();
    let hung;
    try {
      // Holds the pool's connection until its own deadline, the database answering nothing meanwhile.
      const running = callTool(client, 'execute_sql', { query: 'SELECT 2 AS never_answered' });
      await pause(100);
      hung = await readyz(server);
      // Its deadline passes, then its cancellation's grace: the call fails, the database silent.
      expect((await running).isError).toBe(true);
    } finally {
      proxy.resume();
      await disconnect(client);
    }
    expect(hung.status).toBe(503);
    expect(hung.body.environments['warehouse']?.database).toBe('timeout');
    expect(await until(async () => (await readyz(server)).status === 200, 10_000)).toBe(true);
  });
});
