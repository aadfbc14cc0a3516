import type { DatabaseConfig } from '../../../src/config/schema.ts';
import type { DatabaseRuntime, IdentityMapping } from '../../../src/db/runtime.ts';
import { testRuntime } from '../test-runtime.ts';
import { SP_EXECUTESQL } from './requests.ts';
import { SERVER_INFO } from '../../../src/db/dialects/mssql/mssql-catalog.ts';
import type { RecordedRequest, Reply, TdsPeer } from './tds-peer.ts';
import { resultSet, type Column } from './tokens.ts';

export type MssqlDatabase = Extract<DatabaseConfig, { engine: 'mssql' }>;

/** sqlbridge's SQL Server settings for a TDS peer: one pooled connection, TLS off unless overridden. */
export function peerDatabase(peer: TdsPeer, overrides: Partial<MssqlDatabase> = {}): MssqlDatabase {
  return {
    engine: 'mssql',
    host: '127.0.0.1',
    port: peer.port,
    database: 'shop',
    authentication: 'sql',
    user: 'reader',
    password: 'reader-password',
    encrypt: 'optional',
    connectTimeoutMs: 3000,
    pool: { max: 1, idleTimeoutMs: 60_000 },
    ...overrides
  };
}

/** The real SQL Server dialect (mssql over tedious) in a DatabaseRuntime, connected to `database`. */
export function peerRuntime(
  database: MssqlDatabase,
  options: { queryTimeoutMs?: number; identity?: IdentityMapping; readOnly?: boolean } = {}
): DatabaseRuntime {
  return testRuntime(database, {
    limits: { queryTimeoutMs: options.queryTimeoutMs ?? 10_000 },
    ...(options.readOnly === undefined ? {} : { readOnly: options.readOnly }),
    ...(options.identity === undefined ? {} : { identity: options.identity })
  });
}

/** The SQL text a request carries: a batch's text, or the statement sp_executesql was given. */
export function sqlOf(request: RecordedRequest): string | undefined {
  if (request.kind === 'batch') return request.sql;
  if (request.kind === 'rpc' && request.procedure === SP_EXECUTESQL) {
    const statement = request.parameters[0]?.value;
    return typeof statement === 'string' ? statement : undefined;
  }
  return undefined;
}

/**
 * The replies every sqlbridge connection needs: the server description it reads once connected
 * (mssql-catalog.ts SERVER_INFO), as SQL Server 2022 would answer it.
 */
export function serverInfoReply(request: RecordedRequest): Reply | undefined {
  if (sqlOf(request) !== SERVER_INFO) return undefined;
  const columns: Column[] = [
    { name: 'product_version', type: 'nvarchar' },
    { name: 'edition', type: 'nvarchar' },
    { name: 'engine_edition', type: 'int' },
    { name: 'database_name', type: 'nvarchar' },
    { name: 'default_schema', type: 'nvarchar' }
  ];
  return { tokens: resultSet(columns, [['16.0.1000.6', 'Developer Edition (64-bit)', 3, 'shop', 'dbo']]) };
}
