import type { IncomingMessage, ServerResponse } from 'node:http';
import middie from '@fastify/middie';
import { notFound, type HttpApp } from '../../http/http-app.ts';
import { pathOf } from '../../http/paths.ts';
import type { AuthorizationServers } from '../authorization-servers.ts';
import { withRequestOrigin } from '../../observability/request-context.ts';

/**
 * Each environment's authorization server is oidc-provider, a Koa application, mounted the way its
 * documentation mounts it in Fastify: through @fastify/middie ("Mounting oidc-provider", to a
 * fastify application). It answers its own routes under the issuer path `/<environment>/…` and the
 * RFC 8414 path-inserted metadata URLs `/.well-known/<document>/<environment>`.
 *
 * Those paths are routes of the plugin that holds the authorization servers (see ../routes.ts), and
 * middie is that plugin's `onRequest` hook: a request whose path, as sent, is one of them goes to
 * its environment's authorization server; one the router matched under another spelling
 * (`/%64emo/token`) goes on to the route's handler, which answers not found. No other route passes
 * through middie: the MCP endpoints never do.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route is an authorization server's: middie hands its requests to oidc-provider. */
    authorizationServer?: boolean;
  }
}

/** oidc-provider's routes, relative to the issuer (see provider.ts `routes`), as router paths. */
const PROVIDER_PATHS = [
  '/authorize',
  '/authorize/:uid',
  '/token',
  '/register',
  '/revoke',
  '/jwks',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server'
];

const METADATA_DOCUMENTS = ['oauth-authorization-server', 'openid-configuration'];

/** A router path as a pattern of the path sent: literal text, a parameter one segment. */
const pattern = (path: string): string => path.replaceAll('.', '\\.').replace(/:[^/]+/g, '[^/]+');

/** The provider's routes, as a path (relative to the issuer) must be sent to reach it. */
const PROVIDER_ROUTE = new RegExp(`^(?:${PROVIDER_PATHS.map(pattern).join('|')})$`);
const METADATA_URL = new RegExp(`^/\\.well-known/(${METADATA_DOCUMENTS.map(pattern).join('|')})/([^/]+)$`);

/** What @fastify/middie hands a mounted application: the raw request, with Fastify's id and client address. */
type MountedRequest = IncomingMessage & { baseUrl?: string; ip?: string; id?: string; originalUrl?: string };

/** A request for an authorization server: whose, and the URL it sees there (relative to its issuer). */
export interface ProviderTarget {
  environment: string;
  url: string;
}

/**
 * The authorization server a request is for, judged on its URL as sent: middie's and the router's
 * matching decode percent-escapes, but the HTTP layer's policies (the registration limit, CORS, the
 * Origin check) judge the path as sent, so another spelling (`/DEMO/register`, `/%64emo/register`)
 * must not reach an authorization server past them.
 */
export function providerTarget(sent: string, environments: ReadonlySet<string>): ProviderTarget | undefined {
  const path = pathOf(sent);
  const metadata = METADATA_URL.exec(path);
  if (metadata !== null) {
    const [, document = '', environment = ''] = metadata;
    return environments.has(environment) ? { environment, url: `/.well-known/${document}` } : undefined;
  }
  const end = path.indexOf('/', 1);
  if (end === -1) return undefined;
  const environment = path.slice(1, end);
  if (!environments.has(environment) || !PROVIDER_ROUTE.test(path.slice(end))) return undefined;
  return { environment, url: withDefaultScope(sent.slice(end)) };
}

/** Every environment's authorization server, on `scope` (the plugin of ../routes.ts). */
export async function mountAuthorizationServers(scope: HttpApp, servers: AuthorizationServers): Promise<void> {
  const environments = new Set(servers.environments.map(environment => environment.name));
  // An authorization server writes its answers itself: it is handed the headers the HTTP layer
  // decided for every response (security-headers.ts, CORS) before it is called.
  scope.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.authorizationServer !== true) return;
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value);
    }
  });
  await scope.register(middie);
  scope.use((req: MountedRequest, res: ServerResponse, next: () => void) => {
    const target = providerTarget(req.originalUrl ?? req.url ?? '/', environments);
    if (target === undefined) next();
    else answer(servers, target, req, res);
  });
  for (const environment of environments) {
    const urls = [
      ...PROVIDER_PATHS.map(path => `/${environment}${path}`),
      ...METADATA_DOCUMENTS.map(document => `/.well-known/${document}/${environment}`)
    ];
    for (const url of urls) {
      scope.route({ method: ['GET', 'POST'], url, handler: notFound, config: { authorizationServer: true } });
    }
  }
}

function answer(servers: AuthorizationServers, target: ProviderTarget, req: MountedRequest, res: ServerResponse): void {
  const { environment, url } = target;
  const active = servers.active(environment);
  const origin = servers.publicOrigin;
  if (active === undefined || origin === undefined) {
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
    return;
  }
  pinToPublicUrl(req, new URL(origin));
  req.baseUrl = `/${environment}`;
  req.url = url;
  // oidc-provider's events are recorded with the request they happened in (see provider-audit.ts).
  const from = { requestId: req.id ?? '', remoteAddress: req.ip ?? req.socket.remoteAddress ?? '' };
  withRequestOrigin(from, () => active.callback(req, res)).catch((error: unknown) => {
    servers.logger.error({ err: error, environment }, 'authorization server failed');
  });
}

/**
 * oidc-provider builds the URLs in its metadata and redirects from the request's Host and scheme:
 * they are pinned to the configured public URL, never taken from the client. The client address it
 * sees is the one Fastify derived (honouring only trusted proxies).
 */
function pinToPublicUrl(req: MountedRequest, base: URL): void {
  req.headers.host = base.host;
  delete req.headers['x-forwarded-host'];
  if (base.protocol === 'https:') req.headers['x-forwarded-proto'] = 'https';
  if (req.ip !== undefined) req.headers['x-forwarded-for'] = req.ip;
}

/**
 * An authorization request without `scope` gets the default, reading (RFC 6749 §3.3 lets the server
 * pick one); oidc-provider would otherwise grant nothing and deny the request.
 */
export function withDefaultScope(url: string): string {
  const [path = '/', query = ''] = url.split(/\?(.*)/s, 2);
  if (path !== '/authorize') return url;
  const params = new URLSearchParams(query);
  if (params.has('scope')) return url;
  params.set('scope', 'sql:read');
  return `${path}?${params.toString()}`;
}
