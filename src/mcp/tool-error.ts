import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { isSqlbridgeError, type ErrorCode, type SqlbridgeError } from '../errors/sqlbridge-error.ts';
import type { Logger } from '../observability/logger.ts';
import { frameUntrusted } from './untrusted-data.ts';

/**
 * A failed tool call as the model sees it: an `isError` result naming what went wrong and what to do.
 * Only errors marked `expose` say more than "internal error"; the rest leave a reference the
 * operator can find in the log. Raw driver messages never pass through here unvetted: the SDK would
 * otherwise forward them (connection strings included) to the model.
 */

const LABELS: Record<ErrorCode, string> = {
  config_invalid: 'Configuration error',
  invalid_argument: 'Invalid argument',
  query_failed: 'The database rejected the query',
  query_timeout: 'Query timed out',
  query_cancelled: 'Query cancelled',
  row_too_large: 'Row too large',
  statement_rejected: 'Not allowed',
  table_not_found: 'Table not found',
  table_ambiguous: 'Ambiguous table name',
  connection_failed: 'The database is unavailable',
  database_busy: 'The database is busy',
  audit_unavailable: 'The audit trail is unavailable',
  rate_limited: 'Rate limit reached',
  access_denied: 'Access denied',
  internal: 'Internal error'
};

/**
 * How loud a failure the caller can see is in the log: a caller's mistake is routine (info), a query
 * the database failed or timed out is worth a look (warn), an unreachable database is an outage
 * (error). None of them is a bug in sqlbridge, so none carries a stack trace: one line with the error
 * class and the database's own code.
 */
const LEVELS: Record<ErrorCode, 'info' | 'warn' | 'error'> = {
  config_invalid: 'error',
  invalid_argument: 'info',
  query_failed: 'warn',
  query_timeout: 'warn',
  query_cancelled: 'info',
  row_too_large: 'info',
  statement_rejected: 'info',
  table_not_found: 'info',
  table_ambiguous: 'info',
  connection_failed: 'error',
  database_busy: 'warn',
  audit_unavailable: 'warn',
  rate_limited: 'info',
  access_denied: 'info',
  internal: 'error'
};

/**
 * Errors whose message holds the database's own words or names from its catalog: an error such as
 * `invalid input syntax for type integer: "…"` quotes the stored value that failed, so a row can put
 * text of its choosing into it.
 */
const DATABASE_TEXT: ReadonlySet<ErrorCode> = new Set(['query_failed', 'table_ambiguous']);

/**
 * An exposed error's message as the caller reads it, after its label. What the database said (and
 * names from its catalog) can quote stored values, so it comes framed as data.
 */
export function callerMessage(error: SqlbridgeError): string {
  return DATABASE_TEXT.has(error.code)
    ? `${LABELS[error.code]}:\n${frameUntrusted(error.message)}`
    : `${LABELS[error.code]}: ${error.message}`;
}

export function toolErrorResult(error: unknown, logger: Logger, context: Record<string, unknown>): CallToolResult {
  if (isSqlbridgeError(error) && error.expose) {
    const cause = error.cause;
    const fields: Record<string, unknown> = { ...context, errorClass: error.code };
    if (error.detail !== undefined) fields['detail'] = error.detail;
    const dbCode = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    if (typeof dbCode === 'string' || typeof dbCode === 'number') fields['dbCode'] = dbCode;
    // A cancelled call (its client went away, or the server is shutting down) names its reason.
    if (error.code === 'query_cancelled') fields['reason'] = cause instanceof Error ? cause.message : String(cause);
    logger[LEVELS[error.code]](fields, error.message);
    const lines = [callerMessage(error)];
    if (error.hint !== undefined) lines.push(`Hint: ${error.hint}`);
    return { isError: true, content: [{ type: 'text', text: lines.join('\n') }] };
  }
  const reference = randomBytes(4).toString('hex');
  // Not meant for the caller: a bug or a failure with details only the operator may see. The stack is kept.
  logger.error(
    {
      ...context,
      reference,
      errorClass: isSqlbridgeError(error) ? error.code : 'internal',
      err: error,
      detail: isSqlbridgeError(error) ? error.detail : undefined
    },
    'tool call failed'
  );
  const label = isSqlbridgeError(error) ? LABELS[error.code] : LABELS.internal;
  return {
    isError: true,
    content: [{ type: 'text', text: `${label} (reference ${reference}); the server log has the details.` }]
  };
}
