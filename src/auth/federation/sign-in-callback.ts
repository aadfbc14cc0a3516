import type { FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import { saveAccount } from './account-update.ts';
import { presentedBinding } from './browser-binding.ts';
import { recordSignIn, refuseSignIn, type FederationContext } from './federation-context.ts';
import { providerGroups, type Claims } from './group-claims.ts';
import { resolveIdentity } from './identity.ts';
import type { PendingSignIn } from './sign-in-state.ts';

/**
 * `GET /auth/federation/callback`, where every provider sends the browser back. The checks, in
 * order: the `state` names a sign-in stored here, not used before, started in this browser; the
 * provider reported no error; the code is redeemed (PKCE verifier, redirect URI) and the ID token
 * checked by openid-client (signature against the provider's keys, issuer, audience, expiry, nonce);
 * the account resolves to a user (identity.ts) who may go where the sign-in was for. Then an
 * authorization request continues at its interaction page with a one-time ticket, and an admin
 * sign-in goes to the console's handler. Nothing from the query (code, state) is ever logged.
 */

export const CALLBACK_PATH = '/auth/federation/callback';

/** An OAuth error code as a provider sends it, or nothing worth logging. */
const ERROR_CODE = /^[a-z_]{1,64}$/;

export async function receiveCallback(
  context: FederationContext,
  request: FastifyRequest,
  reply: FastifyReply
): Promise<unknown> {
  const url = new URL(request.url, 'http://callback.invalid');
  const params = url.searchParams;
  const state = params.get('state') ?? '';
  const binding = presentedBinding(request, context.secure());
  const taken = await context.states.take(state, binding);
  if (!taken.ok || binding === undefined) {
    context.logger.info({ refusal: taken.ok ? 'binding' : taken.refusal }, 'federated sign-in state refused');
    return refuseSignIn(context, request, reply, { errorClass: 'state_invalid' });
  }
  const pending = taken.value;
  const environment = pending.purpose.kind === 'interaction' ? pending.purpose.environment : undefined;
  const provider = context.providers.get(pending.provider);
  const origin = context.origin();
  const refuse = (errorClass: string, extra: { user?: string; subject?: string; status?: number } = {}) =>
    refuseSignIn(context, request, reply, { errorClass, provider: pending.provider, environment, ...extra });
  if (provider === undefined || origin === undefined) return refuse('upstream_unavailable', { status: 503 });
  const error = params.get('error');
  if (error !== null) {
    context.logger.info(
      { provider: provider.id, error: ERROR_CODE.test(error) ? error : 'unrecognised' },
      'the identity provider answered with an error'
    );
    return refuse('upstream_error');
  }
  let configuration: client.Configuration;
  try {
    configuration = await context.providers.configuration(provider.id);
  } catch {
    return refuse('upstream_unavailable', { status: 502 });
  }
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(configuration, new URL(`${origin}${CALLBACK_PATH}${url.search}`), {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: state,
      expectedNonce: pending.nonce,
      idTokenExpected: true
    });
  } catch (failure) {
    const errorClass = upstreamFailure(failure) ? 'upstream_error' : 'id_token_invalid';
    context.logger.warn(
      { provider: provider.id, errorClass, reason: describe(failure) },
      'the identity provider’s answer was refused'
    );
    return refuse(errorClass);
  }
  const claims: Claims = tokens.claims() ?? {};
  const subject = typeof claims['sub'] === 'string' ? claims['sub'] : '';
  if (subject === '') return refuse('id_token_invalid');
  let userinfo: Claims | undefined;
  if (provider.userinfo) {
    try {
      userinfo = await client.fetchUserInfo(configuration, tokens.access_token, subject);
    } catch (failure) {
      context.logger.warn({ provider: provider.id, reason: describe(failure) }, 'user info could not be read');
      return refuse('upstream_error');
    }
  }
  const groups = providerGroups(provider, claims, userinfo);
  if (groups.overage) {
    context.logger.warn(
      { provider: provider.id, claim: provider.groupsClaim },
      'the identity provider left the groups claim out (group overage): the user signs in with no provider groups'
    );
  }
  const issuer = configuration.serverMetadata().issuer;
  const resolution = await resolveIdentity(context.users, context.records, {
    provider,
    issuer,
    subject,
    claims: { ...userinfo, ...claims },
    groups: groups.groups
  });
  if (!resolution.ok) return refuse(resolution.errorClass, { subject });
  await saveAccount(context, {
    user: resolution.user,
    created: resolution.created,
    provider,
    issuer,
    subject,
    groups: groups.groups,
    refreshToken: tokens.refresh_token
  });
  const username = resolution.user.username;
  return continueSignIn(context, request, reply, pending, { username, binding, groupsOverage: groups.overage });
}

async function continueSignIn(
  context: FederationContext,
  request: FastifyRequest,
  reply: FastifyReply,
  pending: PendingSignIn,
  signedIn: { username: string; binding: string; groupsOverage: boolean }
): Promise<unknown> {
  const { purpose, provider } = pending;
  const { username } = signedIn;
  if (purpose.kind === 'interaction') {
    if (context.users.allowed(username, purpose.environment) === undefined) {
      return refuseSignIn(context, request, reply, {
        errorClass: 'user_not_allowed',
        provider,
        environment: purpose.environment,
        user: username
      });
    }
    const ticket = await context.states.issueTicket(
      { username, provider, environment: purpose.environment, uid: purpose.uid, groupsOverage: signedIn.groupsOverage },
      signedIn.binding
    );
    const path = `/${purpose.environment}/interaction/${encodeURIComponent(purpose.uid)}/federated`;
    return reply.redirect(`${path}?ticket=${ticket}`, 303);
  }
  const user = context.users.find(username);
  const handler = context.adminHandler();
  if (handler === undefined) {
    return refuseSignIn(context, request, reply, {
      errorClass: 'admin_unavailable',
      provider,
      user: username,
      status: 404
    });
  }
  if (user === undefined || user.disabled) {
    return refuseSignIn(context, request, reply, { errorClass: 'user_not_allowed', provider, user: username });
  }
  context.logger.info({ user: username, provider }, 'signed in through the identity provider (admin console)');
  recordSignIn(context, request, {
    event: 'auth.login_succeeded',
    outcome: 'ok',
    user: username,
    detail: { provider, purpose: 'admin', ...(signedIn.groupsOverage ? { groupsOverage: true } : {}) }
  });
  return handler(request, reply, { user, provider });
}

/** Whether a failure was the provider's (its error answer, its absence), not a token that failed a check. */
function upstreamFailure(failure: unknown): boolean {
  if (failure instanceof client.ResponseBodyError || failure instanceof client.AuthorizationResponseError) return true;
  const code = (failure as { code?: unknown } | null)?.code;
  return code === 'OAUTH_RESPONSE_IS_NOT_JSON' || code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || isNetwork(failure);
}

function isNetwork(failure: unknown): boolean {
  const cause = (failure as { cause?: unknown } | null)?.cause;
  return (
    failure instanceof TypeError ||
    (cause instanceof Error &&
      (cause.name === 'TypeError' || cause.name === 'TimeoutError' || cause.name === 'AbortError'))
  );
}

/** Why openid-client refused, without any value from the exchange (no token, no code). */
function describe(failure: unknown): string {
  const code = (failure as { code?: unknown } | null)?.code;
  const name = failure instanceof Error ? failure.name : 'Error';
  const message = failure instanceof Error ? failure.message : '';
  // openid-client's messages name checks ("unexpected ID Token "nonce" claim value"), not values.
  return `${name}${typeof code === 'string' ? ` ${code}` : ''}: ${message.slice(0, 200)}`;
}
