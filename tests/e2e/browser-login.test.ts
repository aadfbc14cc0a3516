import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Browser, BrowserContext, Page, Response as PageResponse } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import {
  httpsFetch,
  launchChromium,
  loopbackCertificate,
  pkce,
  startCallbackServer,
  startTlsProxy,
  type CallbackServer,
  type Certificate,
  type Pkce,
  type TlsProxy
} from '../helpers/browser.ts';
import { jwtClaims } from '../helpers/oauth-login.ts';
import { PROJECT_ROOT, startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * Sign-in and consent in a real browser: headless Chromium against the running server over real
 * sockets, behind a TLS-terminating proxy on loopback (the public URL is https, so cookies are
 * Secure and `__Host-`/`__Secure-` prefixed). A client registers dynamically, the browser goes to
 * /authorize with PKCE, the person signs in and allows or denies, and the client's loopback
 * redirect URI receives the answer, which the test exchanges for a token.
 */

const ENVIRONMENT = 'notes';
const ALICE = { username: 'alice', password: 'alice-correct-horse-battery' };
const SCOPE = 'sql:read offline_access';
const SCREENSHOTS = join(PROJECT_ROOT, 'test-results', 'browser');
const STEP_MS = 10_000;

interface Metadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint: string;
}

interface RegisteredClient {
  clientId: string;
  name: string;
}

interface Authorization {
  url: string;
  state: string;
  pkce: Pkce;
  clientId: string;
}

let certificate: Certificate;
let proxy: TlsProxy;
let callback: CallbackServer;
let browser: Browser | undefined;
let metadata: Metadata;
let resource: string;
/** What beforeAll started, closed in reverse order by afterAll (however far beforeAll got). */
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const dir = emptyDir('browser-');
  const db = new DatabaseSync(join(dir, 'notes.db'));
  db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes VALUES (1, 'kept')");
  db.close();
  certificate = loopbackCertificate(dir);
  proxy = await startTlsProxy(certificate);
  cleanup.push(() => proxy.close());
  callback = await startCallbackServer();
  cleanup.push(() => callback.close());
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'server:',
      `  publicUrl: ${proxy.origin}`,
      'environments:',
      `  ${ENVIRONMENT}:`,
      `    database: { engine: sqlite, path: ${JSON.stringify(join(dir, 'notes.db'))} }`,
      'auth:',
      '  login: { maxFailuresPerUser: 100, maxFailuresPerAddress: 1000 }',
      '  users:',
      `    - { username: ${ALICE.username}, passwordHash: "${await hashPassword(ALICE.password)}", environments: [${ENVIRONMENT}], scopes: [sql:read] }`,
      ''
    ].join('\n')
  );
  const server: RunningServer = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
  cleanup.push(() => server.stop());
  proxy.upstream = server.baseUrl;
  const discovery = await httpsFetch(`${proxy.origin}/.well-known/oauth-authorization-server/${ENVIRONMENT}`, {
    ca: certificate.cert
  });
  expect(discovery.status).toBe(200);
  metadata = JSON.parse(discovery.body) as Metadata;
  expect(metadata.issuer).toBe(`${proxy.origin}/${ENVIRONMENT}`);
  resource = `${metadata.issuer}/mcp`;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const launched = await launchChromium();
  browser = launched;
  cleanup.push(() => launched.close());
}, 60_000);

afterAll(async () => {
  for (const close of cleanup.reverse()) await close();
}, 30_000);

/** A client registered the way an MCP client registers (RFC 7591), with the test's loopback redirect URI. */
async function registerClient(name: string): Promise<RegisteredClient> {
  const response = await httpsFetch(metadata.registration_endpoint, {
    ca: certificate.cert,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: [callback.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    })
  });
  expect(response.status, response.body).toBe(201);
  const registered = JSON.parse(response.body) as { client_id: string };
  return { clientId: registered.client_id, name };
}

function authorization(client: RegisteredClient, extra: Record<string, string> = {}): Authorization {
  const challenge = pkce();
  const state = crypto.randomUUID();
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: callback.redirectUri,
    code_challenge: challenge.challenge,
    code_challenge_method: 'S256',
    state,
    scope: SCOPE,
    resource,
    ...extra
  }).toString();
  return { url: url.href, state, pkce: challenge, clientId: client.clientId };
}

async function newContext(options: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
  if (browser === undefined) throw new Error('the browser did not start');
  const context = await browser.newContext({ ignoreHTTPSErrors: true, ...options });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  cleanup.push(() => context.close());
  return context;
}

/** Opens the authorization URL in a new page; returns the page and the response of the page it ends on. */
async function open(context: BrowserContext, auth: Authorization): Promise<{ page: Page; response: PageResponse }> {
  const page = await context.newPage();
  const response = await page.goto(auth.url);
  if (response === null) throw new Error('no response to the authorization request');
  return { page, response };
}

const atCallback = (url: URL): boolean => url.href.startsWith(`${callback.redirectUri}?`);

/** Performs `action` and waits for the browser to land on the client's redirect URI; returns the URL it received. */
async function landOnCallback(page: Page, action: () => Promise<unknown>): Promise<URL> {
  await Promise.all([page.waitForURL(atCallback), action()]);
  const landed = new URL(page.url());
  expect(callback.received.map(url => url.href)).toContain(landed.href);
  return landed;
}

/** Fills in and sends the sign-in form; returns once the consent page is shown. */
async function signIn(page: Page, credentials: { username: string; password: string }): Promise<void> {
  await page.getByLabel('User name').fill(credentials.username);
  await page.getByLabel('Password').fill(credentials.password);
  await submit(page, 'login', () => page.getByRole('button', { name: 'Sign in' }).click());
  await page.getByRole('button', { name: 'Allow' }).waitFor();
}

/**
 * Sends a form with `action` (a click, a key) and checks the server accepted it: a 303 onwards. A refusal fails
 * here, at once and with the server's answer, rather than as a wait for a page that never comes.
 */
async function submit(page: Page, step: 'login' | 'confirm', action: () => Promise<unknown>): Promise<void> {
  const [response] = await Promise.all([
    page.waitForResponse(r => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith(`/${step}`)),
    action()
  ]);
  const refusal = response.status() === 303 ? '' : await response.text().catch(() => '');
  expect(response.status(), `POST ${step} was answered ${response.status()}: ${refusal}`).toBe(303);
}

function choose(page: Page, decision: 'Allow' | 'Deny'): Promise<void> {
  return submit(page, 'confirm', () => page.getByRole('button', { name: decision }).click());
}

async function exchange(auth: Authorization, code: string): Promise<Record<string, unknown>> {
  const response = await httpsFetch(metadata.token_endpoint, {
    ca: certificate.cert,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: callback.redirectUri,
      client_id: auth.clientId,
      code_verifier: auth.pkce.verifier,
      resource
    }).toString()
  });
  expect(response.status, response.body).toBe(200);
  return JSON.parse(response.body) as Record<string, unknown>;
}

/** The callback carries a code for this request, which the verifier turns into an access token for alice. */
async function expectCodeForAlice(auth: Authorization, landed: URL): Promise<Record<string, unknown>> {
  expect(landed.searchParams.get('state')).toBe(auth.state);
  expect(landed.searchParams.get('iss')).toBe(metadata.issuer);
  expect(landed.searchParams.get('error')).toBeNull();
  const code = landed.searchParams.get('code');
  expect(code).toEqual(expect.any(String));
  const tokens = await exchange(auth, code ?? '');
  expect(tokens['access_token']).toEqual(expect.any(String));
  expect(String(tokens['token_type']).toLowerCase()).toBe('bearer');
  expect(jwtClaims(String(tokens['access_token']))).toMatchObject({
    iss: metadata.issuer,
    aud: resource,
    sub: ALICE.username,
    client_id: auth.clientId,
    scope: 'sql:read'
  });
  return tokens;
}

async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true, timeout: STEP_MS });
  expect(statSync(path).size).toBeGreaterThan(0);
  expect(readFileSync(path).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
}

/** The element with keyboard focus: its id, `button:<text>` for a button, or '' for none or another. */
async function focused(page: Page): Promise<string> {
  const active = page.locator(':focus');
  if ((await active.count()) !== 1) return '';
  const id = await active.getAttribute('id');
  if (id !== null) return id;
  const button = page.locator('button:focus');
  return (await button.count()) === 1 ? `button:${((await button.textContent()) ?? '').trim()}` : '';
}

describe('sign-in page', () => {
  it('renders a labelled form with a submit button, a title, and anti-framing headers', async () => {
    const client = await registerClient('Browser Login Page App');
    const { page, response } = await open(await newContext(), authorization(client));
    expect(response.status()).toBe(200);
    expect(new URL(page.url()).pathname).toMatch(new RegExp(`^/${ENVIRONMENT}/interaction/[^/]+$`));
    expect(await page.title()).toBe('Sign in · sqlbridge');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in to sqlbridge');
    const username = page.getByLabel('User name');
    const password = page.getByLabel('Password');
    expect(await username.getAttribute('type')).toBe('text');
    expect(await username.getAttribute('autocomplete')).toBe('username');
    expect(await password.getAttribute('type')).toBe('password');
    expect(await password.getAttribute('autocomplete')).toBe('current-password');
    expect(await page.getByRole('button').allTextContents()).toEqual(['Sign in']);
    expect(await page.getByRole('button', { name: 'Sign in' }).getAttribute('type')).toBe('submit');
    // It names the application asking and the database.
    const text = await page.locator('main').innerText();
    expect(text).toContain(client.name);
    expect(text).toContain(ENVIRONMENT);
    const headers = response.headers();
    expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['cache-control']).toBe('no-store');
    await screenshot(page, 'login');
  });

  it("applies the page's own inline stylesheet, allowed by the Content-Security-Policy", async () => {
    const client = await registerClient('Browser Style App');
    const { page, response } = await open(await newContext(), authorization(client));
    expect(response.headers()['content-security-policy']).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    // main { max-width: 26rem } from the inline style: 416px wide in a 1280px window unless the style is blocked.
    expect(page.viewportSize()?.width).toBe(1280);
    expect((await page.locator('main').boundingBox())?.width).toBe(416);
  });

  it('answers a wrong password and an unknown user with the same generic message, and shows the form again', async () => {
    const client = await registerClient('Browser Wrong Password App');
    const auth = authorization(client);
    const { page } = await open(await newContext(), auth);
    const messages: string[] = [];
    for (const attempt of [
      { username: ALICE.username, password: 'not-alices-password' },
      { username: 'nobody-by-this-name', password: 'not-alices-password' }
    ]) {
      await page.getByLabel('User name').fill(attempt.username);
      await page.getByLabel('Password').fill(attempt.password);
      const [response] = await Promise.all([
        page.waitForResponse(r => r.request().method() === 'POST' && r.url().endsWith('/login')),
        page.getByRole('button', { name: 'Sign in' }).click()
      ]);
      expect(response.status(), await response.text()).toBe(401);
      await page.waitForLoadState('load');
      const alert = page.getByRole('alert');
      const message = (await alert.innerText()).trim();
      messages.push(message);
      expect(message).not.toContain(attempt.username);
      expect(message.toLowerCase()).not.toMatch(/unknown|not found|no such|exist/);
      // The form again, keeping the user name, never the password, and pointing the field at the message.
      expect(await page.getByLabel('User name').inputValue()).toBe(attempt.username);
      expect(await page.getByLabel('Password').inputValue()).toBe('');
      expect(await page.getByLabel('User name').getAttribute('aria-describedby')).toBe(await alert.getAttribute('id'));
      expect(await page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
      if (messages.length === 1) await screenshot(page, 'wrong-password');
    }
    expect(messages[0]).toBe('Wrong user name or password.');
    expect(messages[1]).toBe(messages[0]);
    // The same page then accepts the right password.
    await signIn(page, ALICE);
    expect(await page.getByRole('button', { name: 'Allow' }).isVisible()).toBe(true);
  });
});

describe('consent', () => {
  it('names the application, where it returns to, the environment and the scopes', async () => {
    const client = await registerClient('Browser Consent App');
    const { page } = await open(await newContext(), authorization(client));
    await signIn(page, ALICE);
    expect(await page.title()).toBe('Allow access · sqlbridge');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Allow access to ${ENVIRONMENT}?`);
    const text = await page.locator('main').innerText();
    expect(text).toContain(`Signed in as ${ALICE.username}`);
    expect(text).toContain(client.name);
    expect(text).toContain(new URL(callback.redirectUri).host);
    expect(await page.locator('dt:has-text("Database") + dd').innerText()).toBe(ENVIRONMENT);
    // Reading, and nothing this read-only environment cannot grant; the client will get a refresh token,
    // so staying connected is named too.
    const scopes = (await page.getByRole('listitem').allInnerTexts()).map(item => item.trim());
    expect(scopes).toEqual([
      'Read data with SQL queries (sql:read)',
      'Stay connected without signing in again (offline_access)'
    ]);
    expect(await page.getByRole('button').allTextContents()).toEqual(['Allow', 'Deny']);
    await screenshot(page, 'consent');
  });

  it('never offers sql:write in a read-only environment, and the refresh token it names is issued', async () => {
    const auth = authorization(await registerClient('Browser Offline App'), {
      prompt: 'consent',
      scope: 'sql:read sql:write offline_access'
    });
    const { page } = await open(await newContext(), auth);
    await signIn(page, ALICE);
    const scopes = (await page.getByRole('listitem').allInnerTexts()).map(item => item.trim());
    expect(scopes).toEqual([
      'Read data with SQL queries (sql:read)',
      'Stay connected without signing in again (offline_access)'
    ]);
    const landed = await landOnCallback(page, () => choose(page, 'Allow'));
    const tokens = await expectCodeForAlice(auth, landed);
    expect(tokens['refresh_token']).toEqual(expect.any(String));
  });

  it('Allow sends the browser to the redirect URI with a code, the state and iss; the code buys a token', async () => {
    const auth = authorization(await registerClient('Browser Allow App'));
    const { page } = await open(await newContext(), auth);
    await signIn(page, ALICE);
    const landed = await landOnCallback(page, () => choose(page, 'Allow'));
    await expectCodeForAlice(auth, landed);
  });

  it('Deny sends the browser to the redirect URI with access_denied and the state, and no code', async () => {
    const auth = authorization(await registerClient('Browser Deny App'));
    const { page } = await open(await newContext(), auth);
    await signIn(page, ALICE);
    const landed = await landOnCallback(page, () => choose(page, 'Deny'));
    expect(landed.searchParams.get('error')).toBe('access_denied');
    expect(landed.searchParams.get('state')).toBe(auth.state);
    expect(landed.searchParams.get('iss')).toBe(metadata.issuer);
    expect(landed.searchParams.get('code')).toBeNull();
  });

  it('remembers consent in the same browser: a second authorization needs neither sign-in nor consent', async () => {
    const client = await registerClient('Browser Remembered App');
    const context = await newContext();
    const first = authorization(client);
    const { page } = await open(context, first);
    await signIn(page, ALICE);
    await expectCodeForAlice(first, await landOnCallback(page, () => choose(page, 'Allow')));
    const second = authorization(client);
    const visited: string[] = [];
    page.on('request', request => {
      if (request.isNavigationRequest()) visited.push(request.url());
    });
    const landed = await landOnCallback(page, () => page.goto(second.url));
    // Every hop of the redirects: the authorization endpoint, then straight to the client.
    expect(visited[0]).toBe(second.url);
    expect(visited.filter(url => url.includes('/interaction/'))).toEqual([]);
    await expectCodeForAlice(second, landed);
  });

  it('remembers consent for the user and application in another browser: sign-in again, no consent page', async () => {
    const client = await registerClient('Browser Remembered Elsewhere App');
    const first = authorization(client);
    const { page } = await open(await newContext(), first);
    await signIn(page, ALICE);
    await expectCodeForAlice(first, await landOnCallback(page, () => choose(page, 'Allow')));
    const second = authorization(client);
    const elsewhere = await open(await newContext(), second);
    expect(await elsewhere.page.getByLabel('Password').isVisible()).toBe(true);
    await elsewhere.page.getByLabel('User name').fill(ALICE.username);
    await elsewhere.page.getByLabel('Password').fill(ALICE.password);
    const landed = await landOnCallback(elsewhere.page, () =>
      submit(elsewhere.page, 'login', () => elsewhere.page.getByRole('button', { name: 'Sign in' }).click())
    );
    await expectCodeForAlice(second, landed);
  });
});

describe('cookies', () => {
  it('are HttpOnly, Secure and SameSite=Lax; __Host- ones are host-only on path /', async () => {
    const auth = authorization(await registerClient('Browser Cookie App'));
    const context = await newContext();
    const { page } = await open(context, auth);
    const host = new URL(proxy.origin).hostname;
    const seen = new Map<string, Awaited<ReturnType<BrowserContext['cookies']>>[number]>();
    const collect = async (): Promise<void> => {
      for (const cookie of await context.cookies()) seen.set(`${cookie.name} ${cookie.path}`, cookie);
    };
    await collect();
    await signIn(page, ALICE);
    await collect();
    await expectCodeForAlice(auth, await landOnCallback(page, () => choose(page, 'Allow')));
    await collect();
    const cookies = [...seen.values()];
    const names = cookies.map(cookie => cookie.name);
    // The session (host-only, for the whole origin) and the interaction's own (scoped to its path).
    expect(names).toContain(`__Host-sqlbridge-${ENVIRONMENT}-session`);
    expect(names).toContain(`__Secure-sqlbridge-${ENVIRONMENT}-interaction`);
    for (const cookie of cookies) {
      expect(cookie.name, cookie.name).toMatch(/^__(Host|Secure)-sqlbridge-/);
      expect(cookie, cookie.name).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', domain: host });
    }
    const hostCookies = cookies.filter(cookie => cookie.name.startsWith('__Host-'));
    expect(hostCookies.length).toBeGreaterThan(0);
    for (const cookie of hostCookies) expect(cookie.path, cookie.name).toBe('/');
  });
});

describe('without JavaScript', () => {
  it('completes sign-in and consent with scripts disabled', async () => {
    const auth = authorization(await registerClient('Browser No Script App'));
    const { page } = await open(await newContext({ javaScriptEnabled: false }), auth);
    await signIn(page, ALICE);
    expect(await page.getByRole('button', { name: 'Allow' }).isVisible()).toBe(true);
    const landed = await landOnCallback(page, () => choose(page, 'Allow'));
    await expectCodeForAlice(auth, landed);
  });
});

describe('with the keyboard only', () => {
  it('reaches the fields and buttons in order and submits with Enter', async () => {
    const auth = authorization(await registerClient('Browser Keyboard App'));
    const { page } = await open(await newContext(), auth);
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('username');
    await page.keyboard.type(ALICE.username);
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('password');
    await page.keyboard.type(ALICE.password);
    await submit(page, 'login', () => page.keyboard.press('Enter'));
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('button:Allow');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('button:Deny');
    await page.keyboard.press('Shift+Tab');
    expect(await focused(page)).toBe('button:Allow');
    const landed = await landOnCallback(page, () => submit(page, 'confirm', () => page.keyboard.press('Enter')));
    await expectCodeForAlice(auth, landed);
  });
});
