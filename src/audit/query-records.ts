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
    detail: { kind: event.kind }
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
  const statementHash = createHash('sha256').update(sql).digest('hex');
  return mode === 'full' ? { statement: sql, statementHash } : { statementHash };
}
