import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { MYSQL } from '../dialects/engines/mysql.ts';
import { POSTGRES } from '../dialects/engines/postgres.ts';

const run = promisify(execFile);

/**
 * Stopping and starting this machine's PostgreSQL and MariaDB, with the commands the project's
 * machines use, for the tests that prove sqlbridge recovers when a database goes away.
 */
export interface Service {
  name: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Whether the server accepts a connection right now. */
  ready(): Promise<boolean>;
}

const pgVersion = (): string => readdirSync('/etc/postgresql')[0] ?? '15';

export const postgresService: Service = {
  name: 'PostgreSQL',
  async stop() {
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', pgVersion(), 'main', 'stop', '-m', 'fast']);
  },
  async start() {
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', pgVersion(), 'main', 'start']);
  },
  async ready() {
    const client = new pg.Client({ ...POSTGRES, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
};

export const mariadbService: Service = {
  name: 'MariaDB',
  async stop() {
    await run('mariadb-admin', ['-h', MYSQL.host, '-P', String(MYSQL.port), '-u', MYSQL.user, 'shutdown']);
    // The command returns before the server process has exited; starting it again before then does nothing.
    await waitFor(async () => !(await mariadbRunning()), 60_000);
  },
  async start() {
    await run('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd']);
  },
  async ready() {
    try {
      const connection = await mysql.createConnection({ ...MYSQL, connectTimeout: 1000 });
      await connection.end();
      return true;
    } catch {
      return false;
    }
  }
};

async function mariadbRunning(): Promise<boolean> {
  try {
    await run('start-stop-daemon', ['--status', '--exec', '/usr/sbin/mariadbd']);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise(resolve => setTimeout(resolve, 200));
  }
}
