import { expect } from 'vitest';
import { pkce } from './browser.ts';
import { CookieJar } from './oauth-login.ts';

/**
 * A browser played by fetch and a cookie jar, for protocol attacks on sign-in through an identity
 * provider: an application's authorization request up to sqlbridge's sign-in page, the form of a
 * provider's button, and a provider that sends the browser straight back (tests/helpers/rogue-idp.ts),
 * up to the callback URL, which the test then sends as it likes (tampered, replayed, elsewhere).
 * Every code, state and ticket seen is kept, to check that none reaches the logs.
 */

export interface BrowserRequest {
  url: URL;
  method?: 'GET' | 'POST';
  body?: URLSearchParams;
}

/** One request as the browser holding `jar` sends it; redirects are not followed. */
export async function send(jar: CookieJar, request: BrowserRequest): Promise<Response> {
  const response = await fetch(request.url, {
    method: request.method ?? 'GET',
    redirect: 'manual',
    headers: {
      cookie: jar.header(),
      ...(request.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' })
    },
    ...(request.body === undefined ? {} : { body: request.body }),
    signal: AbortSignal.timeout(10_000)
  });
  jar.store(response);
  return response;
}

/** Where a redirect points. */
export function location(response: Response, base: URL): URL {
  const to = response.headers.get('location');
  if (to === null) throw new Error(`expected a redirect, got ${response.status}`);
  return new URL(to, base);
}

/** A page's text, without its markup. */
export const pageText = (html: string): string => html.replace(/<[^>]+>/g, '');

/** The form on a page whose action ends in `/<suffix>` and that holds `field=value`, if asked: its action and fields. */
export function findForm(
  html: string,
  suffix: string,
  field?: [string, string]
): { action: string; fields: URLSearchParams } {
  const forms = new RegExp(`<form[^>]*action="([^"]*/${suffix})"[^>]*>([\\s\\S]*?)</form>`, 'g');
  for (const match of html.matchAll(forms)) {
    const fields = new URLSearchParams();
    for (const input of (match[2] ?? '').matchAll(/<(?:input|button)\b[^>]*>/g)) {
      const name = /\bname="([^"]+)"/.exec(input[0])?.[1];
      const value = /\bvalue="([^"]*)"/.exec(input[0])?.[1];
      if (name !== undefined && value !== undefined) fields.set(name, value.replaceAll('&amp;', '&'));
    }
    if (field === undefined || fields.get(field[0]) === field[1]) {
      return { action: (match[1] ?? '').replaceAll('&amp;', '&'), fields };
    }
  }
  throw new Error(
    `no form for /${suffix} ${field?.join('=') ?? ''} on the page:\n${html.slice(html.indexOf('<body'))}`
  );
}

/** A copy of `jar` without the cookies whose names match `leaveOut`: the same browser, less them. */
export function jarWithout(jar: CookieJar, leaveOut: RegExp): CookieJar {
  const copy = new CookieJar();
  const headers = new Headers();
  for (const pair of jar.header().split('; ')) {
    if (pair !== '' && !leaveOut.test(pair.slice(0, pair.indexOf('=')))) headers.append('set-cookie', pair);
  }
  copy.store(new Response(null, { headers }));
  return copy;
}

export interface StartedSignIn {
  jar: CookieJar;
  /** The interaction page of the authorization request (its sign-in step). */
  interaction: URL;
  /** Where the provider sent the browser back: sqlbridge's callback with `code` and `state`. */
  callback: URL;
  /** The user this sign-in would make or sign in: `<provider>:<subject>`. */
  account: string;
}

export interface DriverOptions {
  /** sqlbridge's origin, e.g. http://127.0.0.1:40123 */
  origin: string;
  environment: string;
  /** A client registered in the environment, and its redirect URI (never reached by these flows). */
  clientId: string;
  redirectUri: string;
}

export class FederationDriver {
  /** Every code, state and ticket the flows carried. */
  readonly secrets = new Set<string>();
  private readonly options: DriverOptions;

  constructor(options: DriverOptions) {
    this.options = options;
  }

  /** An application's authorization request in `jar`'s browser, up to the sign-in page: its URL and HTML. */
  async openSignInPage(jar: CookieJar): Promise<{ url: URL; html: string }> {
    const { origin, environment, clientId, redirectUri } = this.options;
    const challenge = pkce();
    let url = new URL(`${origin}/${environment}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: challenge.challenge,
      code_challenge_method: 'S256',
      state: crypto.randomUUID(),
      scope: 'sql:read',
      resource: `${origin}/${environment}/mcp`
    }).toString();
    let response = await send(jar, { url });
    for (let hop = 0; hop < 5 && response.status >= 300 && response.status < 400; hop++) {
      url = location(response, url);
      response = await send(jar, { url });
    }
    const html = await response.text();
    expect(response.status, html).toBe(200);
    expect(url.pathname).toMatch(new RegExp(`^/${environment}/interaction/[^/]+$`));
    return { url, html };
  }

  /**
   * The sign-in page's button for `providerId`, then the provider at `issuer` (which sends the
   * browser straight back): everything up to sqlbridge's callback, which is not requested.
   */
  async startSignIn(
    provider: { id: string; issuer: string; subject: string },
    jar = new CookieJar()
  ): Promise<StartedSignIn> {
    const { url, html } = await this.openSignInPage(jar);
    const form = findForm(html, 'federate', ['provider', provider.id]);
    const federate = await send(jar, { url: new URL(form.action, url), method: 'POST', body: form.fields });
    expect(federate.status, await federate.clone().text()).toBe(303);
    const atProvider = location(federate, url);
    expect(atProvider.origin).toBe(provider.issuer);
    const back = await send(new CookieJar(), { url: atProvider });
    const callback = location(back, atProvider);
    expect(`${callback.origin}${callback.pathname}`).toBe(`${this.options.origin}/auth/federation/callback`);
    for (const name of ['code', 'state']) this.secrets.add(callback.searchParams.get(name) ?? '');
    return { jar, interaction: url, callback, account: `${provider.id}:${provider.subject}` };
  }

  /** Follows sqlbridge's redirects from `response` in the jar's browser; returns the page it ends on. */
  async follow(jar: CookieJar, response: Response, from: URL): Promise<{ url: URL; status: number; html: string }> {
    let url = from;
    let current = response;
    for (let hop = 0; hop < 8 && current.status >= 300 && current.status < 400; hop++) {
      url = location(current, url);
      this.keepTicket(url);
      if (url.origin !== this.options.origin) return { url, status: current.status, html: '' };
      current = await send(jar, { url });
    }
    return { url, status: current.status, html: await current.text() };
  }

  /** Remembers the one-time ticket a URL carries. */
  keepTicket(url: URL): void {
    const ticket = url.searchParams.get('ticket');
    if (ticket !== null) this.secrets.add(ticket);
  }
}
