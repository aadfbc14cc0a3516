import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar } from '../helpers/oauth-login.ts';
import { startRogueIdp, type RogueIdp, type RogueScenario } from '../helpers/rogue-idp.ts';
import { startUpstreamIdp, type UpstreamIdp } from '../helpers/upstream-idp.ts';

/**
 * The identity providers the federation tests sign in through, checked on their own with the same
 * library sqlbridge uses (openid-client): the organisation's provider runs a real code flow with
 * PKCE, nonce, a `groups` claim and refresh tokens whose ID tokens read a changed directory; each
 * crafted ID token of the rogue provider is refused by openid-client for its one flaw and accepted
 * when it has none. So a refusal in the end-to-end tests is sqlbridge's, for the right reason.
 */

const REDIRECT = 'http://127.0.0.1:9/auth/federation/callback';
const ADA = {
  login: 'ada',
  password: 'ada-corp-password',
  sub: 'c0ffee-ada',
  email: 'ada@corp.example',
  name: 'Ada Lovelace',
  groups: ['db-analysts', 'staff']
};

let upstream: UpstreamIdp;
let rogue: RogueIdp;

beforeAll(async () => {
  upstream = await startUpstreamIdp({ redirectUri: REDIRECT, people: [ADA] });
  rogue = await startRogueIdp({ sub: 'r-1', email: 'r@rogue.example', name: 'R', groups: ['db-analysts'] });
});

afterAll(async () => {
  await upstream.close();
  await rogue.close();
});

/** As sqlbridge configures openid-client: loopback http allowed, ID token signatures checked. */
async function configuration(idp: { issuer: string; clientId: string; clientSecret: string }, signatures = true) {
  const config = await client.discovery(new URL(idp.issuer), idp.clientId, idp.clientSecret, undefined, {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the test providers are http on loopback
    execute: [client.allowInsecureRequests]
  });
  // openid-client trusts a token endpoint's ID token signature to TLS (OIDC Core §3.1.3.7) unless told otherwise.
  if (signatures) client.enableNonRepudiationChecks(config);
  return config;
}

interface Started {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

async function start(config: client.Configuration, scope: string): Promise<Started> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce
  });
  return { url, verifier, state, nonce };
}

/** Follows the provider's redirects with a cookie jar, signing in on its page; returns the callback URL. */
async function browse(from: URL, credentials?: { login: string; password: string }): Promise<URL> {
  const jar = new CookieJar();
  let request: { url: URL; body?: URLSearchParams } = { url: from };
  for (let step = 0; step < 10; step++) {
    const response = await fetch(request.url, {
      method: request.body === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header() },
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: AbortSignal.timeout(10_000)
    });
    jar.store(response);
    const location = response.headers.get('location');
    if (location !== null) {
      const next = new URL(location, request.url);
      if (next.href.startsWith(REDIRECT)) return next;
      request = { url: next };
      continue;
    }
    const html = await response.text();
    expect(response.status, html).toBe(200);
    expect(html).toContain('Sign in to Corp');
    if (credentials === undefined) throw new Error('the provider asked for a sign-in');
    const action = /action="([^"]+)"/.exec(html)?.[1] ?? '';
    request = { url: new URL(action, request.url), body: new URLSearchParams(credentials) };
  }
  throw new Error('too many redirects');
}

describe('the organisation’s provider', () => {
  it('publishes discovery, signs a person in on its page, and gives groups in the ID token and a refresh token', async () => {
    const config = await configuration(upstream);
    expect(config.serverMetadata().issuer).toBe(upstream.issuer);
    const flow = await start(config, 'openid profile email groups offline_access');
    const back = await browse(flow.url, { login: ADA.login, password: ADA.password });
    expect(back.searchParams.get('state')).toBe(flow.state);
    const tokens = await client.authorizationCodeGrant(config, back, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true
    });
    expect(tokens.claims()).toMatchObject({
      iss: upstream.issuer,
      aud: upstream.clientId,
      sub: ADA.sub,
      email: ADA.email,
      name: ADA.name,
      groups: ADA.groups
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(upstream.signIns).toEqual([ADA.login]);
    expect(upstream.authorizations.at(-1)?.get('code_challenge_method')).toBe('S256');

    upstream.setGroups(ADA.login, ['staff']);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(refreshed.claims()).toMatchObject({ sub: ADA.sub, groups: ['staff'] });
    expect(upstream.grants).toEqual(['authorization_code', 'refresh_token']);
    expect(upstream.errors).toEqual([]);
  });

  it('refuses a wrong password on its page', async () => {
    const config = await configuration(upstream);
    const flow = await start(config, 'openid');
    await expect(browse(flow.url, { login: ADA.login, password: 'not-it' })).rejects.toThrow(/401/);
  });
});

describe('the rogue provider', () => {
  const run = async (scenario: RogueScenario, signatures = true) => {
    rogue.scenario = scenario;
    const config = await configuration(rogue, signatures);
    const flow = await start(config, 'openid email profile');
    const back = await browse(flow.url);
    return client.authorizationCodeGrant(config, back, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true
    });
  };

  it('issues an ID token openid-client accepts in the valid scenario', async () => {
    const tokens = await run('valid');
    expect(tokens.claims()).toMatchObject({ iss: rogue.issuer, sub: 'r-1', email: 'r@rogue.example' });
  });

  const flaws: [RogueScenario, RegExp][] = [
    ['other-issuer', /unexpected JWT "iss"/],
    ['other-audience', /unexpected JWT "aud"/],
    ['expired', /unexpected JWT "exp"/],
    ['unsigned', /unexpected JWT "alg"/],
    ['unknown-key', /JWT signature verification failed/],
    ['wrong-nonce', /unexpected ID Token "nonce"/]
  ];
  for (const [scenario, reason] of flaws) {
    it(`issues an ID token openid-client refuses: ${scenario}`, async () => {
      const refused = await run(scenario).then(
        () => undefined,
        (error: unknown) => error
      );
      expect(refused, scenario).toBeInstanceOf(Error);
      // openid-client wraps the validation error; its own message names the claim or check that failed.
      const cause = (refused as Error & { cause?: unknown }).cause;
      expect(cause instanceof Error ? cause.message : String(cause)).toMatch(reason);
    });
  }

  it('is accepted with an unpublished key when signatures are not checked: why sqlbridge must check them', async () => {
    const tokens = await run('unknown-key', false);
    expect(tokens.claims()?.sub).toBe('r-1');
  });

  it('refuses a token request without the PKCE verifier of the authorization', async () => {
    rogue.scenario = 'valid';
    const config = await configuration(rogue);
    const flow = await start(config, 'openid');
    const back = await browse(flow.url);
    await expect(
      client.authorizationCodeGrant(config, back, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: flow.state,
        expectedNonce: flow.nonce
      })
    ).rejects.toThrow();
    expect(rogue.refusals.at(-1)).toBe('PKCE verifier does not match');
  });
});
