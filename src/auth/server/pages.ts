import { createHash } from 'node:crypto';

/**
 * The authorization server's pages: sign-in, consent and errors. Server-rendered HTML that works
 * without JavaScript, with labelled fields and every value escaped. The stylesheet is inline and
 * allowed by its hash in the Content-Security-Policy.
 */

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; padding: 2rem 1rem; display: flex; justify-content: center; }
main { width: 100%; max-width: 26rem; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
p, dl { margin: 0 0 1rem; }
dt { font-weight: 600; }
dd { margin: 0 0 .5rem; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input[type=text], input[type=password] { box-sizing: border-box; width: 100%; padding: .5rem; font-size: 1rem; }
button { font-size: 1rem; padding: .5rem 1.25rem; margin: 1rem .5rem 0 0; cursor: pointer; }
.alert { border: 2px solid #b00020; padding: .5rem .75rem; }
.note { font-size: .875rem; opacity: .8; }
ul { padding-left: 1.25rem; }
`;

export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Marks HTML built from escaped parts. */
export interface Html {
  readonly html: string;
}

/** A template whose interpolated strings are escaped, and whose `Html` parts are kept as they are. */
export function html(strings: TemplateStringsArray, ...values: (string | Html | Html[])[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    const rendered = Array.isArray(value)
      ? value.map(v => v.html).join('')
      : typeof value === 'string'
        ? escapeHtml(value)
        : value.html;
    out += rendered + (strings[i + 1] ?? '');
  });
  return { html: out };
}

function layout(title: string, body: Html): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)} · sqlbridge</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body.html}
</main>
</body>
</html>
`;
}

/** An application as the sign-in and consent pages name it (interactions.ts identityOf). */
export interface ClientIdentity {
  name: string;
  /** Who gave the name: the administrator (`auth.clients`), or the application itself (registration, metadata document). */
  source: 'configured' | 'self' | 'document';
  /** A metadata-document client's host: its id is an https URL there. */
  publisher?: string;
}

/** The application's name, and for a metadata-document client the host that publishes it. */
function applicationName(client: ClientIdentity): Html {
  return client.publisher === undefined
    ? html`<strong>${client.name}</strong>`
    : html`<strong>${client.name}</strong> (from <strong>${client.publisher}</strong>)`;
}

const NAME_SOURCE: Record<ClientIdentity['source'], string> = {
  configured: 'the name the administrator gave it',
  self: 'the name it gave itself when it registered',
  document: 'the name its published description gives'
};

export interface LoginPage {
  environment: string;
  client: ClientIdentity;
  /** Where the user name and password form posts; absent, no such form (`auth.federation.localUsers: false`). */
  action?: string;
  csrf: string;
  username?: string;
  error?: string;
  /** Identity providers offered, each a form of one button posting to `federateAction`. */
  providers?: readonly { id: string; name: string }[];
  federateAction?: string;
}

export function loginPage(page: LoginPage): string {
  const error = page.error === undefined ? html`` : html`<p class="alert" role="alert" id="error">${page.error}</p>`;
  const providers = page.providers ?? [];
  const federated =
    page.federateAction === undefined
      ? []
      : providers.map(
          provider =>
            html`<form method="post" action="${page.federateAction ?? ''}" class="provider">
              <input type="hidden" name="csrf" value="${page.csrf}" />
              <button type="submit" name="provider" value="${provider.id}">Sign in with ${provider.name}</button>
            </form>`
        );
  const local =
    page.action === undefined
      ? html``
      : passwordForm({ action: page.action, csrf: page.csrf, username: page.username, error: page.error });
  const none =
    page.action === undefined && providers.length === 0
      ? html`<p>No way to sign in is offered for this database. Ask an administrator.</p>`
      : html``;
  const separator =
    page.action !== undefined && providers.length > 0
      ? html`<p class="note">or with your organisation’s account</p>`
      : html``;
  return layout(
    'Sign in',
    html`<h1>Sign in to sqlbridge</h1>
      <p>
        ${applicationName(page.client)} wants to use the <strong>${page.environment}</strong> database on your behalf.
      </p>
      ${error} ${local} ${separator} ${federated} ${none}`
  );
}

const SCOPE_TEXT: Record<string, string> = {
  'sql:read': 'Read data with SQL queries',
  'sql:write': 'Change data with SQL statements',
  offline_access: 'Stay connected without signing in again'
};

export interface ConsentPage {
  environment: string;
  client: ClientIdentity;
  redirectHost: string;
  username: string;
  scopes: readonly string[];
  action: string;
  csrf: string;
}

/**
 * The user name and password form of a sign-in page (the OAuth sign-in and the admin console's):
 * labelled fields, the error described by the element `#error` when there is one.
 */
export function passwordForm(form: {
  action: string;
  csrf: string;
  username?: string | undefined;
  error?: string | undefined;
  className?: string;
}): Html {
  return html`<form
    method="post"
    action="${form.action}"
    ${form.className === undefined ? html`` : html` class="${form.className}"`}
    novalidate
  >
    <input type="hidden" name="csrf" value="${form.csrf}" />
    <label for="username">User name</label>
    <input
      type="text"
      id="username"
      name="username"
      autocomplete="username"
      autocapitalize="none"
      spellcheck="false"
      required
      value="${form.username ?? ''}"
      ${form.error === undefined ? html`` : html` aria-describedby="error"`}
    />
    <label for="password">Password</label>
    <input type="password" id="password" name="password" autocomplete="current-password" required />
    <button type="submit">Sign in</button>
  </form>`;
}

export function consentPage(page: ConsentPage): string {
  const scopes = page.scopes.map(
    scope => html`<li>${SCOPE_TEXT[scope] ?? scope} <span class="note">(${scope})</span></li>`
  );
  return layout(
    'Allow access',
    html`<h1>Allow access to ${page.environment}?</h1>
      <p>Signed in as <strong>${page.username}</strong>.</p>
      <dl>
        <dt>Application</dt>
        <dd>${page.client.name} <span class="note">(${NAME_SOURCE[page.client.source]})</span></dd>
        ${
          page.client.publisher === undefined
            ? html``
            : html`<dt>Published by</dt>
                <dd>${page.client.publisher}</dd>`
        }
        <dt>It will return to</dt>
        <dd>${page.redirectHost}</dd>
        <dt>Database</dt>
        <dd>${page.environment}</dd>
        <dt>It may</dt>
        <dd>
          <ul>
            ${scopes}
          </ul>
        </dd>
      </dl>
      <form method="post" action="${page.action}">
        <input type="hidden" name="csrf" value="${page.csrf}" />
        <button type="submit" name="decision" value="allow">Allow</button>
        <button type="submit" name="decision" value="deny">Deny</button>
      </form>
      <p class="note">
        Allow only applications you started yourself. You can sign out of an application by removing it where you added
        it.
      </p>`
  );
}

export function errorPage(title: string, message: string): string {
  return layout(
    title,
    html`<h1>${title}</h1>
      <p role="alert">${message}</p>`
  );
}
