import { html } from '../../../auth/server/pages.ts';
import { actionForm, consolePage, type PageFrame, dataTable } from '../console-layout.ts';

export interface EnvironmentKeysView {
  environment: string;
  /** The key id new tokens are signed with, when the environment's server runs. */
  signingKid?: string | undefined;
}

/** Each environment's signing key, and rotation: a new key signs from now on, the previous ones still verify. */
export function keysPage(frame: PageFrame, environments: readonly EnvironmentKeysView[]): string {
  const rows = environments.map(
    env =>
      html`<tr>
        <td>${env.environment}</td>
        <td><code>${env.signingKid ?? '—'}</code></td>
        <td><a href="/${env.environment}/jwks">/${env.environment}/jwks</a></td>
        <td>
          ${actionForm('/admin/keys/rotate', frame.csrf, { environment: env.environment }, 'Rotate', {
            accessibleName: `Rotate the keys of ${env.environment}`
          })}
        </td>
      </tr>`
  );
  return consolePage(
    'keys',
    'Signing keys',
    frame,
    html`<p class="note">
        Rotation makes a new key sign every token from now on. Tokens signed by the previous keys keep working until
        they expire.
      </p>
      ${dataTable(['Environment', 'Signing key id', 'Public keys', 'Action'], rows, 'No environment is served.')}
      ${actionForm('/admin/keys/rotate', frame.csrf, {}, 'Rotate every environment', {
        accessibleName: 'Rotate the keys of every environment'
      })}`
  );
}
