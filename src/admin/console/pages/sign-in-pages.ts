import { html, passwordForm } from '../../../auth/server/pages.ts';
import { document } from '../console-layout.ts';

/** The console's sign-in page, its refusal, and the step that follows a provider's sign-in. */

export interface AdminLoginPage {
  csrf: string;
  /** Whether the user name and password form is offered (`auth.federation.localUsers`). */
  passwords: boolean;
  providers: readonly { id: string; name: string }[];
  username?: string;
  error?: string;
}

export function adminLoginPage(page: AdminLoginPage): string {
  const error = page.error === undefined ? html`` : html`<p class="alert" role="alert" id="error">${page.error}</p>`;
  const local = page.passwords
    ? passwordForm({
        action: '/admin/login',
        csrf: page.csrf,
        username: page.username,
        error: page.error,
        className: 'sign-in'
      })
    : html``;
  const providers = page.providers.map(
    provider =>
      html`<form class="provider" method="post" action="/admin/login/federate">
        <input type="hidden" name="csrf" value="${page.csrf}" />
        <input type="hidden" name="provider" value="${provider.id}" />
        <button type="submit">Sign in with ${provider.name}</button>
      </form>`
  );
  return document(
    'Sign in',
    html`<main>
      <h1>Sign in to the sqlbridge admin console</h1>
      <p class="note">For administrators: people whose account holds the <code>sqlbridge:admin</code> scope.</p>
      ${error} ${local} ${providers}
    </main>`
  );
}

/** A refusal or an error, with a way back (to the sign-in page unless another is given). */
export function consoleMessagePage(title: string, message: string, back = '/admin/login'): string {
  return document(
    title,
    html`<main>
      <h1>${title}</h1>
      <p role="alert">${message}</p>
      <p><a href="${back}">${back === '/admin/login' ? 'Go to the sign-in page' : 'Back'}</a></p>
    </main>`
  );
}

/**
 * Shown once a provider's sign-in opened a session. The browser arrives here at the end of a chain of
 * redirects that started on the provider's site, so it does not send the console's SameSite=Strict
 * cookie yet; the next navigation starts on this origin and does. It is made by a refresh (no script)
 * or by following the link.
 */
export function signedInPage(): string {
  return document(
    'Signed in',
    html`<main>
      <h1>Signed in</h1>
      <p><a href="/admin">Continue to the admin console</a></p>
    </main>`,
    '/admin'
  );
}
