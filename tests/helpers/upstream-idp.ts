import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { MemoryStore } from '../../src/auth/storage/memory-store.ts';

/**
 * The organisation's identity provider, for the federation tests: a second, real `oidc-provider` on
 * loopback (plain http: sqlbridge accepts http issuers on loopback only). It has its own people, who
 * sign in on its own page with a password, a `groups` claim (scope `groups`) carried in the ID token,
 * refresh tokens whose ID tokens read the groups again, and one confidential client, `sqlbridge`,
 * whose only redirect URI is sqlbridge's federation callback. A person's groups can be changed while
 * a test runs, as a directory administrator removes someone from a group.
 */

export interface UpstreamPerson {
  /** What the person types on the provider's sign-in page. */
  login: string;
  password: string;
  /** The stable subject identifier (`sub`) the provider gives the account. */
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

export interface UpstreamIdp {
  /** http://127.0.0.1:<port> */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Every authorization request received, in order (what the relying party sent). */
  authorizations: URLSearchParams[];
  /** The grant type of every successful token request, in order. */
  grants: string[];
  /** Every token it issued (access, refresh and ID tokens), to look for where they must not be. */
  issued: string[];
  /** Logins that passed the provider's sign-in page, in order. */
  signIns: string[];
  /** Server errors the provider met (for failure messages: normally empty). */
  errors: string[];
  /** Replaces a person's groups in the directory; the next ID token (a sign-in or a refresh) carries them. */
  setGroups(login: string, groups: string[]): void;
  close(): Promise<void>;
}

export interface UpstreamIdpOptions {
  /** sqlbridge's `<public origin>/auth/federation/callback`. */
  redirectUri: string;
  people: UpstreamPerson[];
}

const CLIENT_ID = 'sqlbridge';

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);

/** The provider's sign-in page: a labelled form posted back to the interaction. */
function loginPage(uid: string, login: string, error?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Corp sign-in</title></head>
<body><main><h1>Sign in to Corp</h1>${error === undefined ? '' : `<p role="alert">${escapeHtml(error)}</p>`}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label for="login">Corp account</label><input id="login" name="login" type="text" value="${escapeHtml(login)}" autocomplete="username">
<label for="password">Corp password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Continue</button></form></main></body></html>`;
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(text);
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Starts the provider on a random loopback port. */
export async function startUpstreamIdp(options: UpstreamIdpOptions): Promise<UpstreamIdp> {
  const people = new Map(options.people.map(person => [person.login, { ...person, groups: [...person.groups] }]));
  const bySub = (sub: string) => [...people.values()].find(person => person.sub === sub);
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientSecret = randomBytes(32).toString('base64url');
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'corp-1', alg: 'RS256', use: 'sig' };
  const store = new MemoryStore();

  const provider = new Provider(issuer, {
    adapter: (model: string) => store.adapter('', model),
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        // What openid-client uses for a client configured with a secret.
        token_endpoint_auth_method: 'client_secret_post'
      }
    ],
    jwks: { keys: [signingKey] },
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      // Cookies are not kept apart by port: names of its own, so as not to meet sqlbridge's on 127.0.0.1.
      names: { session: 'corp_session', interaction: 'corp_interaction', resume: 'corp_resume' }
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'], groups: ['groups'] },
    // The claims of the granted scopes in the ID token itself, as Entra ID and Okta put `groups` there.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    issueRefreshToken: async () => true,
    // Its own client needs no consent screen: the grant holds what was asked for.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      const existing = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(oidc.client?.clientId ?? '');
      if (existing !== undefined) return oidc.provider.Grant.find(existing);
      if (oidc.session?.accountId === undefined || oidc.client === undefined) return undefined;
      const grant = new oidc.provider.Grant({ accountId: oidc.session.accountId, clientId: oidc.client.clientId });
      const scope = oidc.params?.['scope'];
      grant.addOIDCScope(typeof scope === 'string' ? scope : 'openid');
      await grant.save();
      return grant;
    },
    findAccount: (_ctx, sub) => {
      const person = bySub(sub);
      if (person === undefined) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          name: person.name,
          email: person.email,
          email_verified: true,
          groups: [...person.groups]
        })
      };
    },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      RefreshToken: 86_400,
      Interaction: 600,
      Session: 3600,
      Grant: 86_400
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Corp error</title><h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description ?? '')}</p>`;
    }
  });

  const authorizations: URLSearchParams[] = [];
  const grants: string[] = [];
  const issued: string[] = [];
  const signIns: string[] = [];
  const errors: string[] = [];
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    grants.push(String(ctx.oidc.params?.['grant_type']));
    const body = ctx.body as Record<string, unknown>;
    for (const name of ['access_token', 'refresh_token', 'id_token']) {
      if (typeof body[name] === 'string') issued.push(body[name]);
    }
  });
  provider.on('server_error', (_ctx: unknown, error: Error) => errors.push(error.stack ?? error.message));
  const oidc = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid || details.prompt.name !== 'login') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`unexpected prompt ${details.prompt.name}`);
      return;
    }
    if (req.method === 'GET') {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(loginPage(uid, ''));
      return;
    }
    const form = await formBody(req);
    const login = form.get('login') ?? '';
    const person = people.get(login);
    if (person === undefined || !sameText(person.password, form.get('password') ?? '')) {
      res
        .writeHead(401, { 'content-type': 'text/html; charset=utf-8' })
        .end(loginPage(uid, login, 'Wrong account or password.'));
      return;
    }
    signIns.push(login);
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: person.sub } },
      { mergeWithLastSubmission: false }
    );
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    const uid = /^\/interaction\/([^/]+)$/.exec(url.pathname)?.[1];
    if (uid === undefined) {
      if (url.pathname === '/auth' && req.method === 'GET') authorizations.push(url.searchParams);
      void oidc(req, res);
      return;
    }
    interaction(req, res, uid).catch((error: unknown) => {
      errors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('the sign-in could not continue');
    });
  });

  return {
    issuer,
    clientId: CLIENT_ID,
    clientSecret,
    authorizations,
    grants,
    issued,
    signIns,
    errors,
    setGroups(login, groups) {
      const person = people.get(login);
      if (person === undefined) throw new Error(`no person ${login} at the upstream provider`);
      person.groups = [...groups];
    },
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      })
  };
}
