import type { FastifyReply } from 'fastify';
import type { HttpApp } from '../../http/http-app.ts';
import type { AuthorizationServers, ProtectedEndpoint } from '../authorization-servers.ts';
import { resourceScopes } from '../scopes.ts';

/**
 * RFC 9728 protected-resource metadata of an environment's endpoints, at the path-inserted location
 * (§3.1) MCP clients derive from the endpoint URL, plus the original guide's location under the
 * environment. Each document names its endpoint exactly as `resource`: MCP clients check that it
 * matches the URL they connect to. Any web origin may read them (CORS, see http/cors.ts).
 */
export function mountProtectedResourceMetadata(app: HttpApp, servers: AuthorizationServers, environment: string): void {
  const readOnly = servers.environments.find(env => env.name === environment)?.config.readOnly ?? true;
  const document = (endpoint: ProtectedEndpoint) => async (_request: unknown, reply: FastifyReply) => {
    const active = servers.active(environment);
    if (active === undefined) return reply.code(503).send({ error: 'temporarily_unavailable' });
    return reply.header('cache-control', 'public, max-age=300').send({
      resource: active.resources[endpoint],
      authorization_servers: [active.issuer],
      scopes_supported: resourceScopes(readOnly),
      bearer_methods_supported: ['header'],
      resource_name: `sqlbridge — ${environment}`
    });
  };
  app.get(`/.well-known/oauth-protected-resource/${environment}/mcp`, document('mcp'));
  app.get(`/.well-known/oauth-protected-resource/${environment}/sse`, document('sse'));
  app.get(`/${environment}/.well-known/oauth-protected-resource`, document('mcp'));
}
