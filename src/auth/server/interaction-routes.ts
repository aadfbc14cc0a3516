import formbody from '@fastify/formbody';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpApp } from '../../http/http-app.ts';
import type { Environment } from '../../environment.ts';
import type { AuthorizationServers } from '../authorization-servers.ts';
import { finishFederatedLogin, startFederatedLogin } from '../federation/interaction-steps.ts';
import { resourceScopes } from '../scopes.ts';
import { showInteraction, submitConsent, submitLogin, type InteractionContext } from './interactions.ts';

/** Sign-in forms are small; anything larger is not a person typing. */
const FORM_LIMIT = 8 * 1024;

type Step = (context: InteractionContext, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * The sign-in and consent pages of every environment's authorization server, at
 * `/<environment>/interaction/<uid>`, on `scope` (the plugin of ../routes.ts): it reads their forms.
 */
export async function mountInteractionRoutes(scope: HttpApp, servers: AuthorizationServers): Promise<void> {
  // One value per field: a repeated field takes its last value, as URLSearchParams reads it.
  await scope.register(formbody, {
    bodyLimit: FORM_LIMIT,
    parser: body => Object.fromEntries(new URLSearchParams(body))
  });
  for (const served of servers.environments) mountPages(scope, servers, served);
}

function mountPages(scope: HttpApp, servers: AuthorizationServers, served: Environment): void {
  const environment = served.name;
  const scopes = ['offline_access', ...resourceScopes(served.config.readOnly)];
  const consentTtlSeconds = Math.max(servers.config.auth.refreshTokenTtlDays, 30) * 86_400;
  const audit = served.audit;
  const step =
    (handler: Step) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const active = servers.active(environment);
      if (active === undefined) return reply.code(503).send({ error: 'temporarily_unavailable' });
      return handler(
        {
          environment,
          provider: () => active.provider,
          resources: () => [active.resources.mcp, active.resources.sse],
          users: servers.users,
          throttle: servers.throttle,
          store: servers.store,
          csrfSecret: active.cookieSecret,
          scopes,
          consentTtlSeconds,
          logger: servers.logger,
          audit,
          records: servers.records,
          federation: servers.federation,
          localUsers: servers.config.auth.federation.localUsers
        },
        request,
        reply
      );
    };
  scope.get(`/${environment}/interaction/:uid`, step(showInteraction));
  scope.post(`/${environment}/interaction/:uid/login`, step(submitLogin));
  scope.post(`/${environment}/interaction/:uid/confirm`, step(submitConsent));
  scope.post(`/${environment}/interaction/:uid/federate`, step(startFederatedLogin));
  scope.get(`/${environment}/interaction/:uid/federated`, step(finishFederatedLogin));
}
