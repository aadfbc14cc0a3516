import type { ClientSummary, GrantSummary, UserSummary } from '../../admin/admin-types.ts';
import { printable } from '../../audit/record-table.ts';

/**
 * What `sqlbridge admin` prints for people: one row a line, columns two spaces apart, `-` where a
 * value is absent, times in UTC to the second. Client names and redirect hosts come from whoever
 * registered the client, so every cell is made safe for a terminal first (record-table.ts).
 */

const MAX_CELL = 60;

export function table(headers: readonly string[], rows: readonly (readonly (string | undefined)[])[]): string {
  const cells = rows.map(row => headers.map((_, i) => cell(row[i])));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map(row => width(row[i] ?? ''))));
  const line = (values: readonly string[]): string =>
    values
      .map((value, i) => value + ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(value))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export function clientsTable(clients: readonly ClientSummary[]): string {
  return table(
    ['ENV', 'CLIENT', 'NAME', 'KIND', 'REDIRECT HOSTS', 'REGISTERED', 'LAST USED'],
    clients.map(c => [
      c.environment,
      c.clientId,
      c.name,
      c.kind,
      c.redirectHosts.join(','),
      time(c.registeredAt),
      time(c.lastUsedAt)
    ])
  );
}

export function grantsTable(grants: readonly GrantSummary[]): string {
  return table(
    ['ENV', 'GRANT', 'USER', 'CLIENT', 'CLIENT NAME', 'SCOPE', 'GRANTED', 'EXPIRES'],
    grants.map(g => [
      g.environment,
      g.grantId,
      g.user,
      g.clientId,
      g.clientName,
      g.scope,
      time(g.grantedAt),
      time(g.expiresAt)
    ])
  );
}

export function usersTable(users: readonly UserSummary[]): string {
  return table(
    ['USER', 'EMAIL', 'ORIGIN', 'STATE', 'GROUPS', 'ENVIRONMENTS', 'SCOPES', 'GRANTS', 'LAST SIGN-IN'],
    users.map(u => [
      u.username,
      u.email,
      u.origin,
      u.disabled ? 'disabled' : 'active',
      u.groups.join(','),
      u.environments.join(','),
      u.scopes.join(','),
      String(u.grants),
      time(u.lastSignInAt)
    ])
  );
}

/** Epoch ms as `2026-01-31 08:00:00Z`. */
function time(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function cell(value: string | undefined): string {
  const text = value === undefined ? '' : printable(value);
  if (text === '') return '-';
  const chars = Array.from(text);
  return chars.length <= MAX_CELL ? text : `${chars.slice(0, MAX_CELL - 1).join('')}…`;
}

function width(text: string): number {
  return Array.from(text).length;
}
