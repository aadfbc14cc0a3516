import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AuditEventName, AuditOutcome, AuditRecord } from '../../audit/record.ts';
import type { AuditTrail } from '../../audit/trail.ts';
import { requestOrigin } from '../../observability/request-context.ts';

/**
 * What an authorization server did, in the audit trail, from oidc-provider's own events: a client
 * registered, tokens issued or refreshed, a replayed refresh token (oidc-provider revokes the grant
 * and says why), a grant revoked, a token revoked by its client, a token request refused. The
 * request's id and client address come from the HTTP layer (provider-mount.ts runs the provider
 * inside the request's origin). Sign-in and consent are sqlbridge's own pages and are recorded
 * there (interactions.ts).
 */

type Context = KoaContextWithOIDC | undefined;

interface OidcError extends Error {
  error?: string;
  error_detail?: string;
}

/** oidc-provider's detail when a rotated refresh token is presented again (its grant is then revoked). */
const REFRESH_REUSED = 'refresh token already used';

export function recordProviderEvents(provider: Provider, environment: string, audit: AuditTrail): void {
  const record = (event: AuditEventName, outcome: AuditOutcome, ctx: Context, extra: Partial<AuditRecord> = {}) => {
    const origin = requestOrigin();
    const user = accountOf(ctx);
    const clientId = ctx?.oidc.client?.clientId;
    audit.record({
      event,
      outcome,
      environment,
      ...(origin === undefined ? {} : { requestId: origin.requestId, remoteAddress: origin.remoteAddress }),
      ...(user === undefined ? {} : { user }),
      ...(clientId === undefined ? {} : { clientId }),
      ...extra
    });
  };

  provider.on('registration_create.success', (ctx: Context, client: { clientId: string; clientName?: string }) => {
    record('client.registered', 'ok', ctx, {
      clientId: client.clientId,
      detail: {
        ...(client.clientName === undefined ? {} : { clientName: client.clientName.slice(0, 100) }),
        authMethod: (client as { tokenEndpointAuthMethod?: string }).tokenEndpointAuthMethod ?? 'none'
      }
    });
  });
  provider.on('registration_create.error', (ctx: Context, error: OidcError) => {
    record('client.registered', 'rejected', ctx, { errorClass: error.error ?? 'invalid_client_metadata' });
  });

  provider.on('grant.success', (ctx: Context) => {
    const grantType = grantTypeOf(ctx);
    const grantId = grantIdOf(ctx);
    record(grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued', 'ok', ctx, {
      detail: { grantType, ...(grantId === undefined ? {} : { grantId }) }
    });
  });
  provider.on('grant.error', (ctx: Context, error: OidcError) => {
    const grantType = grantTypeOf(ctx);
    const reused = grantType === 'refresh_token' && error.error_detail === REFRESH_REUSED;
    record(reused ? 'token.refresh_reused' : 'token.refused', 'rejected', ctx, {
      errorClass: error.error ?? 'invalid_grant',
      detail: { grantType }
    });
  });

  provider.on('grant.revoked', (ctx: Context, grantId: string) => {
    const route = ctx?.oidc.route;
    const reason =
      route === 'revocation' ? 'token_revoked' : route === 'token' ? 'refresh_token_reused' : (route ?? 'other');
    record('grant.revoked', 'ok', ctx, { detail: { grantId, reason } });
  });
  // A client revoking its own refresh token (RFC 7009): oidc-provider destroys it, then its grant.
  provider.on('refresh_token.destroyed', (token: { grantId?: string; accountId?: string; clientId?: string }) => {
    const ctx = (provider.constructor as unknown as { ctx?: KoaContextWithOIDC }).ctx;
    if (ctx?.oidc.route !== 'revocation') return;
    record('token.revoked', 'ok', ctx, {
      ...(token.accountId === undefined ? {} : { user: token.accountId }),
      detail: { tokenType: 'refresh_token', ...(token.grantId === undefined ? {} : { grantId: token.grantId }) }
    });
  });
}

function grantTypeOf(ctx: Context): string {
  const value = ctx?.oidc.params?.['grant_type'];
  return typeof value === 'string' ? value.slice(0, 100) : 'unknown';
}

/** The user a token request was about: from the code or refresh token it presented, or the account it loaded. */
function accountOf(ctx: Context): string | undefined {
  if (ctx === undefined) return undefined;
  const entities = ctx.oidc.entities as Record<string, { accountId?: string } | undefined>;
  return (
    ctx.oidc.account?.accountId ??
    entities['AuthorizationCode']?.accountId ??
    entities['RefreshToken']?.accountId ??
    ctx.oidc.session?.accountId
  );
}

function grantIdOf(ctx: Context): string | undefined {
  const entities = ctx?.oidc.entities as Record<string, { grantId?: string; jti?: string } | undefined> | undefined;
  return entities?.['AuthorizationCode']?.grantId ?? entities?.['RefreshToken']?.grantId ?? entities?.['Grant']?.jti;
}
