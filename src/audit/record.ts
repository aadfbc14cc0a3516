/**
 * The audit trail's record: one line of `audit.jsonl`, one row of the audit table. Every field but
 * `id`, `time`, `event` and `outcome` is present only where it is known; nothing secret is ever in
 * one (no token, password or connection string; statement text only where the environment keeps it).
 */

export const AUDIT_EVENTS = [
  'tool.called',
  'catalog.read',
  'query.executed',
  'query.rejected',
  'query.failed',
  'query.cancelled',
  'auth.login_succeeded',
  'auth.login_failed',
  'client.registered',
  'consent.granted',
  'consent.denied',
  'token.issued',
  'token.refreshed',
  'token.refresh_reused',
  'token.refused',
  'token.revoked',
  'grant.revoked',
  'config.loaded',
  'server.started',
  'server.stopped',
  'audit.records_lost',
  'user.created',
  'user.groups_changed',
  'admin.signed_in',
  'admin.grant_revoked',
  'admin.client_deleted',
  'admin.user_disabled',
  'admin.user_enabled',
  'admin.keys_rotated'
] as const;

export type AuditEventName = (typeof AUDIT_EVENTS)[number];

/**
 * How it ended: `ok`; `rejected` (refused before anything ran: the statement guard, a read-only
 * environment, a replayed token); `failed` (it ran and failed, timeouts included: see `errorClass`);
 * `cancelled` (the client went away or the server stopped the call).
 */
export const AUDIT_OUTCOMES = ['ok', 'rejected', 'failed', 'cancelled'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditRecord {
  /** A random UUID, unique per record. */
  id: string;
  /** ISO 8601, UTC, milliseconds. */
  time: string;
  event: AuditEventName;
  outcome: AuditOutcome;
  environment?: string;
  /** The HTTP request (`x-request-id`), to join with the request log. */
  requestId?: string;
  /** The signed-in user (OAuth `sub`). */
  user?: string;
  clientId?: string;
  /** The client's address; behind a trusted proxy, the address the proxy reported. */
  remoteAddress?: string;
  tool?: string;
  /** The SQL as the caller sent it (environments with `audit.statements: full`). */
  statement?: string;
  /** SHA-256 of the statement, hex (`full` and `hash`). */
  statementHash?: string;
  durationMs?: number;
  /** Rows returned to the caller. */
  rows?: number;
  /** Whether the result was cut at a row or size cap. */
  truncated?: boolean;
  /** What kind of failure: sqlbridge's error code (`statement_rejected`, `query_timeout`, `invalid_grant`, …). */
  errorClass?: string;
  /** Event-specific facts that are not secret: a grant id, a grant type, a count of lost records, … */
  detail?: Record<string, string | number | boolean>;
}
