import { html } from '../../../auth/server/pages.ts';
import { consolePage, type PageFrame } from '../console-layout.ts';

export interface OverviewCounts {
  environments: number;
  clients: number;
  grants: number;
  users: number;
  activeUsers: number;
  disabledUsers: number;
}

/** The console's first page: how much there is, and where to see it. */
export function overviewPage(frame: PageFrame, counts: OverviewCounts): string {
  const line = (label: string, value: number, href: string) =>
    html`<dt><a href="${href}">${label}</a></dt>
      <dd>${String(value)}</dd>`;
  return consolePage(
    'overview',
    'Overview',
    frame,
    html`<dl class="counts">
      ${line('Environments', counts.environments, '/admin/keys')} ${line('Clients', counts.clients, '/admin/clients')}
      ${line('Grants', counts.grants, '/admin/grants')} ${line('Users', counts.users, '/admin/users')}
      ${line('Users holding a grant', counts.activeUsers, '/admin/users?active=yes')}
      ${line('Disabled users', counts.disabledUsers, '/admin/users')}
    </dl>`
  );
}
