import { html } from '../../../auth/server/pages.ts';
import type { GrantFilter, GrantSummary } from '../../admin-types.ts';
import { actionForm, consolePage, when, type PageFrame, dataTable, selectFilter } from '../console-layout.ts';

/** What users allowed which clients, filterable, each revocable. */
export function grantsPage(
  frame: PageFrame,
  grants: readonly GrantSummary[],
  filter: GrantFilter,
  environments: readonly string[]
): string {
  const rows = grants.map(
    grant =>
      html`<tr>
        <td>${grant.user}</td>
        <td>${grant.clientName ?? '—'}<br /><code>${grant.clientId}</code></td>
        <td>${grant.environment}</td>
        <td>${grant.scope}</td>
        <td>${when(grant.grantedAt)}</td>
        <td>${when(grant.expiresAt)}</td>
        <td><code>${grant.grantId}</code></td>
        <td>
          ${actionForm(
            '/admin/grants/revoke',
            frame.csrf,
            { environment: grant.environment, grantId: grant.grantId },
            'Revoke',
            { danger: true, accessibleName: `Revoke grant ${grant.grantId}` }
          )}
        </td>
      </tr>`
  );
  return consolePage(
    'grants',
    'Grants',
    frame,
    html`<form class="filters" method="get" action="/admin/grants" role="search">
        <label>User <input type="text" name="user" value="${filter.user ?? ''}" /></label>
        <label>Client id <input type="text" name="clientId" value="${filter.clientId ?? ''}" /></label>
        ${selectFilter('Environment', 'environment', environments, filter.environment)}
        <button type="submit">Filter</button>
      </form>
      <p class="note">
        Revoking a grant ends its access and refresh tokens at once; the client must ask the user again.
      </p>
      ${dataTable(['User', 'Client', 'Environment', 'Scope', 'Granted', 'Expires', 'Grant id', 'Action'], rows, 'No grant matches.')}`
  );
}
