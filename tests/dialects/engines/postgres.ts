import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { DatabaseConfig } from '../../../src/config/schema.ts';
import type { EngineSpec, EngineFixture } from '../engine.ts';
import { randomId } from '../engine.ts';

/** The PostgreSQL of this project's machines (127.0.0.1:5432, trust auth, database `test`). */
export const POSTGRES = {
  host: process.env['SQLBRIDGE_TEST_PG_HOST'] ?? '127.0.0.1',
  port: Number(process.env['SQLBRIDGE_TEST_PG_PORT'] ?? 5432),
  user: 'postgres',
  database: 'test'
};
const FIXTURE = readFileSync(new URL('../../fixtures/dialects/postgres.sql', import.meta.url), 'utf8');

export async function pgAdmin<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...POSTGRES, database });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A configuration file's `database:` value for a database of this PostgreSQL (no TLS on loopback). */
export function postgresDatabaseYaml(database: string, extra = ''): string {
  return `{ engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${POSTGRES.user}, database: ${database}, tls: disable${extra} }`;
}

/** A fresh database per run, with schemas public and other. */
/** sqlbridge's settings for a database of this PostgreSQL (no TLS on loopback), or of a relay in front of it. */
export function postgresDatabaseConfig(
  database: string,
  options: { port?: number; poolMax?: number; connectTimeoutMs?: number } = {}
): Extract<DatabaseConfig, { engine: 'postgres' }> {
  return {
    engine: 'postgres',
    host: POSTGRES.host,
    port: options.port ?? POSTGRES.port,
    user: POSTGRES.user,
    database,
    tls: 'disable',
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    pool: { max: options.poolMax ?? 4, idleTimeoutMs: 60_000 }
  };
}

export async function createPostgresDatabase(sql: string): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = `sqlbridge_test_${randomId()}`;
  await pgAdmin('test', client => client.query(`CREATE DATABASE ${name}`));
  await pgAdmin(name, client => client.query(sql));
  return {
    name,
    drop: () =>
      pgAdmin('test', client => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined)
  };
}

export const postgres: EngineSpec = {
  engine: 'postgres',
  async create(): Promise<EngineFixture> {
    const { name, drop } = await createPostgresDatabase(FIXTURE);
    return {
      database: postgresDatabaseConfig(name),
      mainSchema: 'public',
      otherSchema: 'other',
      drop
    };
  },
  longText: (n, length) => `SELECT ${n} AS i, repeat('x', ${length}) AS v`,
  series: n => `SELECT i FROM generate_series(1, ${n}) AS s(i)`,
  sleep: marker =>
    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c /* ${marker} */`,
  running: async (fixture, marker) =>
    pgAdmin('test', async client => {
      const result = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE $2 AND pid <> pg_backend_pid()",
        [fixture.database.engine === 'postgres' ? fixture.database.database : '', `%${marker}%`]
      );
      return Number(result.rows[0]?.n ?? 0);
    }),
  identitySql: keys => `SELECT ${keys.map(key => `current_setting('sqlbridge.${key}', true) AS ${key}`).join(', ')}`,
  writesAsReads: 'refused',
  ddlAsReads: ['CREATE TABLE sneaky (a int)', 'DROP TABLE canary', 'TRUNCATE canary'],
  typed: [
    { column: 'dec', expected: '12345678901234.5678', type: 'numeric(18,4)' },
    { column: 'big_dec', expected: '1234567890123456789012345678.0123456789', type: 'numeric(38,10)' },
    { column: 'big', expected: '9223372036854775807', type: 'bigint' },
    { column: 'small_big', expected: 42, type: 'bigint' },
    { column: 'int', expected: -7, type: 'integer' },
    { column: 'flag', expected: true, type: 'boolean' },
    { column: 'ratio', expected: 0.1, type: 'double precision' },
    { column: 'real_value', expected: 1.5, type: 'real' },
    { column: 'born', expected: '2024-02-29', type: 'date' },
    { column: 'ts', expected: '2024-12-31T23:59:59.123456', type: 'timestamp(6)' },
    { column: 'tstz', expected: '2024-12-31T21:59:59.123456+00:00', type: 'timestamptz' },
    { column: 't', expected: '12:34:56.789', type: 'time(3)' },
    { column: 'guid', expected: '6f1e7a7c-0d1b-4c5a-9a3e-2b8e4f0c1d2a', type: 'uuid' },
    { column: 'bin', expected: 'AP8Q', type: 'bytea' },
    { column: 'long_bin', expected: `${Buffer.alloc(48).toString('base64')}… (4096 bytes, shortened)`, type: 'bytea' },
    { column: 'txt', expected: 'line one\nline two | with a pipe', type: 'text' },
    { column: 'js', expected: '{"a": 1}', type: 'jsonb' },
    { column: 'arr', expected: '{1,2,3}', type: 'integer[]' },
    { column: 'nul', expected: null, type: 'text' }
  ],
  connectionFailures: (fixture, blackhole) => {
    const base = fixture.database.engine === 'postgres' ? fixture.database : undefined;
    if (base === undefined) return [];
    return [
      {
        name: 'a role that does not exist',
        database: { ...base, user: 'sqlbridge_nobody' },
        problem: 'authentication'
      },
      {
        name: 'a database that does not exist',
        database: { ...base, database: 'sqlbridge_no_such_database' },
        problem: 'database_not_found'
      },
      { name: 'a closed port', database: { ...base, port: 1 }, problem: 'unreachable' },
      { name: 'TLS required by a server without it', database: { ...base, tls: 'verify-full' }, problem: 'tls' },
      {
        name: 'a server that never answers',
        database: { ...base, host: blackhole.host, port: blackhole.port, connectTimeoutMs: 700 },
        problem: 'timeout'
      }
    ];
  }
};
