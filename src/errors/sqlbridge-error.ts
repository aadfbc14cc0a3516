/**
 * The one error type sqlbridge raises on purpose. `expose` says whether the message may reach an MCP
 * client (a model): database messages about the caller's own SQL may, anything carrying connection
 * details, file paths or stack traces may not. It is false unless the error is marked: every message
 * meant for a caller says so where it is raised. Modelled on oidc-provider's errors (status + expose).
 */
export type ErrorCode =
  | 'config_invalid'
  | 'invalid_argument'
  | 'query_failed'
  | 'query_timeout'
  | 'query_cancelled'
  | 'row_too_large'
  | 'statement_rejected'
  | 'table_not_found'
  | 'table_ambiguous'
  | 'connection_failed'
  | 'database_busy'
  | 'audit_unavailable'
  | 'rate_limited'
  | 'access_denied'
  | 'internal';

export interface SqlbridgeErrorOptions {
  /** Whether the message may reach the MCP client (default false). */
  expose?: boolean;
  /** What the caller can do about it; shown with the message. */
  hint?: string;
  /** Operator-facing detail (a file path, a host name): logged and shown by `sqlbridge check`, never sent to clients. */
  detail?: string;
  cause?: unknown;
}

export class SqlbridgeError extends Error {
  readonly code: ErrorCode;
  readonly expose: boolean;
  readonly hint: string | undefined;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, options: SqlbridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SqlbridgeError';
    this.code = code;
    this.expose = options.expose ?? false;
    this.hint = options.hint;
    this.detail = options.detail;
  }
}

export function isSqlbridgeError(error: unknown): error is SqlbridgeError {
  return error instanceof SqlbridgeError;
}
