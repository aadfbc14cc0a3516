import type { JWK } from 'jose';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../../config/schema.ts';
import { htmlPagePolicy } from '../../http/security-headers.ts';
import type { Logger } from '../../observability/logger.ts';
import { withClientExpiry } from '../storage/client-expiry.ts';
import type { HashedStore } from '../storage/hashed-store.ts';
import { resourceScopes } from '../scopes.ts';
import { compareHashedClientSecrets, withHashedClientSecrets } from './client-secrets.ts';
import { metadataFetch, metadataUrlRefusal } from './client-metadata-fetch.ts';
import { errorPage, STYLE_HASH } from './pages.ts';
import { withSingleUse } from './single-use.ts';
import { isRedirectAllowed, redirectUriRefusal } from './redirect-policy.ts';
import { permits, type UserDirectory } from './users.ts';

/**
 * One environment's authorization server: oidc-provider configured for OAuth 2.1 as MCP clients
 * and Claude expect it. Authorization code with PKCE S256 for every client, exact redirect URIs,
 * `iss` in the response, resource indicators turning into ES256 JWT access tokens whose audience is
 * the environment's MCP endpoint, refresh tokens that rotate on every use (a replayed one revokes
 * the grant), revocation, dynamic registration and Client ID Metadata Documents limited to allowed
 * redirect hosts. The sign-in and consent pages are ours (see interactions.ts).
 */

export interface AuthorizationServerOptions {
  environment: string;
  /** `<base>/<environment>` */
  issuer: string;
  /**
   * The environment's protected endpoints, the only resources tokens are issued for: the MCP
   * endpoint `<base>/<environment>/mcp` first (the default), then the legacy SSE endpoint. A token's
   * audience is the one resource it was requested for.
   */
  resources: readonly string[];
  readOnly: boolean;
  auth: Config['auth'];
  signingKeys: JWK[];
  cookieKeys: string[];
  /** Whether the public URL is https (cookies are then Secure and `__Host-`/`__Secure-` prefixed). */
  secure: boolean;
  /** Hashed: no token, code, session or client secret is kept in clear (hashed-store.ts, client-secrets.ts). */
  store: HashedStore;
  users: UserDirectory;
  /** At a refresh: reads a federated user's groups again at their provider; false refuses the refresh. */
  refreshUser?: (username: string) => Promise<boolean>;
  logger: Logger;
}

/** Model name of remembered consent: (account, client) → grant id, in the same store. */
export const CONSENT_MODEL = 'SqlbridgeConsent';

export function consentKey(accountId: string, clientId: string): string {
  return `${accountId}\u0000${clientId}`;
}

const MAX_REDIRECT_URIS = 10;
const MAX_REDIRECT_URI_LENGTH = 2000;

const DISCOVERY_OIDC_ONLY = [
  'claims_supported',
  'claim_types_supported',
  'claims_parameter_supported',
  'id_token_signing_alg_values_supported',
  'subject_types_supported',
  'request_uri_parameter_supported',
  'request_parameter_supported',
  'end_session_endpoint'
];

export function createAuthorizationServer(options: AuthorizationServerOptions): Provider {
  const { environment, resources, auth, store } = options;
  const defaultResource = resources[0] ?? options.issuer;
  const scopes = resourceScopes(options.readOnly);
  const staticClients = new Set(auth.clients.map(client => client.clientId));
  const cimd = auth.clientIdMetadataDocuments;
  const fetchOptions = { timeoutMs: cimd.timeoutMs, trustedOrigins: cimd.trustedOrigins, caFile: cimd.caFile };
  const cookieName = (name: string, hostOnly: boolean): string =>
    options.secure
      ? `${hostOnly ? '__Host-' : '__Secure-'}sqlbridge-${environment}-${name}`
      : `sqlbridge-${environment}-${name}`;

  // A replay found by a store's atomic consume (see single-use.ts): revoked as oidc-provider revokes one
  // it sees itself, every token of the grant and the grant, and audited as such.
  const revokeReplayed = async (grantId: string): Promise<void> => {
    await Promise.all(
      ['AccessToken', 'RefreshToken', 'AuthorizationCode'].map(model =>
        store.adapter(environment, model).revokeByGrantId(grantId)
      )
    );
    await store.adapter(environment, 'Grant').destroy(grantId);
    const ctx = (Provider as unknown as { ctx?: KoaContextWithOIDC }).ctx;
    if (ctx !== undefined) ctx.oidc.provider.emit('grant.revoked', ctx, grantId);
  };

  const configuration: Configuration = {
    adapter: (model: string) =>
      model === 'Client'
        ? withClientExpiry(
            withHashedClientSecrets(store.adapter(environment, model), store.keyedHash),
            auth.clientIdleDays * 86_400
          )
        : withSingleUse(store.adapter(environment, model), model, revokeReplayed),
    clients: auth.clients.map(client => ({
      client_id: client.clientId,
      ...(client.clientSecret === undefined
        ? { token_endpoint_auth_method: 'none' }
        : { client_secret: client.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }),
      ...(client.name === undefined ? {} : { client_name: client.name }),
      redirect_uris: client.redirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code']
    })),
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'ES256'
    },
    clientAuthMethods: ['none', 'client_secret_post', 'client_secret_basic'],
    // Browser-based MCP clients (the MCP Inspector) call the token endpoint from their own origin.
    clientBasedCORS: () => true,
    extraClientMetadata: {
      properties: ['redirect_uris'],
      validator(_ctx, key, value, metadata) {
        if (key !== 'redirect_uris') return;
        // A public client needs no secret; oidc-provider makes one before the defaults apply.
        if (metadata['token_endpoint_auth_method'] === 'none') {
          delete metadata['client_secret'];
          delete metadata['client_secret_expires_at'];
        }
        if (typeof metadata['client_id'] === 'string' && staticClients.has(metadata['client_id'])) return;
        // Nothing this server would ever fetch on a registered client's say-so.
        for (const field of ['jwks_uri', 'sector_identifier_uri', 'backchannel_client_notification_endpoint']) {
          if (metadata[field] !== undefined) throw new errors.InvalidClientMetadata(`${field} is not supported here`);
        }
        const uris = Array.isArray(value) ? (value as unknown[]) : [];
        if (uris.length === 0) throw new errors.InvalidClientMetadata('redirect_uris: at least one is required');
        if (uris.length > MAX_REDIRECT_URIS) {
          throw new errors.InvalidClientMetadata(`redirect_uris: at most ${MAX_REDIRECT_URIS} are accepted`);
        }
        for (const uri of uris) {
          const refusal = redirectUriRefusal(uri, auth.allowedRedirectHosts, MAX_REDIRECT_URI_LENGTH);
          // "redirect_uris…" descriptions make oidc-provider answer invalid_redirect_uri (RFC 7591 §3.2.2).
          if (refusal !== undefined) throw new errors.InvalidClientMetadata(`redirect_uris: ${refusal}`);
        }
      }
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
      // Registration management (RFC 7592) is off, so its access tokens would only take up space.
      registration: { enabled: true, issueRegistrationAccessToken: false },
      revocation: {
        enabled: true,
        // A client may revoke only its own tokens; others' are ignored as unknown (RFC 7009 2.1).
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => defaultResource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (!resources.includes(indicator)) {
            throw new errors.InvalidTarget(`tokens here are only for ${resources.join(' and ')}`);
          }
          return {
            scope: scopes.join(' '),
            audience: indicator,
            accessTokenTTL: auth.accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } }
          };
        }
      },
      clientIdMetadataDocument: {
        enabled: cimd.enabled,
        ack: 'draft-02',
        allowFetch: async (_ctx, clientId) => {
          const refusal = await metadataUrlRefusal(clientId, fetchOptions);
          if (refusal !== undefined) {
            options.logger.info({ environment, clientId, refusal }, 'client metadata document refused');
            return false;
          }
          return true;
        },
        allowClient: async (_ctx, client) =>
          (client.redirectUris ?? []).every(uri => isRedirectAllowed(uri, auth.allowedRedirectHosts)),
        cacheDuration: { min: 30, max: 3600 }
      }
    },
    fetch: metadataFetch(fetchOptions),
    fetchResponseBodyLimits: {
      'client id metadata document': cimd.maxBytes,
      'client_id metadata document': cimd.maxBytes
    },
    responseTypes: ['code'],
    routes: {
      authorization: '/authorize',
      token: '/token',
      registration: '/register',
      revocation: '/revoke',
      jwks: '/jwks'
    },
    pkce: { required: () => true },
    scopes: ['offline_access', ...scopes],
    claims: { openid: ['sub'] },
    findAccount: async (ctx, sub) => {
      // A refresh re-reads the user's groups at their identity provider first (federated users with a
      // kept refresh token): someone removed from a group there loses what it gave from this refresh on.
      const refreshing = ctx.oidc.route === 'token' && ctx.oidc.params?.['grant_type'] === 'refresh_token';
      if (refreshing && options.refreshUser !== undefined && !(await options.refreshUser(sub))) return undefined;
      const user = options.users.allowed(sub, environment);
      return user === undefined ? undefined : { accountId: user.username, claims: () => ({ sub: user.username }) };
    },
    loadExistingGrant: async ctx => {
      const accountId = ctx.oidc.session?.accountId;
      const clientId = ctx.oidc.client?.clientId;
      if (accountId === undefined || clientId === undefined) return undefined;
      const grantId =
        (ctx.oidc.result?.['consent'] as { grantId?: string } | undefined)?.grantId ??
        ctx.oidc.session?.grantIdFor(clientId) ??
        (await store.adapter(environment, CONSENT_MODEL).find(consentKey(accountId, clientId)))?.['grantId'];
      if (grantId === undefined) return undefined;
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant === undefined || grant.accountId !== accountId || grant.clientId !== clientId) return undefined;
      // Remembered consent holding a scope the user may no longer grant is not reused: they consent again.
      const user = options.users.allowed(accountId, environment);
      const held = resources.flatMap(resource => grant.getResourceScope(resource).split(' '));
      return user !== undefined && held.every(scope => permits(user, scope)) ? grant : undefined;
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    expiresWithSession: async () => false,
    extraTokenClaims: async (_ctx, token) => ({ gid: (token as { grantId?: string }).grantId }),
    ttl: {
      AccessToken: () => auth.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      RefreshToken: () => auth.refreshTokenTtlDays * 86_400,
      Grant: () => Math.max(auth.refreshTokenTtlDays, 30) * 86_400,
      Interaction: 600,
      Session: 14 * 86_400,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      IdToken: 3600
    },
    interactions: {
      url: (_ctx, interaction) => `/${environment}/interaction/${interaction.uid}`
    },
    cookies: {
      keys: options.cookieKeys,
      names: {
        session: cookieName('session', true),
        interaction: cookieName('interaction', false),
        resume: cookieName('resume', false)
      },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' }
    },
    jwks: { keys: options.signingKeys },
    enabledJWA: { clientAuthSigningAlgValues: ['ES256'] },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.set('content-security-policy', htmlPagePolicy(STYLE_HASH, 'none'));
      ctx.body = errorPage('Sign-in cannot continue', describeError(out.error));
    },
    // Plain OAuth 2.0: `openid` is not offered (there is no ID token or user info here).
    extraParams: {
      async _sqlbridge_scope_policy(ctx: KoaContextWithOIDC) {
        if (ctx.oidc.requestParamScopes.has('openid'))
          throw new errors.InvalidScope('openid is not supported here', 'openid');
      }
    }
  };

  const provider = new Provider(options.issuer, configuration);
  compareHashedClientSecrets(provider, store.keyedHash);
  provider.use(async (ctx, next) => {
    await next();
    const oidc = ctx.oidc as KoaContextWithOIDC['oidc'] | undefined;
    const route = (oidc as { route?: string } | undefined)?.route;
    // A code is good for one try: a failed redemption (wrong PKCE verifier, redirect URI or client)
    // spends it, so a stolen code cannot be tried again.
    if (route === 'token' && ctx.status === 400 && oidc?.params?.['grant_type'] === 'authorization_code') {
      const value = oidc.params['code'];
      if (typeof value === 'string') {
        const code = await oidc.provider.AuthorizationCode.find(value, { ignoreExpiration: true }).catch(
          () => undefined
        );
        await code?.destroy();
      }
    }
    if (route === 'discovery' && ctx.status === 200) {
      const body = ctx.body as Record<string, unknown>;
      const pruned = Object.fromEntries(Object.entries(body).filter(([key]) => !DISCOVERY_OIDC_ONLY.includes(key)));
      pruned['scopes_supported'] = (body['scopes_supported'] as string[]).filter(scope => scope !== 'openid');
      ctx.body = pruned;
    }
  });
  const logError =
    (event: string) =>
    (ctx: KoaContextWithOIDC | undefined, error: Error & { error_detail?: string }): void => {
      const level = event === 'server_error' ? 'error' : 'info';
      options.logger[level](
        { environment, event, error: error.message, detail: error.error_detail, client: ctx?.oidc.client?.clientId },
        'oauth error'
      );
    };
  provider.on('server_error', logError('server_error'));
  provider.on('authorization.error', logError('authorization.error'));
  provider.on('grant.error', logError('grant.error'));
  provider.on('registration_create.error', logError('registration_create.error'));
  provider.on('revocation.error', logError('revocation.error'));
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => {
    options.logger.info({ environment, grantId }, 'grant revoked');
  });
  return provider;
}

/** A human sentence for an OAuth error, without echoing anything the request carried. */
function describeError(error: string): string {
  switch (error) {
    case 'invalid_redirect_uri':
      return 'The application asked to return to an address it has not registered, so sqlbridge will not send you there.';
    case 'invalid_client':
      return 'The application is not known to this server. Remove it and add it again.';
    case 'invalid_request':
      return 'The sign-in request is incomplete or malformed. Start again from the application.';
    case 'access_denied':
      return 'Access was not granted.';
    default:
      return 'Something went wrong with this sign-in. Start again from the application.';
  }
}
