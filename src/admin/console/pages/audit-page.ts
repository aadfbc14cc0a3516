import { html } from '../../../auth/server/pages.ts';
import { AUDIT_EVENTS, AUDIT_OUTCOMES, type AuditRecord } from '../../../audit/record.ts';
import type { AuditQuery } from '../../admin-types.ts';
import { consolePage, type PageFrame, dataTable, selectFilter } from '../console-layout.ts';

/** Event groups (`admin`, `auth`, …) then every event, for the event filter. */
const EVENT_CHOICES = [...new Set(AUDIT_EVENTS.map(event => event.split('.')[0] ?? event)), ...AUDIT_EVENTS];

function detailText(record: AuditRecord): string {
  const facts = Object.entries(record.detail ?? {}).map(([key, value]) => `${key}=${String(value)}`);
  if (record.errorClass !== undefined) facts.unshift(`error=${record.errorClass}`);
  if (record.tool !== undefined) facts.unshift(`tool=${record.tool}`);
  return facts.join(' ');
}

/** The audit trail, newest first, filtered; the sinks' own query (admin-service) does the work. */
export function auditPage(
  frame: PageFrame,
  records: readonly AuditRecord[],
  query: AuditQuery,
  environments: readonly string[],
  since: string
): string {
  const rows = records.map(
    record =>
      html`<tr>
        <td>${record.time.replace('T', ' ').replace('Z', ' UTC')}</td>
        <td>${record.event}</td>
        <td>${record.outcome}</td>
        <td>${record.environment ?? '—'}</td>
        <td>${record.user ?? '—'}</td>
        <td>${record.clientId === undefined ? '—' : html`<code>${record.clientId}</code>`}</td>
        <td>${record.remoteAddress ?? '—'}</td>
        <td>${detailText(record)}</td>
      </tr>`
  );
  return consolePage(
    'audit',
    'Audit trail',
    frame,
    html`<form class="filters" method="get" action="/admin/audit" role="search">
        ${selectFilter('Event', 'event', EVENT_CHOICES, query.event)}
        <label>User <input type="text" name="user" value="${query.user ?? ''}" /></label>
        <label>Client id <input type="text" name="clientId" value="${query.clientId ?? ''}" /></label>
        ${selectFilter('Environment', 'environment', environments, query.environment)}
        ${selectFilter('Outcome', 'outcome', AUDIT_OUTCOMES, query.outcome)}
        <label>Since <input type="datetime-local" name="since" value="${since}" /></label>
        <button type="submit">Filter</button>
      </form>
      <p class="note">Newest first, at most ${String(query.limit ?? 0)} records. Times are UTC.</p>
      ${dataTable(['Time', 'Event', 'Outcome', 'Environment', 'User', 'Client', 'Address', 'Detail'], rows, 'No record matches.')}`
  );
}
