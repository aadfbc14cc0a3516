import { matchesFilter, isOutcome, parseEventFilter, type AuditFilter } from '../audit/filter.ts';
import { TrailReader } from '../audit/reader.ts';
import type { AuditRecord } from '../audit/record.ts';
import { AdminError } from './admin-error.ts';
import type { AuditQuery } from './admin-types.ts';

/**
 * The audit trail as administration reads it: the JSON Lines files `sqlbridge audit` reads
 * (reader.ts, every rotated file then the current one), filtered as it filters (filter.ts), the
 * newest `limit` matches, newest first. Only the kept matches are held while reading, so a long
 * trail costs time, not memory.
 */

export const DEFAULT_AUDIT_LIMIT = 200;
export const MAX_AUDIT_LIMIT = 10_000;

export async function searchAuditTrail(path: string, query: AuditQuery): Promise<AuditRecord[]> {
  const filter = auditFilter(query);
  const limit = Math.min(Math.max(1, Math.floor(query.limit ?? DEFAULT_AUDIT_LIMIT)), MAX_AUDIT_LIMIT);
  const reader = new TrailReader(path);
  if (!(await reader.exists())) return [];
  const kept: AuditRecord[] = [];
  try {
    for await (const { record } of reader.records()) {
      if (!matchesFilter(record, filter)) continue;
      kept.push(record);
      if (kept.length >= 2 * limit) kept.splice(0, kept.length - limit);
    }
  } finally {
    await reader.close();
  }
  return kept.slice(-limit).reverse();
}

function auditFilter(query: AuditQuery): AuditFilter {
  const filter: AuditFilter = {
    environment: query.environment,
    user: query.user,
    clientId: query.clientId,
    since: query.since
  };
  if (query.outcome !== undefined) {
    if (!isOutcome(query.outcome)) throw new AdminError('outcome', `there is no audit outcome "${query.outcome}"`);
    filter.outcome = query.outcome;
  }
  if (query.event !== undefined) {
    filter.event = parseEventFilter(query.event);
    if (filter.event === undefined) {
      throw new AdminError('event', `"${query.event}" is neither an audit event nor a group of events`);
    }
  }
  return filter;
}
