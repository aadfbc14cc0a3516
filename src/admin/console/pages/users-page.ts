import { html } from '../../../auth/server/pages.ts';
import type { UserFilter, UserSummary } from '../../admin-types.ts';
import { actionForm, consolePage, when, type PageFrame, dataTable } from '../console-layout.ts';

/** The people who may sign in, configured or created by an identity provider; each can be disabled. */
export function usersPage(frame: PageFrame, users: readonly UserSummary[], filter: UserFilter): string {
  const rows = users.map(
    user =>
      html`<tr>
        <td>${user.username}${user.displayName === undefined ? '' : ` (${user.displayName})`}</td>
        <td>${user.email ?? '—'}</td>
        <td>${user.origin === 'config' ? 'configuration' : 'identity provider'}</td>
        <td>${user.groups.join(', ')}</td>
        <td>${user.environments.join(', ')}</td>
        <td>${user.scopes.join(' ')}</td>
        <td>${String(user.grants)}</td>
        <td>${when(user.lastSignInAt)}</td>
        <td>${user.disabled ? 'disabled' : 'active'}</td>
        <td>
          ${
            user.disabled
              ? actionForm('/admin/users/enable', frame.csrf, { username: user.username }, 'Enable', {
                  accessibleName: `Enable ${user.username}`
                })
              : actionForm('/admin/users/disable', frame.csrf, { username: user.username }, 'Disable', {
                  danger: true,
                  accessibleName: `Disable ${user.username}`
                })
          }
        </td>
      </tr>`
  );
  return consolePage(
    'users',
    'Users',
    frame,
    html`<form class="filters" method="get" action="/admin/users" role="search">
        <label>Search <input type="search" name="q" value="${filter.q ?? ''}" /></label>
        <label>
          Holding a grant
          <select name="active">
            ${
              filter.active === true
                ? html`<option value="">Any</option>
                    <option value="yes" selected>Only users with a grant</option>`
                : html`<option value="" selected>Any</option>
                    <option value="yes">Only users with a grant</option>`
            }
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <p class="note">A disabled user's tokens stop working on their next call, on every replica.</p>
      ${dataTable(['User', 'E-mail', 'From', 'Groups', 'Environments', 'Scopes', 'Grants', 'Last sign-in', 'State', 'Action'], rows, 'No user matches.')}`
  );
}
