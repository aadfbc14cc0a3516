import { SqlbridgeError } from './sqlbridge-error.ts';

/**
 * A database that cannot be reached or will not let us in, classified so the message says what to
 * fix. The message and hint go to clients; the host, port and driver text stay in `detail`, for
 * the log and `sqlbridge check` only.
 */

export type ConnectionProblem =
  'unreachable' | 'authentication' | 'tls' | 'database_not_found' | 'timeout' | 'unavailable';

const MESSAGES: Record<ConnectionProblem, { message: string; hint: string }> = {
  unreachable: {
    message: 'cannot reach the database server',
    hint: 'check the host and port, and that the server is running and accepts TCP connections from here'
  },
  authentication: {
    message: 'the database server refused the login',
    hint: 'check the user name and password (or the Entra ID credentials) and that the login may use this database'
  },
  tls: {
    message: "TLS: the server's certificate is not trusted",
    hint: 'install the CA that signed the server certificate (caFile), or, for a test server only, set trustServerCertificate / tls: require'
  },
  database_not_found: {
    message: 'the database does not exist on the server',
    hint: 'check the database name in the configuration'
  },
  timeout: {
    message: 'connecting to the database server timed out',
    hint: 'check the host, the port and any firewall between sqlbridge and the database'
  },
  unavailable: {
    message: 'the database server is not accepting connections right now',
    hint: 'it may be starting up, shutting down or overloaded; sqlbridge retries on the next call'
  }
};

/**
 * Where a driver's error arose: opening or setting up a connection, or running a statement on one
 * that was open. A connection that closes in the second case was lost (CONNECTION_LOST), and a login
 * or database error number there is the statement's own failure, not the environment's.
 */
export type ErrorPhase = 'connect' | 'statement';

/** The message for a server that does not speak TLS at all, which "certificate not trusted" would misstate. */
export const SERVER_WITHOUT_TLS = {
  message: 'TLS: the server does not accept encrypted connections',
  hint: 'enable TLS on the server, or set tls: disable if the network between sqlbridge and the database is trusted'
};

/**
 * The message for a session the database ended while it was in use (a restart, a failover, an
 * administrator ending it): "not accepting connections" would misstate it, and a write cut off
 * there may have been committed or not.
 */
export const CONNECTION_LOST = {
  message: 'the connection to the database server was lost while the statement ran',
  hint: 'the database ended the session (a restart, a failover or an administrator); the next call connects again. A write cut off this way may or may not have been committed: check before running it again'
};

export class ConnectionError extends SqlbridgeError {
  readonly problem: ConnectionProblem;

  constructor(
    problem: ConnectionProblem,
    detail: string,
    options: { message?: string; hint?: string; cause?: unknown } = {}
  ) {
    const text = MESSAGES[problem];
    // The messages name the kind of problem and what to do, never the host, user or driver text.
    super('connection_failed', options.message ?? text.message, {
      expose: true,
      hint: options.hint ?? text.hint,
      detail,
      cause: options.cause
    });
    this.name = 'ConnectionError';
    this.problem = problem;
  }
}

/** Socket-level failures every driver reports the same way (Node's error codes). */
export function socketProblem(code: string | undefined): ConnectionProblem | undefined {
  switch (code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
    case 'EPIPE':
      return 'unreachable';
    case 'ETIMEDOUT':
    case 'ETIMEOUT':
      return 'timeout';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return 'tls';
    default:
      return undefined;
  }
}
