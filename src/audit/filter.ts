import { AUDIT_EVENTS, AUDIT_OUTCOMES, type AuditOutcome, type AuditRecord } from './record.ts';

/**
 * What `sqlbridge audit` keeps of the trail. Users are matched without regard to case (a user signs
 * in as "Ana" or "ana"); environments, clients, events and outcomes exactly, as they are stored.
 */
export interface AuditFilter {
  user?: string | undefined;
  clientId?: string | undefined;
  environment?: string | undefined;
  /** Epoch milliseconds: records at or after. */
  since?: number | undefined;
  /** Epoch milliseconds: records at or before. */
  until?: number | undefined;
  outcome?: AuditOutcome | undefined;
  event?: EventFilter | undefined;
  /** Text in the statement, tool, user, client or error class, without regard to case. */
  search?: string | undefined;
}

/** One event by name, or every event of a group (`query.`, `auth.`, …). */
export type EventFilter = { name: string } | { prefix: string };

export function matchesFilter(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.user !== undefined && record.user?.toLowerCase() !== filter.user.toLowerCase()) return false;
  if (filter.clientId !== undefined && record.clientId !== filter.clientId) return false;
  if (filter.environment !== undefined && record.environment !== filter.environment) return false;
  if (filter.outcome !== undefined && record.outcome !== filter.outcome) return false;
  if (filter.event !== undefined) {
    const event = filter.event;
    if ('name' in event ? record.event !== event.name : !record.event.startsWith(event.prefix)) return false;
  }
  if (filter.since !== undefined || filter.until !== undefined) {
    const time = Date.parse(record.time);
    if (Number.isNaN(time)) return false;
    if (filter.since !== undefined && time < filter.since) return false;
    if (filter.until !== undefined && time > filter.until) return false;
  }
  if (filter.search !== undefined) {
    const needle = filter.search.toLowerCase();
    const haystack = [record.statement, record.tool, record.user, record.clientId, record.errorClass];
    if (!haystack.some(field => field?.toLowerCase().includes(needle) === true)) return false;
  }
  return true;
}

export function isOutcome(value: string): value is AuditOutcome {
  return (AUDIT_OUTCOMES as readonly string[]).includes(value);
}

/** The groups events are named in: `query`, `auth`, `token`, … */
export const EVENT_GROUPS = [...new Set(AUDIT_EVENTS.map(event => event.slice(0, event.indexOf('.'))))];

/** An event name, a group prefix ending in "." (`query.`), or a group's bare name (`query`); undefined when none. */
export function parseEventFilter(value: string): EventFilter | undefined {
  if ((AUDIT_EVENTS as readonly string[]).includes(value)) return { name: value };
  const group = value.endsWith('.') ? value.slice(0, -1) : value;
  return EVENT_GROUPS.includes(group) ? { prefix: `${group}.` } : undefined;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * A point in time for `--since` / `--until`: an ISO date (midnight UTC), an ISO date and time (UTC
 * unless it carries an offset, as the trail's times are), or a span before `now` (`90s`, `15m`, `2h`,
 * `7d`, `2w`). Undefined when it is none of these (or not a real date, such as February 30th).
 */
export function parseTimeBound(value: string, now: number): number | undefined {
  const relative = /^(\d{1,9})([smhdw])$/.exec(value.trim());
  if (relative !== null) return now - Number(relative[1]) * (UNITS[relative[2] ?? ''] ?? 0);
  const iso = ISO.exec(value.trim());
  if (iso === null) return undefined;
  const [, year = '', month = '', day = '', hour = '00', minute = '00', second = '00', fraction = '', zone = 'Z'] = iso;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  const realDate = date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
  if (!realDate || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return undefined;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : normalizeOffset(zone);
  if (offset === undefined) return undefined;
  const milliseconds = fraction === '' ? '' : fraction.slice(0, 4).padEnd(4, '0');
  const time = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}${milliseconds}${offset}`);
  return Number.isNaN(time) ? undefined : time;
}

/** `+02`, `+0200`, `+02:00` → `+02:00`. */
function normalizeOffset(zone: string): string | undefined {
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (match === null) return undefined;
  const [, sign, hours, minutes = '00'] = match;
  if (Number(hours) > 23 || Number(minutes) > 59) return undefined;
  return `${sign ?? '+'}${hours ?? '00'}:${minutes}`;
}
