import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import type { DatabaseConfig } from '../../../src/config/schema.ts';
import type { EngineSpec, EngineFixture } from '../engine.ts';
import { randomId } from '../engine.ts';

/** The MariaDB of this project's machines (127.0.0.1:3306, root without a password, database `test`). */
export const MYSQL = {
  host: process.env['SQLBRIDGE_TEST_MYSQL_HOST'] ?? '127.0.0.1',
  port: Number(process.env['SQLBRIDGE_TEST_MYSQL_PORT'] ?? 3306),
  user: 'root',
  password: ''
};
const FIXTURE = readFileSync(new URL('../../fixtures/dialects/mysql.sql', import.meta.url), 'utf8');

/** sqlbridge's settings for a database of this MariaDB (no TLS on loopback), or of a relay in front of it. */
export function mysqlDatabaseConfig(
  database: string,
  options: { host?: string; port?: number; poolMax?: number } = {}
): Extract<DatabaseConfig, { engine: 'mysql' }> {
  return {
    engine: 'mysql',
    host: options.host ?? MYSQL.host,
    port: options.port ?? MYSQL.port,
    user: MYSQL.user,
    database,
    tls: 'disable',
    connectTimeoutMs: 5000,
    pool: { max: options.poolMax ?? 4, idleTimeoutMs: 60_000 }
  };
}

export async function mysqlAdmin<T>(work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ ...MYSQL, database: 'test' });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

/** Two fresh databases per run (MySQL's schemas), filled one statement at a time. */
export async function createMysqlDatabases(
  sql: string
): Promise<{ main: string; other: string; drop: () => Promise<void> }> {
  const main = `sqlbridge_test_${randomId()}`;
  const other = `${main}_other`;
  await mysqlAdmin(async connection => {
    await connection.query(`CREATE DATABASE ${main}`);
    await connection.query(`CREATE DATABASE ${other}`);
    const statements = sql
      .replaceAll('{main}', main)
      .replaceAll('{other}', other)
      .split(/;\s*\n/)
      .map(s => s.replace(/^--.*$/gm, '').trim())
      .filter(s => s !== '');
    for (const statement of statements) await connection.query(statement);
  });
  return {
    main,
    other,
    drop: () =>
      mysqlAdmin(async connection => {
        await connection.query(`DROP DATABASE IF EXISTS ${main}`);
        await connection.query(`DROP DATABASE IF EXISTS ${other}`);
      })
  };
}

export const mysqlEngine: EngineSpec = {
  engine: 'mysql',
  async create(): Promise<EngineFixture> {
    const { main, other, drop } = await createMysqlDatabases(FIXTURE);
    return {
      database: {
        engine: 'mysql',
        host: MYSQL.host,
        port: MYSQL.port,
        user: MYSQL.user,
        database: main,
        tls: 'disable',
        connectTimeoutMs: 5000,
        pool: { max: 4, idleTimeoutMs: 60_000 }
      },
      mainSchema: main,
      otherSchema: other,
      drop
    };
  },
  longText: (n, length) => `SELECT ${n} AS i, REPEAT('x', ${length}) AS v`,
  series: n => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n}) SELECT i FROM n`,
  sleep: marker =>
    `SELECT COUNT(*) FROM information_schema.COLUMNS a, information_schema.COLUMNS b, information_schema.COLUMNS c, information_schema.COLUMNS d /* ${marker} */`,
  running: async (_fixture, marker) =>
    mysqlAdmin(async connection => {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()',
        [`%${marker}%`]
      );
      return Number(rows[0]?.['n'] ?? 0);
    }),
  identitySql: keys => `SELECT ${keys.map(key => `@sqlbridge_${key} AS ${key}`).join(', ')}`,
  writesAsReads: 'refused',
  // DDL commits the read-only transaction implicitly and then runs: only the statement guard stops it.
  ddlAsReads: [],
  typed: [
    { column: 'dec_value', expected: '12345678901234.5678', type: 'decimal(18,4)' },
    { column: 'big_dec', expected: '1234567890123456789012345678.0123456789', type: 'decimal(38,10)' },
    { column: 'big', expected: '9223372036854775807', type: 'bigint' },
    { column: 'small_big', expected: 42, type: 'bigint' },
    { column: 'int_value', expected: -7, type: 'int' },
    { column: 'flag', expected: true, type: 'tinyint(1)' },
    { column: 'bit1', expected: true, type: 'bit(1)' },
    { column: 'bits', expected: 2730, type: 'bit(12)' },
    { column: 'ratio', expected: 0.1, type: 'double' },
    { column: 'real_value', expected: 1.5, type: 'float' },
    { column: 'born', expected: '2024-02-29', type: 'date' },
    { column: 'ts', expected: '2024-12-31T23:59:59.123456', type: 'datetime' },
    { column: 'tstamp', expected: '2024-12-31T21:59:59.123456Z', type: 'timestamp' },
    { column: 't', expected: '12:34:56.789', type: 'time' },
    { column: 'guid', expected: '6f1e7a7c-0d1b-4c5a-9a3e-2b8e4f0c1d2a', type: 'char' },
    { column: 'bin', expected: 'AP8Q', type: 'varbinary' },
    { column: 'long_bin', expected: `${Buffer.alloc(48).toString('base64')}… (4096 bytes, shortened)`, type: 'blob' },
    { column: 'txt', expected: 'line one\nline two | with a pipe', type: 'text' },
    { column: 'js', expected: '{"a": 1}', type: 'text' },
    { column: 'geom', expected: 'POINT (1 2)', type: 'geometry' },
    { column: 'choice', expected: 'b', type: 'enum' },
    { column: 'tags', expected: 'x,z', type: 'set' },
    { column: 'yr', expected: 2024, type: 'year' },
    { column: 'nul', expected: null, type: 'varchar' }
  ],
  connectionFailures: (fixture, blackhole) => {
    const base = fixture.database.engine === 'mysql' ? fixture.database : undefined;
    if (base === undefined) return [];
    return [
      {
        name: 'a login that does not exist',
        database: { ...base, user: 'sqlbridge_nobody', password: 'wrong' },
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
