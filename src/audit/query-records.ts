import { createHash } from 'node:crypto';
import type { EnvironmentAuditConfig } from '../config/schema.ts';
import type { Caller, QueryEvent, QueryStatus } from '../db/runtime.ts';
import type { AuditRecord } from './record.ts';
import type { AuditEntry } from './trail.ts';

/**
 * What the audit trail keeps of a query: who ran it, through which tool, from where, how it ended,
 * and its statement as the environment's `audit.statements` says (text and SHA-256, SHA-256 only,
 * or nothing). The server's own catalog reads are not callers' queries and are not recorded (the
 * tool call that needed them is).
 */

const EVENTS: Record<QueryStatus, Pick<AuditRecord, 'event' | 'outcome'>> = {
  ok: { event: 'query.executed', outcome: 'ok' },
  rejected: { event: 'query.rejected', outcome: 'rejected' },
  error: { event: 'query.failed', outcome: 'failed' },
  timeout: { event: 'query.failed', outcome: 'failed' },
  cancelled: { event: 'query.cancelled', outcome: 'cancelled' }
};

export function queryEntry(event: QueryEvent, audit: EnvironmentAuditConfig): AuditEntry | undefined {
  if (event.kind === 'catalog') return undefined;
  const entry: AuditEntry = {
    ...EVENTS[event.status],
    environment: event.environment,
    ...callerFields(event.caller),
    ...statementFields(event.sql, audit.statements),
    durationMs: event.elapsedMs,
    detail:
      event.rowsAffected === undefined ? { kind: event.kind } : { kind: event.kind, rowsAffected: event.rowsAffected }
  };
  if (event.status === 'ok') {
    entry.rows = event.rowCount;
    entry.truncated = event.truncated;
  }
  if (event.errorCode !== undefined) entry.errorClass = event.errorCode;
  return entry;
}

/** The caller's user, client, request and address, where known. */
export function callerFields(
  caller: Caller | undefined
): Pick<AuditRecord, 'user' | 'clientId' | 'requestId' | 'remoteAddress' | 'tool'> {
  if (caller === undefined) return {};
  const fields: Pick<AuditRecord, 'user' | 'clientId' | 'requestId' | 'remoteAddress' | 'tool'> = {};
  const { identity } = caller;
  if (identity?.subject !== undefined && identity.subject !== null) fields.user = identity.subject;
  if (identity?.clientId !== undefined && identity.clientId !== null) fields.clientId = identity.clientId;
  if (caller.requestId !== undefined) fields.requestId = caller.requestId;
  if (caller.remoteAddress !== undefined) fields.remoteAddress = caller.remoteAddress;
  if (caller.tool !== undefined) fields.tool = caller.tool;
  return fields;
}

function statementFields(
  sql: string,
  mode: EnvironmentAuditConfig['statements']
): Pick<AuditRecord, 'statement' | 'statementHash'> {
  if (mode === 'omit') return {};
  // Hashed without the password too: a hash of short SQL around a short password can be guessed.
  const kept = withoutPasswords(sql);
  const statementHash = createHash('sha256').update(kept).digest('hex');
  return mode === 'full' ? { statement: kept, statementHash } : { statementHash };
}

/**
 * The literal after a word that introduces a password, in any engine's syntax (`PASSWORD 'x'`,
 * `PASSWORD = N'x'`, `PASSWORD('x')`, `IDENTIFIED BY 'x'`, `IDENTIFIED WITH plugin BY 'x'`, `SECRET = 'x'`):
 * '…', N'…', E'…', "…" or $$…$$.
 */
const PASSWORD_LITERAL =
  /\b(PASSWORD|IDENTIFIED\s+(?:WITH\s+\S+\s+)?BY|SECRET)(\s*=?\s*\(?\s*)(?:[NE]?'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_]*)\$[\s\S]*?\$\3\$)/gi;

/**
 * The SQL with the literals that hold passwords written as `'…'`. Such statements are refused or fail
 * in the read-only environments analysts use, but a refused statement is recorded too, and no record
 * may hold a password (docs/audit.md).
 */
export function withoutPasswords(sql: string): string {
  return sql.replace(PASSWORD_LITERAL, (_match, word: string, between: string) => `${word}${between}'…'`);
}
