import { createHash } from 'node:crypto';
import { escapeHtml, html, type Html } from '../../auth/server/pages.ts';

/**
 * The frame of every console page: server-rendered HTML with every value escaped (pages.ts's
 * `html`), an inline stylesheet allowed by its hash, no script, and a navigation whose sign-out is
 * a form. Pages work in any browser without JavaScript.
 */

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.45; }
body { margin: 0; padding: 1rem; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; border-bottom: 1px solid #8886; padding-bottom: .5rem; margin-bottom: 1rem; }
header strong { margin-right: 1rem; }
nav a { margin-right: .75rem; }
nav a[aria-current=page] { font-weight: 700; text-decoration: none; }
header form { margin-left: auto; }
main { max-width: 80rem; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #8884; vertical-align: top; }
td form { margin: 0; }
code { font-size: .85rem; word-break: break-all; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; font-weight: 600; }
label { font-weight: 600; }
input, select { font-size: .95rem; padding: .3rem; }
button { font-size: .95rem; padding: .3rem .9rem; cursor: pointer; }
button.danger { border: 2px solid #b00020; }
.flash { border: 2px solid #2e7d32; padding: .5rem .75rem; }
.alert { border: 2px solid #b00020; padding: .5rem .75rem; }
.note { font-size: .85rem; opacity: .8; }
dl.counts { display: grid; grid-template-columns: max-content auto; gap: .25rem 1rem; }
dl.counts dt { font-weight: 600; }
dl.counts dd { margin: 0; }
form.sign-in { max-width: 24rem; }
form.sign-in label { display: block; margin: .75rem 0 .25rem; }
form.sign-in input { box-sizing: border-box; width: 100%; }
form.sign-in button, form.provider button { margin-top: 1rem; }
`;

export const CONSOLE_STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

export type Section = 'overview' | 'clients' | 'grants' | 'users' | 'audit' | 'keys';

const SECTIONS: readonly [Section, string, string][] = [
  ['overview', 'Overview', '/admin'],
  ['clients', 'Clients', '/admin/clients'],
  ['grants', 'Grants', '/admin/grants'],
  ['users', 'Users', '/admin/users'],
  ['audit', 'Audit trail', '/admin/audit'],
  ['keys', 'Signing keys', '/admin/keys']
];

/** What every signed-in page knows: who is signed in, the session's CSRF token, and a message to show. */
export interface PageFrame {
  username: string;
  csrf: string;
  /** The outcome of the action just taken (Post/Redirect/Get). */
  flash?: Flash | undefined;
}

export interface Flash {
  text: string;
  ok: boolean;
}

/** A whole page; `refreshTo` sends the browser on to a path of this origin without script. */
export function document(title: string, body: Html, refreshTo?: string): string {
  const refresh =
    refreshTo === undefined ? '' : `<meta http-equiv="refresh" content="0;url=${escapeHtml(refreshTo)}">\n`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
${refresh}<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)} · sqlbridge admin</title>
<style>${STYLE}</style>
</head>
<body>
${body.html}
</body>
</html>
`;
}

/** A page of the signed-in console. */
export function consolePage(section: Section, title: string, frame: PageFrame, content: Html): string {
  const links = SECTIONS.map(([id, label, href]) =>
    id === section ? html`<a href="${href}" aria-current="page">${label}</a>` : html`<a href="${href}">${label}</a>`
  );
  const flash =
    frame.flash === undefined
      ? html``
      : html`<p class="${frame.flash.ok ? 'flash' : 'alert'}" role="status">${frame.flash.text}</p>`;
  return document(
    title,
    html`<header>
        <strong>sqlbridge admin</strong>
        <nav aria-label="Sections">${links}</nav>
        <form method="post" action="/admin/logout">
          <input type="hidden" name="csrf" value="${frame.csrf}" />
          <span class="note">Signed in as ${frame.username}</span>
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main>
        <h1>${title}</h1>
        ${flash} ${content}
      </main>`
  );
}

/** A form posting one action, with the session's CSRF token and the fields naming its target. */
export function actionForm(
  action: string,
  csrf: string,
  fields: Record<string, string>,
  label: string,
  options: { danger?: boolean; accessibleName?: string } = {}
): Html {
  const hidden = Object.entries(fields).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`
  );
  const danger = options.danger === true ? html` class="danger"` : html``;
  const name = options.accessibleName === undefined ? html`` : html` aria-label="${options.accessibleName}"`;
  return html`<form method="post" action="${action}">
    <input type="hidden" name="csrf" value="${csrf}" />${hidden}
    <button type="submit" ${danger}${name}>${label}</button>
  </form>`;
}

/** A time for people: `2026-12-04 13:05 UTC`; a dash when unknown. */
export function when(epochMs: number | undefined): string {
  if (epochMs === undefined || !Number.isFinite(epochMs)) return '—';
  return `${new Date(epochMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `<option>`s with the current value selected; the first is "any". */
export function options(values: readonly string[], selected: string | undefined, any = 'Any'): Html[] {
  return [
    html`<option value="">${any}</option>`,
    ...values.map(value =>
      value === selected
        ? html`<option value="${value}" selected>${value}</option>`
        : html`<option value="${value}">${value}</option>`
    )
  ];
}

/** A table of records: its column headings, its rows, and what it says when there is none. */
export function dataTable(headings: readonly string[], rows: readonly Html[], empty: string): Html {
  const head = headings.map(heading => html`<th scope="col">${heading}</th>`);
  const body =
    rows.length > 0
      ? [...rows]
      : [
          html`<tr>
            <td colspan="${String(headings.length)}">${empty}</td>
          </tr>`
        ];
  return html`<table>
    <thead>
      <tr>
        ${head}
      </tr>
    </thead>
    <tbody>
      ${body}
    </tbody>
  </table>`;
}

/** A filter's labelled list of choices, the first of which is "Any". */
export function selectFilter(
  label: string,
  name: string,
  values: readonly string[],
  selected: string | undefined
): Html {
  return html`<label
    >${label}
    <select name="${name}">
      ${options(values, selected)}
    </select></label
  >`;
}
