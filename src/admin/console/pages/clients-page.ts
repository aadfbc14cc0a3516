import { html } from '../../../auth/server/pages.ts';
import type { ClientFilter, ClientSummary } from '../../admin-types.ts';
import { actionForm, consolePage, when, type PageFrame, dataTable, selectFilter } from '../console-layout.ts';

const KIND: Record<ClientSummary['kind'], string> = {
  static: 'configured',
  dynamic: 'registered',
  'metadata-document': 'metadata document'
};

/** Registered clients, searchable, each deletable unless the configuration holds it. */
export function clientsPage(
  frame: PageFrame,
  clients: readonly ClientSummary[],
  filter: ClientFilter,
  environments: readonly string[]
): string {
  const rows = clients.map(
    client =>
      html`<tr>
        <td>${client.name ?? '—'}</td>
        <td><code>${client.clientId}</code></td>
        <td>${client.environment}</td>
        <td>${KIND[client.kind]}</td>
        <td>${client.redirectHosts.join(', ')}</td>
        <td>${when(client.registeredAt)}</td>
        <td>${when(client.lastUsedAt)}</td>
        <td>
          ${
            client.kind === 'static'
              ? html`<span class="note">in the configuration</span>`
              : actionForm(
                  '/admin/clients/delete',
                  frame.csrf,
                  { environment: client.environment, clientId: client.clientId },
                  'Delete client',
                  { danger: true, accessibleName: `Delete client ${client.name ?? client.clientId}` }
                )
          }
        </td>
      </tr>`
  );
  return consolePage(
    'clients',
    'Clients',
    frame,
    html`<form class="filters" method="get" action="/admin/clients" role="search">
        <label>Search <input type="search" name="q" value="${filter.q ?? ''}" /></label>
        ${selectFilter('Environment', 'environment', environments, filter.environment)}
        <button type="submit">Filter</button>
      </form>
      <p class="note">
        Deleting a client removes its registration and revokes every grant given to it: it can neither refresh nor call
        again.
      </p>
      ${dataTable(['Name', 'Client id', 'Environment', 'Kind', 'Redirect hosts', 'Registered', 'Last used', 'Action'], rows, 'No client matches.')}`
  );
}
