import {
  CONNECTION_LOST,
  ConnectionError,
  SERVER_WITHOUT_TLS,
  socketProblem,
  type ConnectionProblem,
  type ErrorPhase
} from '../../../errors/connection-error.ts';
import { SqlbridgeError } from '../../../errors/sqlbridge-error.ts';
import type { MysqlTarget } from './mysql-config.ts';

/**
 * MySQL and MariaDB failures by server error number
 * (https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html, MariaDB's list agrees on
 * these) and by the socket and TLS errors Node reports.
 */

interface MysqlError extends Error {
  code?: string;
  errno?: number;
  sqlMessage?: string;
  fatal?: boolean;
}

const CONNECTION_ERRNOS: Record<number, ConnectionProblem> = {
  1044: 'authentication', // ER_DBACCESS_DENIED_ERROR
  1045: 'authentication', // ER_ACCESS_DENIED_ERROR
  1251: 'authentication', // ER_NOT_SUPPORTED_AUTH_MODE
  1049: 'database_not_found', // ER_BAD_DB_ERROR
  1040: 'unavailable', // ER_CON_COUNT_ERROR
  1053: 'unavailable', // ER_SERVER_SHUTDOWN
  1129: 'unavailable', // ER_HOST_IS_BLOCKED
  1130: 'authentication' // ER_HOST_NOT_PRIVILEGED
};

/** ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, ER_OPTION_PREVENTS_STATEMENT (read_only server). */
const READ_ONLY_ERRNOS = new Set([1792, 1290]);
/** ER_QUERY_TIMEOUT (MySQL max_execution_time), ER_STATEMENT_TIMEOUT (MariaDB max_statement_time). */
const TIMEOUT_ERRNOS = new Set([3024, 1969]);

/**
 * Error numbers that, from a statement (ErrorPhase), are that statement's own failure, not the
 * environment's: `SHOW TABLES FROM mysql` is refused with ER_DBACCESS_DENIED_ERROR.
 */
const STATEMENT_ERRNOS = new Set([1044, 1045, 1049, 1130, 1251]);

export function translateMysqlError(error: unknown, target: MysqlTarget, phase: ErrorPhase = 'connect'): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  if (error instanceof SqlbridgeError) return error;
  const mysqlError = error as MysqlError;
  const detail = `mysql ${target.host}:${target.port}/${target.database ?? ''}: ${error.message}`;
  if (mysqlError.code === 'HANDSHAKE_NO_SSL_SUPPORT')
    return new ConnectionError('tls', detail, { ...SERVER_WITHOUT_TLS, cause: error });
  const connection = connectionProblem(mysqlError, phase);
  if (connection !== undefined) {
    const lost = phase === 'statement' && connection !== 'tls' && isSessionEnded(mysqlError);
    return new ConnectionError(connection, detail, { ...(lost ? CONNECTION_LOST : {}), cause: error });
  }
  if (mysqlError.errno !== undefined && READ_ONLY_ERRNOS.has(mysqlError.errno)) {
    return new SqlbridgeError(
      'query_failed',
      `${mysqlError.sqlMessage ?? error.message}: this environment is read-only`,
      {
        expose: true,
        hint: 'only statements that read data are allowed here',
        cause: error
      }
    );
  }
  if (mysqlError.errno !== undefined && TIMEOUT_ERRNOS.has(mysqlError.errno)) {
    return new SqlbridgeError('query_timeout', 'the database stopped the statement at its execution time limit', {
      expose: true,
      cause: error
    });
  }
  if (mysqlError.sqlMessage !== undefined) {
    return new SqlbridgeError('query_failed', mysqlError.sqlMessage, { expose: true, cause: error });
  }
  return new SqlbridgeError('internal', 'the MySQL driver failed', { expose: false, detail, cause: error });
}

function connectionProblem(error: MysqlError, phase: ErrorPhase): ConnectionProblem | undefined {
  const byNumber = error.errno === undefined ? undefined : CONNECTION_ERRNOS[error.errno];
  if (byNumber !== undefined && !(phase === 'statement' && STATEMENT_ERRNOS.has(error.errno ?? 0))) return byNumber;
  const bySocket = socketProblem(error.code);
  if (bySocket !== undefined) return bySocket;
  if (error.code === 'HANDSHAKE_SSL_ERROR' || /certificate/i.test(error.message)) return 'tls';
  if (error.code === 'PROTOCOL_CONNECTION_LOST' || error.code === 'PROTOCOL_SEQUENCE_TIMEOUT') return 'unavailable';
  // A fatal error without a server message or a code of its own came from the driver's side of the
  // connection; during a statement that is the driver failing on what it read, not the server going away.
  if (error.fatal === true && error.sqlMessage === undefined && (phase === 'connect' || error.code !== undefined))
    return 'unavailable';
  return undefined;
}

/**
 * The server ended a session it had accepted (shut down, or ended by an administrator: 1927
 * ER_CONNECTION_KILLED) or the connection closed under the driver.
 */
function isSessionEnded(error: MysqlError): boolean {
  if (error.errno === 1053 || error.errno === 1927) return true;
  return (
    error.code === 'PROTOCOL_CONNECTION_LOST' ||
    error.code === 'ECONNRESET' ||
    error.code === 'EPIPE' ||
    (error.fatal === true && error.sqlMessage === undefined)
  );
}
