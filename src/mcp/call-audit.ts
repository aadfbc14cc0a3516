import type { AuthInfo, ServerContext } from '@modelcontextprotocol/server';
import { callerFields } from '../audit/query-records.ts';
import type { AuditEventName, AuditRecord } from '../audit/record.ts';
import type { Caller } from '../db/runtime.ts';
import type { Environment } from '../environment.ts';
import { isSqlbridgeError, SqlbridgeError } from '../errors/sqlbridge-error.ts';
import { requestOrigin, type RequestOrigin } from '../observability/request-context.ts';
import { identityOf } from './identity.ts';

/**
 * What the audit trail records of a request a caller makes of an environment (a tool call, a resource
 * read, a completion), and the refusal of one while the trail cannot record it.
 */

/** The caller as the HTTP layer verified them (OAuth) and the request the call came in. */
export function callerOf(extra: ServerContext, tool: string): Caller {
  return callerWith(extra.http?.authInfo, tool);
}

/** The same, from the verified token itself (where the SDK passes no request context). */
export function callerWith(
  authInfo: AuthInfo | undefined,
  tool: string,
  origin: RequestOrigin | undefined = requestOrigin()
): Caller {
  const caller: Caller = { tool };
  const identity = identityOf(authInfo);
  if (identity !== undefined) caller.identity = identity;
  if (origin !== undefined) {
    caller.requestId = origin.requestId;
    caller.remoteAddress = origin.remoteAddress;
  }
  return caller;
}

/** An environment whose audit must not lose a record (`audit.onFailure: block`) serves nothing while a sink fails. */
export function refuseWhileAuditFails(environment: Environment): void {
  if (environment.config.audit.onFailure !== 'block' || environment.audit.healthy) return;
  throw new SqlbridgeError(
    'audit_unavailable',
    'this environment records every query in an audit trail, which cannot be written right now; nothing runs until it can',
    { expose: true, hint: 'try again in a minute; if it persists, tell the server operator' }
  );
}

/** Error classes of a request refused before anything ran. */
const REFUSALS = new Set([
  'statement_rejected',
  'audit_unavailable',
  'rate_limited',
  'access_denied',
  'invalid_argument',
  'tool_not_found'
]);

/** The longest tool name a record keeps of a name a caller sent: MCP tool names have at most 128 characters. */
const MAX_TOOL_NAME = 128;

/**
 * A `tools/call` refused before any tool ran: a tool the caller is not offered (`tool_not_found`),
 * a token without the scopes the tool needs (`access_denied`, answered 403 at the HTTP layer), or a
 * request over a tool-call rate limit (`rate_limited`, answered 429 at the HTTP layer).
 */
export function recordRefusedCall(
  environment: Environment,
  caller: Caller,
  errorClass: 'tool_not_found' | 'access_denied' | 'rate_limited',
  detail?: AuditRecord['detail']
): void {
  const tool = caller.tool;
  const clipped = tool === undefined ? caller : { ...caller, tool: clipName(tool) };
  environment.audit.record({
    event: 'tool.called',
    outcome: 'rejected',
    environment: environment.name,
    ...callerFields(clipped),
    durationMs: 0,
    errorClass,
    ...(detail === undefined ? {} : { detail })
  });
}

/** A name cut at MAX_TOOL_NAME characters (code points: never half a surrogate pair), marked `…` when cut. */
function clipName(name: string): string {
  let end = 0;
  let count = 0;
  for (const point of name) {
    if (count === MAX_TOOL_NAME) return `${name.slice(0, end)}…`;
    end += point.length;
    count++;
  }
  return name;
}

/** Records how a request ended: ok, or the class of its failure (`errorClass`, when it is a SqlbridgeError). */
export function recordCall(
  environment: Environment,
  event: Extract<AuditEventName, 'tool.called' | 'catalog.read'>,
  caller: Caller,
  started: number,
  error?: unknown
): void {
  const errorClass =
    error === undefined ? undefined : isSqlbridgeError(error) ? error.code : (errorClassOf(error) ?? 'internal');
  environment.audit.record({
    event,
    outcome:
      errorClass === undefined
        ? 'ok'
        : REFUSALS.has(errorClass)
          ? 'rejected'
          : errorClass === 'query_cancelled'
            ? 'cancelled'
            : 'failed',
    environment: environment.name,
    ...callerFields(caller),
    durationMs: Math.round(performance.now() - started),
    ...(errorClass === undefined ? {} : { errorClass })
  });
}

/** A failure that is not a SqlbridgeError but names its own class (a resource the caller may not see). */
function errorClassOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ResourceNotFoundError'
    ? 'table_not_found'
    : undefined;
}

/**
 * The tool calls of an HTTP request the tool-call rate limits refused (429) before the MCP layer saw
 * it: one record each, with the request's verified token, id and address, and the limit reached
 * (`detail.limit`: `user`, `client` or `address`; a call refused for running queries has none).
 */
export function recordRateLimitedCalls(
  environment: Environment,
  request: { auth?: AuthInfo | undefined; id: string; ip: string },
  tools: readonly string[],
  limit: string
): void {
  const origin = { requestId: request.id, remoteAddress: request.ip };
  for (const tool of tools) {
    recordRefusedCall(environment, callerWith(request.auth, tool, origin), 'rate_limited', { limit });
  }
}
