import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDatabases, MYSQL } from '../dialects/engines/mysql.ts';
import { createPostgresDatabase, POSTGRES } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { mariadbService, postgresService, waitFor, type Service } from '../helpers/services.ts';

/**
 * Readiness follows the databases: `/readyz` turns 503 within 5 s of a database stopping, naming
 * that environment, and 200 again within 5 s of it being back, without restarting sqlbridge, while
 * `/healthz` (liveness) stays 200 throughout. Stops the machine's own PostgreSQL and MariaDB, with
 * the same mechanism as database-restart.test.ts.
 */

interface Case {
  service: Service;
  environment: string;
}

const CASES: Case[] = [
  { service: postgresService, environment: 'pg' },
  { service: mariadbService, environment: 'maria' }
];

/** The bound the issue sets for a change of readiness to show. */
const WITHIN_MS = 5000;

interface Report {
  status: string;
  environments: Record<string, { database: string }>;
}

describe('readiness when a database stops and comes back', () => {
  let server: RunningServer;
  const drops: (() => Promise<void>)[] = [];

  const readyz = async (): Promise<{ status: number; body: Report }> => {
    const response = await fetch(`${server.baseUrl}/readyz`);
    return { status: response.status, body: (await response.json()) as Report };
  };

  /** Polls `/readyz` until `check` holds, and returns how long that took and the answer that satisfied it. */
  const untilReadyz = async (
    check: (answer: { status: number; body: Report }) => boolean,
    timeoutMs: number
  ): Promise<{ ms: number; answer: { status: number; body: Report } }> => {
    const started = Date.now();
    for (;;) {
      const answer = await readyz();
      if (check(answer)) return { ms: Date.now() - started, answer };
      if (Date.now() - started > timeoutMs) throw new Error(`/readyz still answered ${JSON.stringify(answer)}`);
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    for (const { service } of CASES) await waitFor(() => service.ready(), 30_000);
    const pg = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
    const maria = await createMysqlDatabases('CREATE TABLE {main}.t (id int PRIMARY KEY);');
    drops.push(pg.drop, maria.drop);
    const dir = emptyDir('recovery-readiness-');
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
    it(`${service.name}: 503 within 5 s of it stopping, 200 within 5 s of it being back`, async () => {
      expect((await untilReadyz(answer => answer.status === 200, WITHIN_MS)).answer.body.status).toBe('ready');

      await service.stop();
      const down = await untilReadyz(answer => answer.status === 503, WITHIN_MS);
      expect(down.ms).toBeLessThanOrEqual(WITHIN_MS);
      expect(down.answer.body.status).toBe('not_ready');
      expect(['unreachable', 'unavailable']).toContain(down.answer.body.environments[environment]?.database);
      // Only the stopped database is reported.
      for (const [name, { database }] of Object.entries(down.answer.body.environments)) {
        if (name !== environment) expect(database).toBe('ok');
      }
      expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);

      await service.start();
      await waitFor(() => service.ready(), 60_000);
      const back = await untilReadyz(answer => answer.status === 200, WITHIN_MS);
      expect(back.ms).toBeLessThanOrEqual(WITHIN_MS);
      expect(back.answer.body.environments[environment]?.database).toBe('ok');
      expect(server.process.exitCode).toBeNull();
    }, 120_000);
  }
});
