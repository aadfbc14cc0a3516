import type { HttpApp } from '../http/http-app.ts';
import type { AuthorizationServers } from './authorization-servers.ts';
import { CALLBACK_PATH } from './federation/sign-in-callback.ts';
import { mountProtectedResourceMetadata } from './resource/protected-resource-metadata.ts';
import { mountInteractionRoutes } from './server/interaction-routes.ts';
import { mountAuthorizationServers } from './server/provider-mount.ts';

/** Every environment's authorization server, sign-in pages and resource metadata, on the HTTP app. */
export async function mountAuthorization(app: HttpApp, servers: AuthorizationServers): Promise<void> {
  // The one redirect URI every identity provider has registered, for every environment and the console.
  app.get(CALLBACK_PATH, async (request, reply) => servers.federation.callback(request, reply));
  for (const environment of servers.environments) mountProtectedResourceMetadata(app, servers, environment.name);
  // Every environment's authorization server and sign-in pages share one plugin. Fastify gives each
  // plugin classes of its own for requests and replies, and the code every request runs (the hooks,
  // CORS, the request log) meets an object of each class a sign-in has passed through: past four
  // classes, V8 looks their properties up the slow, megamorphic way on every request, MCP calls
  // included (see ../http/raw-messages.ts, and docs/performance.md, "The authorization server only
  // where it answers").
  await app.register(async (scope: HttpApp) => {
    await mountAuthorizationServers(scope, servers);
    await mountInteractionRoutes(scope, servers);
  });
}
