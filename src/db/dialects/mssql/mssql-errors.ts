import { ConnectionError, SERVER_WITHOUT_TLS, type ConnectionProblem } from '../../../errors/connection-error.ts';
import { SqlbridgeError } from '../../../errors/sqlbridge-error.ts';
import type { MssqlSettings } from './mssql-config.ts';

/**
 * SQL Server failures: mssql's error codes (ELOGIN, ETIMEOUT, ESOCKET, EINSTLOOKUP …) for connecting,
 * and database error numbers (https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors)
 * for statements, whose messages are the database's own.
 */

interface MssqlError extends Error {
  code?: string;
  number?: number;
  originalError?: Error & { code?: string; message: string };
}

/** 3906: the database is read-only; 3902/3903: no matching transaction; 229/230: permission denied. */
const READ_ONLY_NUMBERS = new Set([3906, 3907, 3908, 3909]);

export function translateMssqlError(error: unknown, settings: MssqlSettings): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  if (error instanceof SqlbridgeError) return error;
  const mssqlError = error as MssqlError;
  const text = `${error.message} ${mssqlError.originalError?.message ?? ''}`;
  const detail = `mssql ${settings.host}${settings.instanceName === undefined ? '' : `\\${settings.instanceName}`}${settings.port === undefined ? '' : `:${settings.port}`}/${settings.database ?? ''}: ${text.trim()}`;
  const problem = connectionProblem(mssqlError, text);
  if (problem === 'tls-unsupported') return new ConnectionError('tls', detail, { ...SERVER_WITHOUT_TLS, cause: error });
  if (problem !== undefined) return new ConnectionError(problem, detail, { cause: error });
  if (mssqlError.number !== undefined && READ_ONLY_NUMBERS.has(mssqlError.number)) {
    return new SqlbridgeError('query_failed', `${error.message}: this environment is read-only`, {
      expose: true,
      hint: 'only statements that read data are allowed here',
      cause: error
    });
  }
  if (mssqlError.code === 'EREQUEST' || mssqlError.number !== undefined) {
    return new SqlbridgeError('query_failed', error.message, { expose: true, cause: error });
  }
  if (mssqlError.code === 'ETIMEOUT')
    return new SqlbridgeError('query_timeout', 'the database request timed out', { expose: true, cause: error });
  return new SqlbridgeError('internal', 'the SQL Server driver failed', { expose: false, detail, cause: error });
}

function connectionProblem(error: MssqlError, text: string): ConnectionProblem | 'tls-unsupported' | undefined {
  switch (error.code) {
    case 'ELOGIN':
      // 4060: "Cannot open database … requested by the login"; 18456: "Login failed for user".
      return /Cannot open database|4060/.test(text) ? 'database_not_found' : 'authentication';
    case 'EENCRYPT':
      // mssql-tls-guard.ts: the server would not encrypt, and encrypt: mandatory says it must; or
      // tedious: the server requires encryption that encrypt: optional did not ask for.
      return /does not support encryption/i.test(text) ? 'tls-unsupported' : 'tls';
    case 'EINSTLOOKUP':
    case 'ENOTFOUND':
      return 'unreachable';
    case 'ETIMEOUT':
      return error.number === undefined && /connect|Failed to connect/i.test(text) ? 'timeout' : undefined;
    case 'ESOCKET':
    case 'ECONNCLOSED':
    case 'ENOTOPEN':
    case 'ECONNRESET':
      if (/does not support encryption|encryption is not supported/i.test(text)) return 'tls-unsupported';
      if (/certificate|self[- ]signed|SSL|TLS/i.test(text)) return 'tls';
      if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|getaddrinfo/i.test(text)) return 'unreachable';
      return 'unavailable';
    default:
      return undefined;
  }
}
