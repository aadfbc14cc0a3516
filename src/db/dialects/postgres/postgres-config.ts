import { readFileSync } from 'node:fs';
import type { PoolConfig } from 'pg';
import { parse as parseConnectionString, type ConnectionOptions } from 'pg-connection-string';
import type { DatabaseConfig } from '../../../config/schema.ts';
import { postgresTypes } from './postgres-types.ts';

export type PostgresDatabaseConfig = Extract<DatabaseConfig, { engine: 'postgres' }>;

export interface PostgresTarget {
  host: string;
  port: number;
  database: string | undefined;
  user: string | undefined;
}

/**
 * pg pool settings from the configuration: a URL's parts, overridden by discrete settings. The
 * statement timeout is a setting of every session from its start: a rolled-back transaction, `SET`
 * in one, or `RESET ALL` end with the session's value in force again, so a read needs no statement
 * of its own to set it.
 */
export function postgresPoolConfig(
  db: PostgresDatabaseConfig,
  statementTimeoutMs: number
): PoolConfig & { target: PostgresTarget } {
  const url: Partial<ConnectionOptions> = db.url === undefined ? {} : parseConnectionString(db.url);
  const host = db.host ?? url.host ?? 'localhost';
  const port = db.port ?? (url.port === undefined || url.port === null || url.port === '' ? 5432 : Number(url.port));
  const database = db.database ?? url.database ?? undefined;
  const user = db.user ?? url.user;
  const password = db.password ?? url.password;
  return {
    host,
    port,
    database,
    user,
    password,
    ssl: tlsOptions(db, host),
    max: db.pool.max,
    idleTimeoutMillis: db.pool.idleTimeoutMs,
    connectionTimeoutMillis: db.connectTimeoutMs,
    application_name: 'sqlbridge',
    // Timestamps with time zone come back in UTC, dates in ISO order, binary as hex and floating-point
    // numbers with every digit they hold, whatever the server's, database's or login's defaults.
    options: `-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=iso_8601 -c bytea_output=hex -c extra_float_digits=3 -c statement_timeout=${statementTimeoutMs}`,
    types: postgresTypes,
    keepAlive: true,
    target: { host, port, database, user }
  };
}

function tlsOptions(db: PostgresDatabaseConfig, host: string): PoolConfig['ssl'] {
  switch (db.tls) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      return {
        rejectUnauthorized: true,
        servername: host,
        ...(db.caFile === undefined ? {} : { ca: readFileSync(db.caFile, 'utf8') })
      };
  }
}
