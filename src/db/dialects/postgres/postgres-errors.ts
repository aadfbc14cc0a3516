import {
  CONNECTION_LOST,
  ConnectionError,
  SERVER_WITHOUT_TLS,
  socketProblem,
  type ConnectionProblem,
  type ErrorPhase
} from '../../../errors/connection-error.ts';
import { SqlbridgeError } from '../../../errors/sqlbridge-error.ts';
import type { PostgresTarget } from './postgres-config.ts';

/**
 * PostgreSQL failures by SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html)
 * and by the socket and TLS errors Node reports. The database's message about the caller's own SQL
 * is passed on; anything about the connection says what is wrong and keeps the host out of it.
 */

interface PgError extends Error {
  code?: string;
  hint?: string;
  position?: string;
}

const CONNECTION_STATES: Record<string, ConnectionProblem> = {
  '28000': 'authentication',
  '28P01': 'authentication',
  '3D000': 'database_not_found',
  '57P01': 'unavailable',
  '57P02': 'unavailable',
  '57P03': 'unavailable',
  '53300': 'unavailable',
  '08000': 'unavailable',
  '08001': 'unreachable',
  '08003': 'unavailable',
  '08004': 'unavailable',
  '08006': 'unavailable'
};

/** pg-pool's error for a caller that waited connectionTimeoutMillis for a connection of a full pool. */
export const POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect';

export function translatePostgresError(error: unknown, target: PostgresTarget, phase: ErrorPhase = 'connect'): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  if (error instanceof SqlbridgeError) return error;
  const pgError = error as PgError;
  const detail = `postgres ${target.host}:${target.port}/${target.database ?? ''}: ${error.message}`;
  const connection = connectionProblem(pgError, phase);
  if (connection !== undefined)
    return new ConnectionError(connection.problem, detail, { ...connection.text, cause: error });
  if (pgError.code === '57014') {
    return new SqlbridgeError('query_timeout', 'the database cancelled the statement (statement timeout)', {
      expose: true,
      cause: error
    });
  }
  if (pgError.code === '25006') {
    return new SqlbridgeError('query_failed', `${error.message}: this environment is read-only`, {
      expose: true,
      hint: 'only statements that read data are allowed here',
      cause: error
    });
  }
  if (pgError.code !== undefined && /^[0-9A-Z]{5}$/.test(pgError.code)) {
    const where = pgError.position === undefined ? '' : ` (at character ${pgError.position})`;
    return new SqlbridgeError('query_failed', `${error.message}${where}`, {
      expose: true,
      hint: pgError.hint,
      cause: error
    });
  }
  return new SqlbridgeError('internal', 'the PostgreSQL driver failed', { expose: false, detail, cause: error });
}

function connectionProblem(
  error: PgError,
  phase: ErrorPhase
): { problem: ConnectionProblem; text: { message?: string; hint?: string } } | undefined {
  if (phase === 'statement' && isSessionEnded(error)) return { problem: 'unavailable', text: CONNECTION_LOST };
  const byState = error.code === undefined ? undefined : CONNECTION_STATES[error.code];
  if (byState !== undefined) return { problem: byState, text: {} };
  const bySocket = socketProblem(error.code);
  if (bySocket !== undefined) return { problem: bySocket, text: {} };
  const message = error.message;
  if (message.includes('does not support SSL')) {
    return { problem: 'tls', text: SERVER_WITHOUT_TLS };
  }
  if (/self[- ]signed certificate|unable to verify|certificate/i.test(message)) return { problem: 'tls', text: {} };
  // pg-pool's POOL_WAIT_TIMEOUT is not a connection problem: the driver reports it as a busy database.
  if (/timeout expired|connection timeout/i.test(message)) return { problem: 'timeout', text: {} };
  if (/Connection terminated|terminating connection/i.test(message)) return { problem: 'unavailable', text: {} };
  return undefined;
}

/**
 * The server ended the session (by an administrator, 57P01, or crashing, 57P02), or the connection
 * closed under the driver (pg's words for it, or a reset socket).
 */
function isSessionEnded(error: PgError): boolean {
  if (error.code === '57P01' || error.code === '57P02' || error.code === 'ECONNRESET' || error.code === 'EPIPE')
    return true;
  return /Connection terminated unexpectedly|terminating connection/i.test(error.message);
}
