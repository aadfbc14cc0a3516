import type { HttpApp } from '../http/http-app.ts';
import type { AuthorizationServers } from './authorization-servers.ts';
import { CALLBACK_PATH } from './federation/sign-in-callback.ts';
import { mountProtectedResourceMetadata } from './resource/protected-resource-metadata.ts';
import { mountInteractionRoutes } from './server/interaction-routes.ts';
import { mountAuthorizationServer } from './server/provider-mount.ts';

/** Every environment's authorization server, sign-in pages and resource metadata, on the HTTP app. */
export async function mountAuthorization(app: HttpApp, servers: AuthorizationServers): Promise<void> {
  // The one redirect URI every identity provider has registered, for every environment and the console.
  app.get(CALLBACK_PATH, async (request, reply) => servers.federation.callback(request, reply));
  for (const environment of servers.environments) {
    await mountAuthorizationServer(app, servers, environment.name);
    mountProtectedResourceMetadata(app, servers, environment.name);
    await mountInteractionRoutes(app, servers, environment.name);
  }
}
