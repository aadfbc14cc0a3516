import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { auditFileIn, readAuditFile, untilAuditFile } from '../helpers/audit-file.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import {
  FederationDriver,
  findForm,
  jarWithout,
  location,
  pageText,
  send,
  type StartedSignIn
} from '../helpers/federation-driver.ts';
import { freeLoopbackPort } from '../helpers/nginx.ts';
import { CookieJar } from '../helpers/oauth-login.ts';
import { startRogueIdp, type RogueAccount, type RogueIdp, type RogueScenario } from '../helpers/rogue-idp.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * Attacks on sign-in through an identity provider, against the real server over real HTTP. The
 * providers are rogue ones (tests/helpers/rogue-idp.ts) that send the browser straight back and
 * answer with an ID token crafted to be wrong in one way. Each attack is refused with an error page,
 * and nothing is signed in: the authorization request's interaction is still at its sign-in step,
 * no code reaches the application, and the audit trail has `auth.login_failed` with the reason. A
 * browser is played by fetch with a cookie jar: these are protocol attacks, not page behaviour.
 */

const ENVIRONMENT = 'notes';
const CLIENT_REDIRECT = 'http://127.0.0.1:9/callback';
const LIN = { username: 'lin', password: 'lin-correct-horse-battery', email: 'lin@corp.example' };
const ATTACKER: RogueAccount = { sub: 'attacker-7', email: 'mallory@rogue.example', name: 'Mallory', groups: [] };

let dir: string;
let origin: string;
let server: RunningServer | undefined;
let open: RogueIdp | undefined;
let closed: RogueIdp | undefined;
let driver: FederationDriver;
let auditFile: string;

beforeAll(async () => {
  dir = emptyDir('federation-attacks-');
  const db = new DatabaseSync(join(dir, 'notes.db'));
  db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO notes VALUES (1, 'kept')");
  db.close();
  open = await startRogueIdp({ ...ATTACKER });
  closed = await startRogueIdp({ ...ATTACKER });
  const port = await freeLoopbackPort();
  origin = `http://127.0.0.1:${port}`;
  const provider = (id: string, idp: RogueIdp, jit: boolean): string =>
    `    - { id: ${id}, name: ${id === 'rogue' ? 'Rogue IdP' : 'Closed IdP'}, issuer: "${idp.issuer}", clientId: ${idp.clientId}, clientSecret: "${idp.clientSecret}", scopes: [openid, profile, email], keepRefreshToken: false, justInTime: { enabled: ${jit}, environments: [${ENVIRONMENT}] } }`;
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      `  ${ENVIRONMENT}:`,
      `    database: { engine: sqlite, path: ${JSON.stringify(join(dir, 'notes.db'))} }`,
      'auth:',
      '  grantCheckMs: 200',
      '  users:',
      `    - { username: ${LIN.username}, email: ${LIN.email}, passwordHash: "${await hashPassword(LIN.password)}", environments: [${ENVIRONMENT}] }`,
      '  federation:',
      '    providers:',
      provider('rogue', open, true),
      provider('closed', closed, false),
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir], port });
  auditFile = auditFileIn(dir);
  const registered = await fetch(`${origin}/${ENVIRONMENT}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Federation Attack App',
      redirect_uris: [CLIENT_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    }),
    signal: AbortSignal.timeout(10_000)
  });
  expect(registered.status, await registered.clone().text()).toBe(201);
  const { client_id: clientId } = (await registered.json()) as { client_id: string };
  driver = new FederationDriver({ origin, environment: ENVIRONMENT, clientId, redirectUri: CLIENT_REDIRECT });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await open?.close();
  await closed?.close();
}, 30_000);

/**
 * The callback as `jar`'s browser sends it is refused: a 400 error page, the authorization request
 * still at its sign-in step, the refusal audited with `errorClass`, and no one signed in or created.
 */
async function expectRefused(
  started: StartedSignIn,
  errorClass: string,
  options: {
    jar?: CookieJar;
    callback?: URL;
    provider?: string;
    /** Refused after the callback (at the ticket): a just-in-time user was made, not signed in. */
    afterCallback?: boolean;
  } = {}
): Promise<AuditRecord> {
  const before = readAuditFile(auditFile).length;
  const answer = await send(options.jar ?? started.jar, { url: options.callback ?? started.callback });
  const page = await answer.text();
  expect(answer.status, page).toBe(400);
  expect(answer.headers.get('location')).toBeNull();
  expect(page).toContain('Sign-in refused');
  // The request is still at its sign-in step, in the browser that started it: nobody was signed in.
  const again = await send(started.jar, { url: started.interaction });
  const html = await again.text();
  expect(again.status, html).toBe(200);
  expect(html).toContain('name="password"');
  expect(html).not.toContain('name="decision"');
  const records = await untilAuditFile(auditFile, all =>
    all.slice(before).some(r => r.event === 'auth.login_failed' && r.errorClass === errorClass)
  );
  const later = records.slice(before);
  const refusal = later.find(r => r.event === 'auth.login_failed' && r.errorClass === errorClass) as AuditRecord;
  expect(refusal.outcome).toBe('rejected');
  if (options.provider !== undefined) expect(refusal.detail?.['provider']).toBe(options.provider);
  // Earlier tests' records may land late in the file: only this account's count.
  const all = readAuditFile(auditFile);
  const events = options.afterCallback === true ? ['auth.login_succeeded'] : ['auth.login_succeeded', 'user.created'];
  expect(all.filter(r => r.user === started.account && events.includes(r.event))).toEqual([]);
  return refusal;
}

/** Up to the callback through the provider `id` served by `idp`. */
function startSignIn(idp: RogueIdp, id: string): Promise<StartedSignIn> {
  return driver.startSignIn({ id, issuer: idp.issuer, subject: idp.account.sub });
}

function useScenario(idp: RogueIdp, scenario: RogueScenario, account: RogueAccount = ATTACKER): void {
  idp.scenario = scenario;
  idp.account = { ...account };
}

describe('a provider that answers correctly (the control)', () => {
  it('signs in: the callback leads to the consent page, after the provider got PKCE S256, state and nonce', async () => {
    const idp = open as RogueIdp;
    useScenario(idp, 'valid', { ...ATTACKER, sub: 'control-1', email: 'control@rogue.example' });
    const started = await startSignIn(idp, 'rogue');
    const sent = idp.authorizations.at(-1) as URLSearchParams;
    expect(sent.get('code_challenge_method')).toBe('S256');
    expect(sent.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sent.get('state')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(sent.get('nonce')).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(sent.get('redirect_uri')).toBe(`${origin}/auth/federation/callback`);
    expect(sent.get('client_id')).toBe(idp.clientId);
    const before = readAuditFile(auditFile).length;
    const page = await driver.follow(started.jar, await send(started.jar, { url: started.callback }), started.callback);
    expect(page.status, page.html).toBe(200);
    expect(page.html).toContain('name="decision"');
    expect(pageText(page.html)).toContain('Signed in as rogue:control-1');
    expect(idp.refusals).toEqual([]);
    const records = await untilAuditFile(auditFile, all =>
      all.slice(before).some(r => r.event === 'auth.login_succeeded' && r.user === 'rogue:control-1')
    );
    expect(records.slice(before).find(r => r.event === 'auth.login_succeeded')?.detail).toMatchObject({
      provider: 'rogue'
    });
    for (const token of idp.idTokens) driver.secrets.add(token);
  });
});

describe('the state and the browser binding', () => {
  it('refuses a tampered state', async () => {
    useScenario(open as RogueIdp, 'valid', { ...ATTACKER, sub: 'tamper-1', email: 'tamper@rogue.example' });
    const started = await startSignIn(open as RogueIdp, 'rogue');
    const tampered = new URL(started.callback);
    const state = tampered.searchParams.get('state') ?? '';
    tampered.searchParams.set('state', `${state.startsWith('A') ? 'B' : 'A'}${state.slice(1)}`);
    expect(tampered.searchParams.get('state')).not.toBe(state);
    await expectRefused(started, 'state_invalid', { callback: tampered });
  });

  it('refuses a callback without a state', async () => {
    useScenario(open as RogueIdp, 'valid', { ...ATTACKER, sub: 'stateless-1', email: 'stateless@rogue.example' });
    const started = await startSignIn(open as RogueIdp, 'rogue');
    const stripped = new URL(started.callback);
    stripped.searchParams.delete('state');
    await expectRefused(started, 'state_invalid', { callback: stripped });
  });

  it('refuses a replayed callback: the same state a second time, even in the browser that started it', async () => {
    useScenario(open as RogueIdp, 'valid', { ...ATTACKER, sub: 'replay-1', email: 'replay@rogue.example' });
    const started = await startSignIn(open as RogueIdp, 'rogue');
    const first = await send(started.jar, { url: started.callback });
    expect(first.status, await first.clone().text()).toBe(303);
    expect(location(first, started.callback).pathname).toMatch(/\/federated$/);
    // The first callback made the user but left the ticket unused: the replay signs nobody in.
    await expectRefused(started, 'state_invalid', { afterCallback: true });
    // In another browser (a stolen URL), the same.
    const stolen = await send(new CookieJar(), { url: started.callback });
    expect(stolen.status).toBe(400);
    // Neither replay reached the provider's token endpoint (where the spent code would be refused).
    expect((open as RogueIdp).refusals).toEqual([]);
  });

  it('refuses the callback in a browser without the binding cookie (a login CSRF link)', async () => {
    useScenario(open as RogueIdp, 'valid', { ...ATTACKER, sub: 'csrf-1', email: 'csrf@rogue.example' });
    const started = await startSignIn(open as RogueIdp, 'rogue');
    await expectRefused(started, 'state_invalid', { jar: new CookieJar() });
  });

  it('refuses the callback in another browser holding its own binding cookie', async () => {
    useScenario(open as RogueIdp, 'valid', { ...ATTACKER, sub: 'swap-1', email: 'swap@rogue.example' });
    const victim = await startSignIn(open as RogueIdp, 'rogue');
    const attacker = await startSignIn(open as RogueIdp, 'rogue');
    expect(attacker.jar.names().some(name => name.includes('federation'))).toBe(true);
    await expectRefused(victim, 'state_invalid', { jar: attacker.jar });
  });

  it('refuses the one-time ticket without the binding cookie, even with the interaction cookie', async () => {
    useScenario(open as RogueIdp, 'valid', { ...ATTACKER, sub: 'ticket-1', email: 'ticket1@rogue.example' });
    const started = await startSignIn(open as RogueIdp, 'rogue');
    const toTicket = location(await send(started.jar, { url: started.callback }), started.callback);
    expect(toTicket.searchParams.get('ticket')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    driver.secrets.add(toTicket.searchParams.get('ticket') ?? '');
    // Another browser entirely has no interaction either.
    expect((await send(new CookieJar(), { url: toTicket })).status).toBe(400);
    const unbound = jarWithout(started.jar, /federation/);
    expect(unbound.names().length).toBeGreaterThan(0);
    expect(unbound.names().length).toBeLessThan(started.jar.names().length);
    await expectRefused({ ...started, callback: toTicket }, 'state_invalid', { jar: unbound, afterCallback: true });
  });

  it('refuses a ticket used twice', async () => {
    useScenario(open as RogueIdp, 'valid', { ...ATTACKER, sub: 'ticket-2', email: 'ticket2@rogue.example' });
    const started = await startSignIn(open as RogueIdp, 'rogue');
    const toTicket = location(await send(started.jar, { url: started.callback }), started.callback);
    driver.secrets.add(toTicket.searchParams.get('ticket') ?? '');
    const first = await send(started.jar, { url: toTicket });
    expect(first.status, await first.clone().text()).toBe(303);
    const again = await send(started.jar, { url: toTicket });
    expect(again.status).toBe(400);
    expect(again.headers.get('location')).toBeNull();
  });
});

describe('the provider’s answer', () => {
  it('refuses an error answer from the provider (the person declined there)', async () => {
    useScenario(open as RogueIdp, 'valid', { ...ATTACKER, sub: 'declined-1', email: 'declined@rogue.example' });
    const started = await startSignIn(open as RogueIdp, 'rogue');
    const declined = new URL(started.callback);
    declined.searchParams.delete('code');
    declined.searchParams.set('error', 'access_denied');
    await expectRefused(started, 'upstream_error', { callback: declined, provider: 'rogue' });
  });
});

describe('ID tokens that fail a check', () => {
  const cases: [RogueScenario, string][] = [
    ['wrong-nonce', 'a nonce other than the one sent'],
    ['other-issuer', 'from another issuer'],
    ['other-audience', 'for another audience'],
    ['unsigned', 'unsigned (alg none)'],
    ['expired', 'expired'],
    ['unknown-key', 'signed by a key the provider does not publish']
  ];
  for (const [scenario, what] of cases) {
    it(`refuses an ID token ${what}`, async () => {
      useScenario(open as RogueIdp, scenario, { ...ATTACKER, sub: `forged-${scenario}` });
      const started = await startSignIn(open as RogueIdp, 'rogue');
      await expectRefused(started, 'id_token_invalid', { provider: 'rogue' });
      driver.secrets.add((open as RogueIdp).idTokens.at(-1) ?? '');
    });
  }
});

describe('accounts', () => {
  it('refuses, and does not merge, an account whose e-mail is a local user’s (JIT on), whatever its case', async () => {
    useScenario(open as RogueIdp, 'valid', { ...ATTACKER, sub: 'lookalike-1', email: 'Lin@Corp.Example' });
    const started = await startSignIn(open as RogueIdp, 'rogue');
    await expectRefused(started, 'email_in_use', { provider: 'rogue' });
    // Lin is untouched: her password still signs her in.
    const jar = new CookieJar();
    const { url, html } = await driver.openSignInPage(jar);
    const form = findForm(html, 'login');
    form.fields.set('username', LIN.username);
    form.fields.set('password', LIN.password);
    const login = new URL(form.action, url);
    const signedIn = await driver.follow(
      jar,
      await send(jar, { url: login, method: 'POST', body: form.fields }),
      login
    );
    expect(pageText(signedIn.html)).toContain(`Signed in as ${LIN.username}`);
  });

  it('refuses an account no user is linked to when just-in-time users are off', async () => {
    useScenario(closed as RogueIdp, 'valid', { ...ATTACKER, sub: 'stranger-1', email: 'stranger@rogue.example' });
    const started = await startSignIn(closed as RogueIdp, 'closed');
    const refusal = await expectRefused(started, 'not_linked', { provider: 'closed' });
    // The verified subject is recorded, so that an administrator can link the account (`identities`).
    expect(refusal.detail?.['subject']).toBe('stranger-1');
  });
});

describe('the logs', () => {
  it('never carry a code, a state, a ticket or an ID token', () => {
    const logs = server?.stderr() ?? '';
    expect(logs).not.toBe('');
    expect(driver.secrets.size).toBeGreaterThan(20);
    for (const secret of driver.secrets) {
      if (secret.length < 16) continue;
      expect(logs.includes(secret), `a secret of ${secret.length} characters is in the logs`).toBe(false);
    }
  });
});
