import { randomUUID } from 'node:crypto';
import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens
} from '@modelcontextprotocol/client';

/**
 * A person signing in without a browser: follows the authorization server's redirects with a
 * cookie jar, fills in the sign-in form and answers the consent form, and returns where the
 * server finally sends the user (the client's redirect URI with `code`, `state` and `iss`).
 */

export class CookieJar {
  /** Every Set-Cookie line received, for assertions on cookie attributes. */
  readonly received: string[] = [];
  private readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      this.received.push(line);
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      if (index <= 0) continue;
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = /;\s*expires=Thu, 01 Jan 1970/i.test(line) || /;\s*max-age=0/i.test(line);
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  names(): string[] {
    return [...this.cookies.keys()];
  }
}

export interface Credentials {
  username: string;
  password: string;
}

export interface SignInOptions {
  decision?: 'allow' | 'deny';
  jar?: CookieJar;
  /** Called with every HTML page seen, for assertions on the pages themselves. */
  onPage?: (page: { url: string; status: number; html: string; headers: Headers }) => void;
  /** The server's public origin when it differs from the address reached (behind a proxy). */
  publicOrigin?: string;
}

/** Hidden and named inputs of the first form on a page. */
export function readForm(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (action === undefined) throw new Error(`no form on the page:\n${html}`);
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) {
    fields[match[1] ?? ''] = match[2] ?? '';
  }
  return { action: action.replaceAll('&amp;', '&'), fields };
}

export async function signIn(
  authorizationUrl: URL | string,
  credentials: Credentials,
  options: SignInOptions = {}
): Promise<URL> {
  const jar = options.jar ?? new CookieJar();
  const start = new URL(authorizationUrl);
  let request: { url: URL; method: string; body?: URLSearchParams } = { url: start, method: 'GET' };
  for (let step = 0; step < 20; step++) {
    const response = await fetch(request.url, {
      method: request.method,
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        ...(request.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' })
      },
      ...(request.body === undefined ? {} : { body: request.body })
    });
    jar.store(response);
    if (response.status >= 300 && response.status < 400) {
      let location = new URL(response.headers.get('location') ?? '', request.url);
      if (location.origin === options.publicOrigin) location = new URL(location.pathname + location.search, start);
      if (location.origin !== start.origin) return location;
      request = { url: location, method: 'GET' };
      continue;
    }
    const html = await response.text();
    options.onPage?.({ url: request.url.href, status: response.status, html, headers: response.headers });
    if (response.status !== 200)
      throw new Error(`${request.method} ${request.url.pathname} answered ${response.status}:\n${html}`);
    const form = readForm(html);
    const body = new URLSearchParams(form.fields);
    if (html.includes('name="password"')) {
      body.set('username', credentials.username);
      body.set('password', credentials.password);
    } else {
      body.set('decision', options.decision ?? 'allow');
    }
    request = { url: new URL(form.action, request.url), method: 'POST', body };
  }
  throw new Error('too many steps signing in');
}

/** An MCP client's OAuth state, kept in memory; `redirect` plays the user agent. */
export class TestOAuthProvider implements OAuthClientProvider {
  readonly redirectUrl: string;
  readonly clientMetadataUrl?: string;
  lastState?: string;
  callback?: URL;
  private readonly redirect: (url: URL) => Promise<URL>;
  private client?: StoredOAuthClientInformation;
  private savedTokens?: StoredOAuthTokens;
  private verifier?: string;
  private discovery?: OAuthDiscoveryState;

  constructor(
    redirect: (url: URL) => Promise<URL>,
    options: { clientMetadataUrl?: string; redirectUrl?: string; preRegistered?: StoredOAuthClientInformation } = {}
  ) {
    this.redirect = redirect;
    this.redirectUrl = options.redirectUrl ?? 'http://127.0.0.1:9/callback';
    if (options.clientMetadataUrl !== undefined) this.clientMetadataUrl = options.clientMetadataUrl;
    if (options.preRegistered !== undefined) this.client = options.preRegistered;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'sqlbridge tests',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    };
  }

  state(): string {
    this.lastState = randomUUID();
    return this.lastState;
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.client;
  }

  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.client = info;
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.savedTokens;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.savedTokens = tokens;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    if (this.verifier === undefined) throw new Error('no code verifier');
    return this.verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.callback = await this.redirect(url);
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') this.savedTokens = undefined;
    if (scope === 'all' || scope === 'client') this.client = undefined;
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }
}

/** The claims of a JWT, unverified (tests read what the server issued). */
export function jwtClaims(token: string): Record<string, unknown> {
  const [, payload = ''] = token.split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
