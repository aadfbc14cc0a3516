import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { auditFileIn, untilAuditFile } from '../helpers/audit-file.ts';
import { launchChromium } from '../helpers/browser.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { freeLoopbackPort } from '../helpers/nginx.ts';
import { authorizationUrl, pkce, redeemCode, refresh, type OAuthClient } from '../helpers/oauth-client.ts';
import { jwtClaims, signIn, type Credentials } from '../helpers/oauth-login.ts';
import { PROJECT_ROOT, startServer, type RunningServer } from '../helpers/server-process.ts';
import { callToolRaw } from '../helpers/tool-calls.ts';
import { startUpstreamIdp, type UpstreamIdp, type UpstreamPerson } from '../helpers/upstream-idp.ts';

/**
 * The admin console in a real Chromium against the real server over real HTTP: an administrator
 * signs in at /admin/login, sees the clients, grants and users that the real OAuth flow produced,
 * and every action has its effect on the tokens of those clients and users at once. Attacks are
 * refused: forms without the session's token or from another origin, framing, a person without
 * the admin scope, a page that is not signed in. Every action lands in the audit file and on the
 * audit page.
 */

const ENVIRONMENT = 'notes';
const ROOT: Credentials = { username: 'root', password: 'root-correct-horse-admin' };
const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const BOB: Credentials = { username: 'bob', password: 'bob-correct-horse-battery' };
/** An administrator through the group `admins` (auth.groups), not by scopes of their own. */
const OPS: Credentials = { username: 'ops', password: 'ops-correct-horse-battery' };
const STEP_MS = 10_000;
const SCREENSHOTS = join(PROJECT_ROOT, 'test-results', 'admin-console');

let server: RunningServer;
let browser: Browser;
let dir: string;
/** Another loopback origin: pages of "another site" that frame the console or post to it. */
let elsewhere: Server;
let elsewhereOrigin = '';
let elsewhereHtml = '';
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dir = emptyDir('admin-console-');
  const db = new DatabaseSync(join(dir, 'notes.db'));
  db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes VALUES (1, 'kept')");
  db.close();
  const user = async (who: Credentials, scopes: string): Promise<string> =>
    `    - { username: ${who.username}, passwordHash: "${await hashPassword(who.password)}", environments: [${ENVIRONMENT}], scopes: [${scopes}] }`;
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      `  ${ENVIRONMENT}:`,
      `    database: { engine: sqlite, path: ${JSON.stringify(join(dir, 'notes.db'))} }`,
      // A second environment, for the action that rotates the keys of every one.
      '  archive:',
      `    database: { engine: sqlite, path: ${JSON.stringify(join(dir, 'notes.db'))} }`,
      'audit: { flushIntervalMs: 50 }',
      'auth:',
      '  login: { maxFailuresPerUser: 100, maxFailuresPerAddress: 1000 }',
      '  groups:',
      `    admins: { environments: [${ENVIRONMENT}], scopes: ["sqlbridge:admin"] }`,
      '  users:',
      await user(ROOT, 'sql:read, "sqlbridge:admin"'),
      await user(ALICE, 'sql:read'),
      await user(BOB, 'sql:read'),
      `    - { username: ${OPS.username}, passwordHash: "${await hashPassword(OPS.password)}", environments: [${ENVIRONMENT}], scopes: [sql:read], groups: [admins] }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
  cleanup.push(() => server.stop());
  elsewhere = createServer((req, res) => {
    // `/inner`: a page that may be framed, the control that shows a frame's content is readable.
    const body = req.url === '/inner' ? '<!doctype html><p>inner frame content</p>' : elsewhereHtml;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise<void>(resolve => elsewhere.listen(0, '127.0.0.1', resolve));
  elsewhereOrigin = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
  cleanup.push(() => new Promise(resolve => elsewhere.close(resolve)));
  browser = await launchChromium();
  cleanup.push(() => browser.close());
}, 60_000);

afterAll(async () => {
  for (const close of cleanup.reverse()) await close();
}, 30_000);

const url = (path: string): string => `${server.baseUrl}${path}`;

async function newContext(options: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  cleanup.push(() => context.close());
  return context;
}

/** Fills in the console's sign-in form; returns the status of the answer to the POST. */
async function submitSignIn(page: Page, who: Credentials): Promise<number> {
  await page.goto(url('/admin/login'));
  await page.getByLabel('User name').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  const [response] = await Promise.all([
    page.waitForResponse(r => r.request().method() === 'POST' && new URL(r.url()).pathname === '/admin/login'),
    page.getByRole('button', { name: 'Sign in' }).click()
  ]);
  await page.waitForLoadState('load');
  return response.status();
}

/** A browser signed in to the console as root, without JavaScript (the console needs none). */
async function adminPage(who: Credentials = ROOT): Promise<Page> {
  const page = await (await newContext({ javaScriptEnabled: false })).newPage();
  expect(await submitSignIn(page, who)).toBe(303);
  expect(new URL(page.url()).pathname).toBe('/admin');
  return page;
}

/** Clicks a console button and waits for the page the action redirects back to. */
async function act(page: Page, button: string): Promise<string> {
  const [response] = await Promise.all([
    page.waitForResponse(r => r.request().method() === 'POST'),
    page.getByRole('button', { name: button, exact: true }).click()
  ]);
  expect(response.status(), await response.text().catch(() => '')).toBe(303);
  await page.waitForLoadState('load');
  return (await page.getByRole('status').innerText()).trim();
}

interface Granted {
  client: OAuthClient;
  name: string;
  accessToken: string;
  refreshToken: string;
  grantId: string;
}

/** A client registered by DCR under `name`, to which `who` gives a grant through the real sign-in and consent. */
async function grantThroughFlow(who: Credentials, name: string): Promise<Granted> {
  const registered = await fetch(url(`/${ENVIRONMENT}/register`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: ['http://127.0.0.1:9/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    })
  });
  expect(registered.status).toBe(201);
  const clientId = ((await registered.json()) as { client_id: string }).client_id;
  const client: OAuthClient = {
    clientId,
    clientSecret: undefined,
    authMethod: 'none',
    redirectUri: 'http://127.0.0.1:9/callback'
  };
  const challenge = pkce();
  const landed = await signIn(
    authorizationUrl(server.baseUrl, ENVIRONMENT, client, challenge.challenge, 'sql:read offline_access'),
    who
  );
  const code = landed.searchParams.get('code');
  expect(code, landed.href).toEqual(expect.any(String));
  const tokens = await redeemCode(server.baseUrl, ENVIRONMENT, client, code ?? '', challenge.verifier);
  expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
  const accessToken = String(tokens.body['access_token']);
  return {
    client,
    name,
    accessToken,
    refreshToken: String(tokens.body['refresh_token']),
    grantId: jwtClaims(accessToken)['gid'] as string
  };
}

/** The status of a tool call with the token: 200 when it is honoured. */
async function callStatus(token: string): Promise<number> {
  return (await callToolRaw(server.baseUrl, ENVIRONMENT, 'list_tables', {}, { token })).status;
}

async function signingKids(): Promise<string[]> {
  const response = await fetch(url(`/${ENVIRONMENT}/jwks`));
  return ((await response.json()) as { keys: { kid: string }[] }).keys.map(key => key.kid);
}

const auditFile = (): string => auditFileIn(dir);
const hasRecord =
  (event: string, match: (record: AuditRecord) => boolean = () => true) =>
  (records: AuditRecord[]): boolean =>
    records.some(record => record.event === event && match(record));

describe('signing in', () => {
  it('sends a browser that is not signed in to the sign-in page, from every page', async () => {
    for (const path of ['/admin', '/admin/clients', '/admin/grants', '/admin/users', '/admin/audit', '/admin/keys']) {
      const response = await fetch(url(path), { redirect: 'manual' });
      expect(response.status, path).toBe(303);
      expect(response.headers.get('location'), path).toBe('/admin/login');
    }
    const page = await (await newContext()).newPage();
    await page.goto(url('/admin/users'));
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Sign in to the sqlbridge admin console');
    // The inline stylesheet applies (its hash is in the policy): the form is 24rem wide, not the window's width.
    expect((await page.locator('form.sign-in').boundingBox())?.width).toBe(384);
  });

  it('answers a wrong password like the OAuth sign-in, and refuses a user without the admin scope', async () => {
    const page = await (await newContext()).newPage();
    expect(await submitSignIn(page, { username: ROOT.username, password: 'not-the-password' })).toBe(401);
    expect((await page.getByRole('alert').innerText()).trim()).toBe('Wrong user name or password.');
    expect(await submitSignIn(page, { username: 'nobody', password: 'not-the-password' })).toBe(401);
    expect((await page.getByRole('alert').innerText()).trim()).toBe('Wrong user name or password.');

    expect(await submitSignIn(page, ALICE)).toBe(403);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Not an administrator');
    // No session: the console still sends alice to the sign-in page.
    const cookies = (await page.context().cookies()).map(cookie => cookie.name);
    expect(cookies).not.toContain('sqlbridge-admin');
    await page.goto(url('/admin/users'));
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await untilAuditFile(
      auditFile(),
      hasRecord('auth.login_failed', r => r.user === ALICE.username && r.errorClass === 'not_admin')
    );
  });

  it('signs an administrator in with an HttpOnly, SameSite=Strict session cookie, and out again', async () => {
    const context = await newContext();
    const page = await context.newPage();
    expect(await submitSignIn(page, ROOT)).toBe(303);
    expect(new URL(page.url()).pathname).toBe('/admin');
    const session = (await context.cookies()).find(cookie => cookie.name === 'sqlbridge-admin');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin' });
    expect(session?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await page.locator('header').innerText()).toContain(`Signed in as ${ROOT.username}`);
    // The session id is nowhere in the audit trail or the log.
    await untilAuditFile(
      auditFile(),
      hasRecord('admin.signed_in', r => r.user === ROOT.username)
    );
    await server.logsWritten();
    expect(server.stderr()).not.toContain(session?.value ?? 'missing');
    // The store keeps only its hash: a copy of the data directory opens no session.
    const stored = ['auth.sqlite', 'auth.sqlite-wal']
      .map(name => join(dir, 'auth', name))
      .filter(path => existsSync(path))
      .map(path => readFileSync(path).toString('latin1'));
    expect(stored.length).toBeGreaterThan(0);
    for (const bytes of stored) expect(bytes).not.toContain(session?.value ?? 'missing');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(u => u.pathname === '/admin/login');
    // The old cookie value no longer opens anything, even when presented again.
    const replay = await fetch(url('/admin'), {
      redirect: 'manual',
      headers: { cookie: `sqlbridge-admin=${session?.value ?? ''}` }
    });
    expect(replay.status).toBe(303);
    // Signing out of a session that has ended already (another tab did) is no refusal: it goes to the sign-in.
    const again = await fetch(url('/admin/logout'), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: `sqlbridge-admin=${session?.value ?? ''}`,
        origin: new URL(url('/')).origin,
        'content-type': 'application/x-www-form-urlencoded'
      },
      body: 'csrf=stale'
    });
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('/admin/login');
  });
});

describe('headers and framing', () => {
  it('serves every console page with a strict policy, no script, no caching and no framing', async () => {
    const page = await adminPage();
    for (const path of ['/admin/login', '/admin', '/admin/clients', '/admin/audit']) {
      const response = await page.request.get(url(path), { maxRedirects: 0 });
      const headers = response.headers();
      const csp = headers['content-security-policy'] ?? '';
      expect(csp, path).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; form-action 'self'/);
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("base-uri 'none'");
      expect(csp, path).not.toContain('script-src');
      expect(headers['x-frame-options'], path).toBe('DENY');
      expect(headers['cache-control'], path).toBe('no-store');
      expect(headers['referrer-policy'], path).toBe('same-origin');
      expect(await response.text(), path).not.toContain('<script');
    }
  });

  it('stays blank inside a frame of another origin', async () => {
    elsewhereHtml = `<!doctype html><title>framer</title><iframe src="/inner"></iframe><iframe src="${url('/admin/login')}" width="600" height="400"></iframe>`;
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${elsewhereOrigin}/frame`);
    await page.waitForLoadState('load');
    const [control, child] = page.frames().filter(frame => frame !== page.mainFrame());
    if (control === undefined || child === undefined) throw new Error('a frame is missing');
    expect(await control.locator('body').innerText()).toContain('inner frame content');
    // Chromium replaces a refused frame's content with its own blocked page: none of the console shows.
    expect(child.url()).not.toBe(url('/admin/login'));
    expect(await child.locator('input[name="password"]').count()).toBe(0);
    const text = await child
      .locator('body')
      .innerText({ timeout: 1000 })
      .catch(() => '');
    expect(text).not.toContain('Sign in');
  });
});

describe('pages and actions', () => {
  let admin: Page;
  let aliceGrant: Granted;

  beforeAll(async () => {
    admin = await adminPage();
    aliceGrant = await grantThroughFlow(ALICE, 'Console Listed App');
  }, 60_000);

  it('lists a client registered by DCR with its name and redirect host, and filters by search', async () => {
    await admin.goto(url(`/admin/clients?q=${encodeURIComponent('Console Listed')}`));
    const row = admin.locator('tbody tr', { hasText: aliceGrant.client.clientId });
    expect(await row.count()).toBe(1);
    const text = await row.innerText();
    expect(text).toContain('Console Listed App');
    expect(text).toContain('127.0.0.1:9');
    expect(text).toContain(ENVIRONMENT);
    expect(text).toContain('registered');
    await admin.goto(url('/admin/clients?q=no-such-client-anywhere'));
    expect(await admin.locator('tbody').innerText()).toContain('No client matches.');
  });

  it('lists the grant given through the real flow, and the users with their scopes', async () => {
    await admin.goto(url(`/admin/grants?user=${ALICE.username}`));
    const row = admin.locator('tbody tr', { hasText: aliceGrant.grantId });
    expect(await row.count()).toBe(1);
    expect(await row.innerText()).toContain(ALICE.username);
    expect(await row.innerText()).toContain(aliceGrant.client.clientId);
    await admin.goto(url('/admin/users'));
    const users = await admin.locator('tbody').innerText();
    for (const who of [ROOT, ALICE, BOB, OPS]) expect(users).toContain(who.username);
    expect(await admin.locator('tbody tr', { hasText: ROOT.username }).innerText()).toContain('sqlbridge:admin');
    await admin.goto(url('/admin/users?active=yes'));
    expect(await admin.locator('tbody').innerText()).toContain(ALICE.username);
    expect(await admin.locator('tbody').innerText()).not.toContain(BOB.username);
    await admin.goto(url('/admin'));
    expect(await admin.locator('dl.counts').innerText()).toMatch(/Users\s+4/);
  });

  it('revokes a grant: its access token is refused on the very next call', async () => {
    const granted = await grantThroughFlow(ALICE, 'Console Revoked App');
    expect(await callStatus(granted.accessToken)).toBe(200);
    await admin.goto(url(`/admin/grants?clientId=${encodeURIComponent(granted.client.clientId)}`));
    const flash = await act(admin, `Revoke grant ${granted.grantId}`);
    expect(flash).toBe(`Grant ${granted.grantId} revoked: its tokens no longer work.`);
    expect(await callStatus(granted.accessToken)).toBe(401);
    expect((await refresh(server.baseUrl, ENVIRONMENT, granted.client, granted.refreshToken)).status).toBe(400);
    expect(await admin.locator('tbody').innerText()).not.toContain(granted.grantId);
  });

  it('deletes a client: its refresh token is refused, and it is gone from the list', async () => {
    const granted = await grantThroughFlow(ALICE, 'Console Deleted App');
    await admin.goto(url(`/admin/clients?q=${encodeURIComponent(granted.client.clientId)}`));
    const flash = await act(admin, 'Delete client Console Deleted App');
    expect(flash).toBe(`Client ${granted.client.clientId} deleted, with its grants and tokens.`);
    const refused = await refresh(server.baseUrl, ENVIRONMENT, granted.client, granted.refreshToken);
    expect([400, 401]).toContain(refused.status);
    expect(await callStatus(granted.accessToken)).toBe(401);
    await admin.goto(url(`/admin/clients?q=${encodeURIComponent(granted.client.clientId)}`));
    expect(await admin.locator('tbody').innerText()).toContain('No client matches.');
  });

  it('disables a user: their token is refused at once; enabling lets it work again', async () => {
    const granted = await grantThroughFlow(BOB, 'Console Bob App');
    expect(await callStatus(granted.accessToken)).toBe(200);
    await admin.goto(url('/admin/users?q=bob'));
    expect(await act(admin, `Disable ${BOB.username}`)).toBe(
      `${BOB.username} is disabled: their tokens stop working on their next call.`
    );
    expect(await callStatus(granted.accessToken)).toBe(401);
    expect(await admin.locator('tbody tr', { hasText: BOB.username }).innerText()).toContain('disabled');
    await admin.goto(url('/admin/users?q=bob'));
    expect(await act(admin, `Enable ${BOB.username}`)).toBe(`${BOB.username} is enabled again.`);
    expect(await callStatus(granted.accessToken)).toBe(200);
  });

  it('ends the session of an administrator who is disabled, at their next request; nobody disables themself', async () => {
    const ops = await adminPage(OPS);
    await ops.goto(url('/admin/users'));
    expect(new URL(ops.url()).pathname).toBe('/admin/users');
    await admin.goto(url(`/admin/users?q=${OPS.username}`));
    expect(await act(admin, `Disable ${OPS.username}`)).toContain(`${OPS.username} is disabled`);
    await ops.goto(url('/admin/users'));
    expect(new URL(ops.url()).pathname).toBe('/admin/login');
    // Enabled again, the ended session stays ended: a new sign-in is needed.
    await admin.goto(url(`/admin/users?q=${OPS.username}`));
    expect(await act(admin, `Enable ${OPS.username}`)).toBe(`${OPS.username} is enabled again.`);
    await ops.goto(url('/admin'));
    expect(new URL(ops.url()).pathname).toBe('/admin/login');

    await admin.goto(url(`/admin/users?q=${ROOT.username}`));
    expect(await act(admin, `Disable ${ROOT.username}`)).toBe('You cannot disable your own account.');
    await admin.goto(url(`/admin/users?q=${ROOT.username}`));
    expect(await admin.locator('tbody tr', { hasText: ROOT.username }).innerText()).toContain('active');
  });

  it("rotates an environment's signing key: a new kid is first in its JWKS", async () => {
    const before = await signingKids();
    await admin.goto(url('/admin/keys'));
    expect(await act(admin, `Rotate the keys of ${ENVIRONMENT}`)).toContain(`New signing keys for ${ENVIRONMENT}`);
    const after = await signingKids();
    expect(before).not.toContain(after[0]);
    expect(after).toEqual(expect.arrayContaining(before));
    await admin.goto(url('/admin/keys'));
    expect(await admin.locator('tbody tr', { hasText: ENVIRONMENT }).innerText()).toContain(after[0] ?? 'missing');
    // Every environment at once: the page says which.
    expect(await act(admin, 'Rotate the keys of every environment')).toBe(
      `New signing keys for ${ENVIRONMENT}, archive; tokens signed before stay valid until they expire.`
    );
  });

  it('answers an audit search it cannot run with a page saying why, not a server error', async () => {
    const response = await admin.goto(url('/admin/audit?outcome=bogus'));
    expect(response?.status()).toBe(400);
    expect(await admin.locator('h1').innerText()).toBe('Request refused');
    expect(await admin.locator('[role="alert"]').innerText()).toMatch(/outcome/);
  });

  it('shows every admin action in the audit file and on the audit page, newest first', async () => {
    const records = await untilAuditFile(auditFile(), all =>
      [
        'admin.grant_revoked',
        'admin.client_deleted',
        'admin.user_disabled',
        'admin.user_enabled',
        'admin.keys_rotated'
      ].every(event => hasRecord(event, r => r.user === ROOT.username && r.outcome === 'ok')(all))
    );
    const admins = records.filter(record => record.event.startsWith('admin.') && record.event !== 'admin.signed_in');
    for (const record of admins) {
      expect(record.remoteAddress, record.event).toEqual(expect.any(String));
      expect(record.requestId, record.event).toEqual(expect.any(String));
    }
    await admin.goto(url('/admin/audit?event=admin'));
    const rows = await admin.locator('tbody tr').allInnerTexts();
    const events = rows.map(row => row.split('\t')[1]?.trim());
    expect(events).toEqual(
      expect.arrayContaining([
        'admin.signed_in',
        'admin.grant_revoked',
        'admin.client_deleted',
        'admin.user_disabled',
        'admin.user_enabled',
        'admin.keys_rotated'
      ])
    );
    expect(events.every(event => event?.startsWith('admin.'))).toBe(true);
    // Newest first: the rotation came last.
    expect(events[0]).toBe('admin.keys_rotated');
    await admin.goto(url(`/admin/audit?event=auth.login_failed&user=${ALICE.username}`));
    expect(await admin.locator('tbody').innerText()).toContain('error=not_admin');
  });
});

describe('every page, for people to look at', () => {
  it('renders each page with its heading, and keeps a screenshot of it', async () => {
    const page = await adminPage();
    mkdirSync(SCREENSHOTS, { recursive: true });
    const pages: [string, string][] = [
      ['/admin', 'Overview'],
      ['/admin/clients', 'Clients'],
      ['/admin/grants', 'Grants'],
      ['/admin/users', 'Users'],
      ['/admin/audit', 'Audit trail'],
      ['/admin/keys', 'Signing keys']
    ];
    for (const [path, heading] of pages) {
      const response = await page.goto(url(path));
      expect(response?.status(), path).toBe(200);
      expect(await page.getByRole('heading', { level: 1 }).innerText(), path).toBe(heading);
      expect(await page.locator('nav [aria-current="page"]').innerText(), path).toBe(heading);
      const file = join(SCREENSHOTS, `${heading.toLowerCase().replaceAll(' ', '-')}.png`);
      await page.screenshot({ path: file, fullPage: true, timeout: STEP_MS });
      expect(statSync(file).size, path).toBeGreaterThan(0);
    }
  });
});

describe('forged requests', () => {
  let admin: Page;
  let granted: Granted;
  let csrf: string;

  beforeAll(async () => {
    admin = await adminPage();
    granted = await grantThroughFlow(ALICE, 'Console Forgery Target App');
    await admin.goto(url('/admin/grants'));
    csrf = await admin.locator('input[name="csrf"]').first().inputValue();
  }, 60_000);

  /** Posts a revocation of the target grant with the admin's own cookies. */
  async function forge(form: Record<string, string>, headers: Record<string, string>): Promise<number> {
    const response = await admin.request.post(url('/admin/grants/revoke'), {
      form: { environment: ENVIRONMENT, grantId: granted.grantId, ...form },
      headers,
      maxRedirects: 0
    });
    return response.status();
  }

  it('refuses a form without the token, with a foreign one, from another origin or with no origin; nothing changes', async () => {
    const other = await adminPage();
    await other.goto(url('/admin/grants'));
    const foreignToken = await other.locator('input[name="csrf"]').first().inputValue();
    expect(foreignToken).not.toBe(csrf);
    const origin = new URL(server.baseUrl).origin;
    expect(await forge({}, { origin })).toBe(403);
    expect(await forge({ csrf: 'x'.repeat(43) }, { origin })).toBe(403);
    expect(await forge({ csrf: foreignToken }, { origin })).toBe(403);
    expect(await forge({ csrf }, { origin: elsewhereOrigin })).toBe(403);
    expect(await forge({ csrf }, {})).toBe(403);
    expect(await callStatus(granted.accessToken)).toBe(200);
    await admin.goto(url(`/admin/grants?clientId=${encodeURIComponent(granted.client.clientId)}`));
    expect(await admin.locator('tbody').innerText()).toContain(granted.grantId);
  });

  it("refuses a form another site's page submits in the administrator's browser", async () => {
    elsewhereHtml = `<!doctype html><title>prize</title><form method="post" action="${url('/admin/users/disable')}">
      <input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="username" value="${ALICE.username}">
      <button type="submit">Claim your prize</button></form>`;
    const page = await admin.context().newPage();
    await page.goto(`${elsewhereOrigin}/prize`);
    const [response] = await Promise.all([
      page.waitForResponse(r => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Claim your prize' }).click()
    ]);
    expect(response.status()).toBe(403);
    await admin.goto(url(`/admin/users?q=${ALICE.username}`));
    expect(await admin.locator('tbody tr', { hasText: ALICE.username }).innerText()).toContain('active');
    expect(await callStatus(granted.accessToken)).toBe(200);
  });
});

describe('signing in through the identity provider', () => {
  /** Linked to the configured administrator `ada`. */
  const ADA: UpstreamPerson = {
    login: 'ada',
    password: 'ada-corp-horse-battery',
    sub: '51d0-ada',
    email: 'ada@corp.example',
    name: 'Ada Lovelace',
    groups: []
  };
  /** Linked to the configured user `carl`, who may query but not administer. */
  const CARL: UpstreamPerson = {
    login: 'carl',
    password: 'carl-corp-horse-battery',
    sub: '8e77-carl',
    email: 'carl@corp.example',
    name: 'Carl Gauss',
    groups: []
  };
  let upstream: UpstreamIdp;
  let federated: RunningServer;
  /** `localhost`, so that the provider (on 127.0.0.1) is another site, as a real one is. */
  let origin = '';
  let federatedDir = '';

  beforeAll(async () => {
    federatedDir = emptyDir('admin-console-sso-');
    const port = await freeLoopbackPort();
    origin = `http://localhost:${port}`;
    upstream = await startUpstreamIdp({ redirectUri: `${origin}/auth/federation/callback`, people: [ADA, CARL] });
    cleanup.push(() => upstream.close());
    const config = join(federatedDir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        'server:',
        `  publicUrl: ${origin}`,
        'environments:',
        `  ${ENVIRONMENT}:`,
        `    database: { engine: sqlite, path: ${JSON.stringify(join(dir, 'notes.db'))} }`,
        'audit: { flushIntervalMs: 50 }',
        'auth:',
        '  users:',
        `    - { username: ada, environments: [${ENVIRONMENT}], scopes: [sql:read, "sqlbridge:admin"], identities: [{ provider: corp, subject: "${ADA.sub}" }] }`,
        `    - { username: carl, environments: [${ENVIRONMENT}], scopes: [sql:read], identities: [{ provider: corp, subject: "${CARL.sub}" }] }`,
        '  federation:',
        '    providers:',
        '      - id: corp',
        '        name: Corp IdP',
        `        issuer: "${upstream.issuer}"`,
        `        clientId: ${upstream.clientId}`,
        `        clientSecret: "${upstream.clientSecret}"`,
        ''
      ].join('\n')
    );
    federated = await startServer({ args: ['serve', '--config', config, '--data-dir', federatedDir], port });
    cleanup.push(() => federated.stop());
  }, 60_000);

  /** From the console's sign-in page through the provider's; returns the page the browser ends on. */
  async function throughCorp(person: UpstreamPerson): Promise<Page> {
    const page = await (await newContext({ javaScriptEnabled: false })).newPage();
    const login = await page.goto(`${origin}/admin/login`);
    // The provider's sign-in page is where the button's answer sends the browser: the policy allows it.
    expect(login?.headers()['content-security-policy']).toContain(`form-action 'self' ${upstream.issuer}`);
    expect(await page.getByLabel('Password').count()).toBe(1);
    await Promise.all([
      page.waitForURL(u => u.origin === upstream.issuer),
      page.getByRole('button', { name: 'Sign in with Corp IdP' }).click()
    ]);
    await page.getByLabel('Corp account').fill(person.login);
    await page.getByLabel('Corp password').fill(person.password);
    await Promise.all([
      page.waitForURL(u => u.origin === origin),
      page.getByRole('button', { name: 'Continue' }).click()
    ]);
    await page.waitForLoadState('load');
    return page;
  }

  it('opens a session for an administrator linked to the account, with no script', async () => {
    const page = await throughCorp(ADA);
    // Back from the provider's site, the next step starts here, so the SameSite=Strict cookie is sent.
    await page.waitForURL(u => u.pathname === '/admin');
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Overview');
    expect(await page.locator('header').innerText()).toContain('Signed in as ada');
    await untilAuditFile(
      auditFileIn(federatedDir),
      hasRecord('admin.signed_in', r => r.user === 'ada' && r.detail?.['provider'] === 'corp')
    );
  });

  it('refuses an account whose user may not administer, and opens no session', async () => {
    const page = await throughCorp(CARL);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Not an administrator');
    expect((await page.context().cookies()).map(cookie => cookie.name)).not.toContain('sqlbridge-admin');
    await untilAuditFile(
      auditFileIn(federatedDir),
      hasRecord('auth.login_failed', r => r.user === 'carl' && r.errorClass === 'not_admin')
    );
  });
});

describe('turned off', () => {
  it('serves no console when auth.admin.enabled is false', async () => {
    const offDir = emptyDir('admin-console-off-');
    const config = join(offDir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        'environments:',
        `  ${ENVIRONMENT}:`,
        `    database: { engine: sqlite, path: ${JSON.stringify(join(dir, 'notes.db'))} }`,
        'auth:',
        '  admin: { enabled: false }',
        '  users:',
        `    - { username: root, passwordHash: "${await hashPassword(ROOT.password)}", environments: [${ENVIRONMENT}], scopes: [sql:read, "sqlbridge:admin"] }`,
        ''
      ].join('\n')
    );
    const off = await startServer({ args: ['serve', '--config', config, '--data-dir', offDir] });
    cleanup.push(() => off.stop());
    for (const path of ['/admin', '/admin/login']) {
      expect((await fetch(`${off.baseUrl}${path}`, { redirect: 'manual' })).status, path).toBe(404);
    }
    const form = await fetch(`${off.baseUrl}/admin/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: off.baseUrl },
      body: new URLSearchParams({ username: ROOT.username, password: ROOT.password }).toString()
    });
    expect(form.status).toBe(404);
  }, 30_000);
});
