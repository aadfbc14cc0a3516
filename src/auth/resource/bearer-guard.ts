import {
  bearerAuthChallengeResponse,
  OAuthError,
  OAuthErrorCode,
  verifyBearerToken,
  type AuthInfo
} from '@modelcontextprotocol/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  STORE_RETRY_AFTER_SECONDS,
  STORE_UNAVAILABLE_MESSAGE,
  StoreUnavailable
} from '../../errors/store-unavailable.ts';
import type { HttpApp } from '../../http/http-app.ts';
import type { ActiveAuthorizationServer, AuthorizationServers, ProtectedEndpoint } from '../authorization-servers.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, as the bearer guard verified them; undefined without OAuth. */
    auth: AuthInfo | undefined;
  }
}

/** Declares `request.auth` once, for the bearer guards to fill. */
export function decorateRequestAuth(app: HttpApp): void {
  app.decorateRequest('auth', undefined);
}

/**
 * The resource server in front of one protected endpoint (MCP authorization spec, "Access Token
 * Usage"): the request needs a bearer token this environment issued for this endpoint (`aud`),
 * unexpired, with `sql:read`. Otherwise it is answered 401 with a WWW-Authenticate challenge naming
 * the endpoint's resource metadata and the scope (RFC 9728 §5.1), before anything else runs. A token
 * in the query string is refused outright (OAuth 2.1 §5.1: never in URLs).
 */
export function bearerGuard(servers: AuthorizationServers, environment: string, endpoint: ProtectedEndpoint) {
  // What the check needs of the environment's authorization server, built once per server (a key
  // rotation rebuilds the server).
  const checks = new WeakMap<ActiveAuthorizationServer, BearerCheck>();
  const checkOf = (active: ActiveAuthorizationServer): BearerCheck => {
    let check = checks.get(active);
    if (check === undefined) {
      check = {
        verifier: active.verifiers[endpoint],
        requiredScopes: ['sql:read'],
        resourceMetadataUrl: servers.resourceMetadataUrl(environment, endpoint),
        expectedResource: new URL(active.resources[endpoint])
      };
      checks.set(active, check);
    }
    return check;
  };
  return async function requireBearerToken(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const active = servers.active(environment);
    if (active === undefined) {
      await reply.code(503).send({ error: 'temporarily_unavailable' });
      return;
    }
    if (hasQueryParameter(request.url, 'access_token')) {
      await reply.code(400).send({
        error: 'invalid_request',
        error_description: 'access tokens are accepted only in the Authorization header'
      });
      return;
    }
    const check = checkOf(active);
    try {
      request.auth = await verifyBearerToken(request.headers.authorization, check);
      // Verified: what the token grants travels as `request.auth` from here on. The header itself
      // goes no further (the SDK's web Request is built without it): no handler sees the token,
      // and its several hundred characters are not validated and copied again on every call.
      request.raw.headers.authorization = undefined;
    } catch (error) {
      if (error instanceof StoreUnavailable) {
        // The token may well be good: a 401 would make the client throw it away and sign in again.
        request.log.error({ err: error, environment }, 'a token could not be checked: the store does not answer');
        await reply
          .code(503)
          .header('retry-after', String(STORE_RETRY_AFTER_SECONDS))
          .send({ error: 'temporarily_unavailable', error_description: STORE_UNAVAILABLE_MESSAGE });
        return;
      }
      const known =
        error instanceof OAuthError
          ? error
          : new OAuthError(OAuthErrorCode.InvalidToken, 'The access token could not be verified');
      await reply.send(bearerAuthChallengeResponse(known, check));
    }
  };
}

type BearerCheck = Parameters<typeof verifyBearerToken>[1] & { resourceMetadataUrl: string };

/** Whether the request target's query string names `name` (percent-decoded, as a URL parser reads it). */
function hasQueryParameter(target: string, name: string): boolean {
  const start = target.indexOf('?');
  return start !== -1 && new URLSearchParams(target.slice(start + 1)).has(name);
}

/**
 * Whether the token an event stream was opened with still stands (its grant not revoked, its user
 * still allowed here, unexpired), as every request's is checked: a stream asks now and then, and
 * ends when the answer is no. The verifier answers from what it has cached, within
 * `auth.grantCheckMs`; while the store does not answer, the stream stays.
 */
export function tokenStillValid(
  servers: AuthorizationServers,
  environment: string,
  endpoint: ProtectedEndpoint
): (auth: AuthInfo) => Promise<boolean> {
  return async auth => {
    const active = servers.active(environment);
    if (active === undefined) return false;
    try {
      await active.verifiers[endpoint].verifyAccessToken(auth.token);
      return true;
    } catch (error) {
      // A store that does not answer says nothing of the token: the stream stays, and asks again next time.
      return error instanceof StoreUnavailable;
    }
  };
}
