import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditFileIn, readAuditFile, untilAuditFile } from '../helpers/audit-file.ts';
import { launchChromium, startCallbackServer, type CallbackServer } from '../helpers/browser.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { filesUnder, findSecrets } from '../helpers/secret-search.ts';
import { createPostgresRoles, ORDERS, type RolesFixture } from '../helpers/database-roles.ts';
import { callTool, connectWithOAuth, disconnect } from '../helpers/mcp-connect.ts';
import { freeLoopbackPort } from '../helpers/nginx.ts';
import { jwtClaims, TestOAuthProvider } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { startUpstreamIdp, type UpstreamIdp, type UpstreamPerson } from '../helpers/upstream-idp.ts';

/**
 * Sign-in through the organisation's identity provider, end to end: a real sqlbridge process, a
 * second real OpenID provider on loopback as the organisation's (its own people, a `groups` claim,
 * refresh tokens), headless Chromium, PostgreSQL with a role per group, and the official MCP client
 * SDK. An MCP client registers dynamically; the person picks "Sign in with Corp IdP" on sqlbridge's
 * page, signs in on the provider's page, comes back, allows access, and the client's tool calls run
 * as that person: audited under the provider's identity, with the database role their provider
 * group maps to. Removed from the group at the provider, the person loses access at the next refresh.
 */

const ENVIRONMENT = 'shop';
const STEP_MS = 10_000;
/** Signs in just in time: named `corp:<sub>`; an analyst at the provider. */
const ADA: UpstreamPerson = {
  login: 'ada',
  password: 'ada-corp-horse-battery',
  sub: '7f3c1a52-ada',
  email: 'ada@corp.example',
  name: 'Ada Lovelace',
  groups: ['db-analysts', 'everyone']
};
/** Linked to the configured user `grace` by `identities`; in finance at the provider. */
const GRACE: UpstreamPerson = {
  login: 'grace',
  password: 'grace-corp-horse-battery',
  sub: '9e21bb07-grace',
  email: 'grace@corp.example',
  name: 'Grace Hopper',
  groups: ['db-finance']
};

let dir: string;
let origin: string;
let pg: RolesFixture | undefined;
let upstream: UpstreamIdp | undefined;
let callback: CallbackServer | undefined;
let browser: Browser | undefined;
let server: RunningServer | undefined;
let auditFile: string;

beforeAll(async () => {
  dir = emptyDir('federation-');
  pg = await createPostgresRoles();
  const port = await freeLoopbackPort();
  origin = `http://127.0.0.1:${port}`;
  upstream = await startUpstreamIdp({ redirectUri: `${origin}/auth/federation/callback`, people: [ADA, GRACE] });
  callback = await startCallbackServer();
  browser = await launchChromium();
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      `  ${ENVIRONMENT}:`,
      `    database: ${pg.yaml}`,
      `    access: { roles: { analysts: ${pg.reporting}, finance: ${pg.finance} }, default: none }`,
      'auth:',
      '  grantCheckMs: 200',
      '  groups:',
      `    analysts: { environments: [${ENVIRONMENT}], scopes: [sql:read] }`,
      `    finance: { environments: [${ENVIRONMENT}], scopes: [sql:read] }`,
      '  users:',
      `    - { username: grace, email: ${GRACE.email}, identities: [{ provider: corp, subject: "${GRACE.sub}" }] }`,
      '  federation:',
      '    providers:',
      '      - id: corp',
      '        name: Corp IdP',
      `        issuer: "${upstream.issuer}"`,
      `        clientId: ${upstream.clientId}`,
      `        clientSecret: "${upstream.clientSecret}"`,
      '        scopes: [openid, profile, email, groups, offline_access]',
      '        groupMap: { db-analysts: analysts, db-finance: finance }',
      '        justInTime: { enabled: true }',
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir], port });
  auditFile = auditFileIn(dir);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await browser?.close();
  await callback?.close();
  await upstream?.close();
  await pg?.drop();
}, 60_000);

/** What the page shows, for a failure message that says where the browser got stuck. */
async function where(page: Page): Promise<string> {
  const text = await page
    .locator('body')
    .innerText({ timeout: 1000 })
    .catch(() => '');
  return `${page.url()}\n${text.slice(0, 600)}`;
}

/**
 * The person in Chromium: the authorization URL the MCP client opened, sqlbridge's sign-in page,
 * "Sign in with Corp IdP", the provider's page, back to sqlbridge's consent page, Allow; returns
 * the URL the browser lands on at the client's redirect URI.
 */
async function signInThroughCorp(person: UpstreamPerson, authorization: URL, seen: string[] = []): Promise<URL> {
  if (browser === undefined || callback === undefined || upstream === undefined) throw new Error('not started');
  const idp = upstream;
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  const page = await context.newPage();
  try {
    const signInPage = await page.goto(authorization.href);
    expect(new URL(page.url()).pathname).toMatch(new RegExp(`^/${ENVIRONMENT}/interaction/[^/]+$`));
    // The page's policy lets its forms go to the provider (Chromium holds a form's redirect to it), and only there.
    const policy = signInPage?.headers()['content-security-policy'] ?? '';
    const formAction = /form-action ([^;]*)/.exec(policy)?.[1]?.split(' ') ?? [];
    expect(formAction, policy).toContain(idp.issuer);
    expect(formAction, policy).not.toContain('*');
    expect(policy).toMatch(/frame-ancestors 'none'/);
    // The provider's button, beside the password form of local users.
    expect(await page.getByLabel('Password').count()).toBe(1);
    await Promise.all([
      page.waitForURL(url => url.origin === idp.issuer),
      page.getByRole('button', { name: 'Sign in with Corp IdP' }).click()
    ]);
    await page.getByLabel('Corp account').fill(person.login);
    await page.getByLabel('Corp password').fill(person.password);
    await Promise.all([
      page.waitForURL(url => url.origin === origin && url.pathname.startsWith(`/${ENVIRONMENT}/interaction/`)),
      page.getByRole('button', { name: 'Continue' }).click()
    ]);
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    seen.push(await page.locator('main').innerText());
    const redirect = callback.redirectUri;
    await Promise.all([
      page.waitForURL(url => url.href.startsWith(`${redirect}?`)),
      page.getByRole('button', { name: 'Allow' }).click()
    ]);
    return new URL(page.url());
  } catch (error) {
    throw new Error(`the sign-in through Corp IdP stopped at ${await where(page)}`, { cause: error });
  } finally {
    await context.close();
  }
}

/** An MCP client (official SDK) that signs `person` in through Chromium once, and never again. */
function corpClientProvider(person: UpstreamPerson, seen: string[]): TestOAuthProvider {
  let signIns = 0;
  return new TestOAuthProvider(
    async url => {
      if (++signIns > 1) throw new Error(`${person.login} was sent to sign in again`);
      return signInThroughCorp(person, url, seen);
    },
    { redirectUrl: callback?.redirectUri ?? '' }
  );
}

async function rows(client: Client, query: string): Promise<unknown[][]> {
  const answer = await callTool(client, 'execute_sql', { query });
  expect(answer.isError, `${query} → ${answer.text}`).toBe(false);
  return (answer.structured as { rows: unknown[][] }).rows;
}

/** A refresh at sqlbridge's token endpoint, as the MCP client sends it. */
async function refresh(provider: TestOAuthProvider): Promise<Response> {
  const tokens = provider.tokens();
  const clientId = provider.clientInformation()?.client_id ?? '';
  return fetch(`${origin}/${ENVIRONMENT}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: tokens?.refresh_token ?? '',
      client_id: clientId,
      resource: `${origin}/${ENVIRONMENT}/mcp`
    }),
    signal: AbortSignal.timeout(STEP_MS)
  });
}

describe('a person the provider signs in just in time', () => {
  const username = `corp:${ADA.sub}`;
  const consent: string[] = [];
  let provider: TestOAuthProvider;
  let client: Client | undefined;

  afterAll(async () => {
    if (client !== undefined) await disconnect(client).catch(() => undefined);
  });

  it('registers, signs in at the provider in Chromium, consents, and calls tools as corp:<sub> with the analysts role', async () => {
    const before = readAuditFile(auditFile).length;
    provider = corpClientProvider(ADA, consent);
    client = await connectWithOAuth(origin, ENVIRONMENT, provider);
    expect(upstream?.signIns).toEqual([ADA.login]);
    // What sqlbridge asked the provider for: a code with PKCE S256, state, nonce, to its one callback.
    const asked = upstream?.authorizations.at(-1) as URLSearchParams;
    expect(Object.fromEntries(asked)).toMatchObject({
      client_id: upstream?.clientId,
      response_type: 'code',
      redirect_uri: `${origin}/auth/federation/callback`,
      code_challenge_method: 'S256'
    });
    expect(asked.get('state')).toEqual(expect.any(String));
    expect(asked.get('nonce')).toEqual(expect.any(String));
    expect(asked.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'groups', 'offline_access']));
    expect(consent[0]).toContain(`Signed in as ${username}`);
    const access = jwtClaims(provider.tokens()?.access_token ?? '');
    expect(access).toMatchObject({ sub: username, aud: `${origin}/${ENVIRONMENT}/mcp` });
    expect(provider.tokens()?.refresh_token).toEqual(expect.any(String));

    // The database role of the group the provider's `db-analysts` maps to: reporting, EU rows only.
    expect(await rows(client, 'SELECT current_user AS role')).toEqual([[pg?.reporting]]);
    const eu = ORDERS.filter(o => o.region === 'eu').map(o => [o.id, o.region, o.amount]);
    expect(await rows(client, 'SELECT id, region, amount FROM orders ORDER BY id')).toEqual(eu);

    // Both calls' records, which the trail may write a moment after the answers.
    const records = await untilAuditFile(
      auditFile,
      all => all.slice(before).filter(r => r.event === 'tool.called' && r.user === username).length >= 2
    );
    const mine = records.slice(before);
    expect(mine.find(r => r.event === 'user.created')).toMatchObject({ user: username });
    expect(mine.find(r => r.event === 'auth.login_succeeded')).toMatchObject({
      user: username,
      environment: ENVIRONMENT,
      detail: expect.objectContaining({ provider: 'corp' })
    });
    const calls = mine.filter(r => r.event === 'tool.called');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const call of calls) expect(call).toMatchObject({ user: username, outcome: 'ok', environment: ENVIRONMENT });
  });

  it('reads the groups again at the provider on every refresh', async () => {
    const grants = upstream?.grants.length ?? 0;
    const answer = await refresh(provider);
    const body = (await answer.json()) as { access_token: string; refresh_token: string; token_type: string };
    expect(answer.status, JSON.stringify(body)).toBe(200);
    expect(upstream?.grants.slice(grants)).toEqual(['refresh_token']);
    // The client goes on with the new tokens, as the SDK would after its own refresh.
    provider.saveTokens({ ...provider.tokens(), ...body });
    expect(provider.tokens()?.access_token).toBe(body.access_token);
    expect(await rows(client as Client, 'SELECT current_user AS role')).toEqual([[pg?.reporting]]);
  });

  it('loses access once removed from the group at the provider: the refresh and the next call are refused', async () => {
    const before = readAuditFile(auditFile).length;
    upstream?.setGroups(ADA.login, ['everyone']);
    const answer = await refresh(provider);
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: 'invalid_grant' });
    // The access token still unexpired stops working within the grant-check window.
    const deadline = Date.now() + 2000;
    let refused: unknown;
    while (refused === undefined && Date.now() < deadline) {
      refused = await callTool(client as Client, 'execute_sql', { query: 'SELECT 1' }).then(
        () => undefined,
        (error: unknown) => error
      );
      if (refused === undefined) await new Promise(resolve => setTimeout(resolve, 100));
    }
    expect(refused, 'the call still ran').toBeInstanceOf(Error);
    // Refused by sqlbridge (401), whose refresh then failed too: the client fell back to a new sign-in.
    expect(String(refused)).toMatch(/ada was sent to sign in again/);
    const records = await untilAuditFile(auditFile, all =>
      all.slice(before).some(r => r.event === 'user.groups_changed' && r.user === username)
    );
    const changed = records.slice(before).find(r => r.event === 'user.groups_changed');
    expect(changed?.user).toBe(username);
    expect(upstream?.errors).toEqual([]);
  });
});

describe('a configured user linked to the provider’s account', () => {
  it('signs in as that user, not a new one, with the role of the group the provider gives', async () => {
    const before = readAuditFile(auditFile).length;
    const consent: string[] = [];
    const provider = corpClientProvider(GRACE, consent);
    const client = await connectWithOAuth(origin, ENVIRONMENT, provider);
    try {
      expect(consent[0]).toContain('Signed in as grace');
      expect(jwtClaims(provider.tokens()?.access_token ?? '')['sub']).toBe('grace');
      expect(await rows(client, 'SELECT current_user AS role')).toEqual([[pg?.finance]]);
      expect(await rows(client, 'SELECT count(*)::int AS n FROM salaries')).toEqual([[2]]);
      const records = await untilAuditFile(auditFile, all =>
        all.slice(before).some(r => r.event === 'tool.called' && r.user === 'grace')
      );
      const mine = records.slice(before);
      expect(mine.filter(r => r.event === 'user.created')).toEqual([]);
      expect(mine.find(r => r.event === 'auth.login_succeeded')).toMatchObject({
        user: 'grace',
        detail: expect.objectContaining({ provider: 'corp' })
      });
    } finally {
      await disconnect(client).catch(() => undefined);
    }
  });
});

describe('the provider’s tokens', () => {
  it('are in no log line and in no file of the data directory in clear (the refresh token is kept sealed)', () => {
    const tokens = upstream?.issued ?? [];
    // Two sign-ins and at least two refreshes at the provider (the client's own retry may add one).
    const grants = upstream?.grants ?? [];
    expect(grants.filter(grant => grant === 'authorization_code')).toHaveLength(2);
    expect(grants.filter(grant => grant === 'refresh_token').length).toBeGreaterThanOrEqual(2);
    expect(tokens.length).toBeGreaterThanOrEqual(8);
    const secrets = new Map(tokens.map((token, i) => [`upstream token ${i}`, token]));
    const logs = [{ name: 'stderr', bytes: Buffer.from(server?.stderr() ?? '', 'utf8') }];
    expect(findSecrets(secrets, logs)).toEqual([]);
    expect(findSecrets(secrets, filesUnder(dir))).toEqual([]);
  });
});
