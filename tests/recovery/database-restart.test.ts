import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDatabases, MYSQL } from '../dialects/engines/mysql.ts';
import { createPostgresDatabase, POSTGRES } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { mariadbService, postgresService, waitFor, type Service } from '../helpers/services.ts';

/**
 * The database goes away while sqlbridge runs: calls fail with a clear, safe error, and the first
 * call after the database is back succeeds, without restarting sqlbridge. This suite stops the
 * project machine's own PostgreSQL and MariaDB, so it runs on its own, after the others.
 */

interface Case {
  service: Service;
  environment: string;
}

const CASES: Case[] = [
  { service: postgresService, environment: 'pg' },
  { service: mariadbService, environment: 'maria' }
];

describe('recovery when the database restarts', () => {
  let server: RunningServer;
  const drops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    for (const { service } of CASES) await waitFor(() => service.ready(), 30_000);
    const pg = await createPostgresDatabase(
      'CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);'
    );
    const maria = await createMysqlDatabases(
      'CREATE TABLE {main}.t (id int PRIMARY KEY);\nINSERT INTO {main}.t VALUES (1), (2), (3);'
    );
    drops.push(pg.drop, maria.drop);
    const dir = emptyDir('recovery-');
    const config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        'environments:',
        '  pg:',
        `    database: { engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${POSTGRES.user}, database: ${pg.name}, tls: disable, connectTimeoutMs: 2000 }`,
        '  maria:',
        `    database: { engine: mysql, host: ${MYSQL.host}, port: ${MYSQL.port}, user: ${MYSQL.user}, database: ${maria.main}, tls: disable, connectTimeoutMs: 2000 }`
      ].join('\n')
    );
    server = await startServer({ args: ['serve', '--no-auth', '--config', config, '--data-dir', dir] });
  }, 120_000);

  afterAll(async () => {
    for (const { service } of CASES) {
      if (!(await service.ready())) {
        await service.start();
        await waitFor(() => service.ready(), 60_000);
      }
    }
    await server.stop();
    for (const drop of drops) await drop();
  }, 120_000);

  for (const { service, environment } of CASES) {
    it(`${service.name}: clear errors while it is down, answers again once it is back`, async () => {
      const client = new Client({ name: 'recovery', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${server.baseUrl}/${environment}/mcp`)));
      const count = () => client.callTool({ name: 'execute_sql', arguments: { query: 'SELECT COUNT(*) AS n FROM t' } });
      try {
        expect((await count()).structuredContent).toMatchObject({ rows: [[3]] });

        await service.stop();
        const down = await count();
        expect(down.isError).toBe(true);
        const text = (down.content as { text: string }[])[0]?.text ?? '';
        expect(text).toMatch(
          /^The database is unavailable: (cannot reach the database server|the database server is not accepting connections right now|the connection to the database server was lost while the statement ran)\nHint: /
        );
        expect(text).not.toMatch(/127\.0\.0\.1|5432|3306|Error:|\bat \S+\.(js|ts)/);
        const tables = await client.callTool({ name: 'list_tables', arguments: {} });
        expect(tables.isError).toBe(true);

        await service.start();
        await waitFor(() => service.ready(), 60_000);
        const back = await count();
        expect(back.isError, JSON.stringify(back.content)).toBeFalsy();
        expect(back.structuredContent).toMatchObject({ rows: [[3]] });
      } finally {
        await client.close();
      }
      expect(server.process.exitCode).toBeNull();
    }, 120_000);
  }
});
