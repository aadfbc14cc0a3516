import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Logger } from '../observability/logger.ts';
import { isSqlbridgeError, type ErrorCode } from './sqlbridge-error.ts';

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
  statement_rejected: 'Not allowed',
  table_not_found: 'Table not found',
  table_ambiguous: 'Ambiguous table name',
  connection_failed: 'The database is unavailable',
  internal: 'Internal error'
};

export function toolErrorResult(error: unknown, logger: Logger, context: Record<string, unknown>): CallToolResult {
  if (isSqlbridgeError(error) && error.expose) {
    const level = error.code === 'connection_failed' || error.code === 'internal' ? 'error' : 'info';
    // A cancelled call (its client went away, or the server is shutting down) is routine: its reason
    // is named, without a stack trace.
    const cause =
      error.code === 'query_cancelled'
        ? { reason: error.cause instanceof Error ? error.cause.message : String(error.cause) }
        : { err: error.cause };
    logger[level]({ ...context, code: error.code, detail: error.detail, ...cause }, error.message);
    const lines = [`${LABELS[error.code]}: ${error.message}`];
    if (error.hint !== undefined) lines.push(`Hint: ${error.hint}`);
    return { isError: true, content: [{ type: 'text', text: lines.join('\n') }] };
  }
  const reference = randomBytes(4).toString('hex');
  logger.error(
    { ...context, reference, err: error, detail: isSqlbridgeError(error) ? error.detail : undefined },
    'tool call failed'
  );
  const label = isSqlbridgeError(error) ? LABELS[error.code] : LABELS.internal;
  return {
    isError: true,
    content: [{ type: 'text', text: `${label} (reference ${reference}); the server log has the details.` }]
  };
}
