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
 * RFC 8414 path-inserted metadata URLs `/.well-known/<document>/<environment>`; every other path
 * passes on to Fastify's routes.
 *
 * None of those paths is a Fastify route, so each prefix is a plugin of its own holding middie, the
 * mount and the prefix's not-found handler (Fastify sends a path no route serves to the not-found
 * handler of its longest registered prefix, with that plugin's hooks). middie's hook thus runs only
 * for requests no route serves under those prefixes: the MCP endpoints and every other route never
 * pass through it.
 */

/** oidc-provider's routes, relative to the issuer (see provider.ts `routes`). */
const PROVIDER_ROUTE =
  /^\/(?:authorize(?:\/[^/]+)?|token|register|revoke|jwks|\.well-known\/(?:openid-configuration|oauth-authorization-server))$/;

const METADATA_DOCUMENTS = ['oauth-authorization-server', 'openid-configuration'];

/** What @fastify/middie hands a mounted application: the raw request, with Fastify's id and client address. */
type MountedRequest = IncomingMessage & { baseUrl?: string; ip?: string; id?: string; originalUrl?: string };

/**
 * Whether the request's path, as sent, is exactly `expected`. middie matches a mount prefix
 * case-insensitively and after percent-decoding, but the HTTP layer's policies (the registration
 * limit, CORS, the Origin check) judge the path as sent: another spelling (`/DEMO/register`,
 * `/%64emo/register`) must not reach the authorization server past them.
 */
function sentAs(req: MountedRequest, expected: string): boolean {
  return pathOf(req.originalUrl ?? req.url ?? '/') === expected;
}

export async function mountAuthorizationServer(
  app: HttpApp,
  servers: AuthorizationServers,
  environment: string
): Promise<void> {
  const answer = (req: MountedRequest, res: ServerResponse, url: string): void => {
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
  };
  await mountUnderPrefix(app, `/${environment}`, (req, res, next) => {
    const path = pathOf(req.url ?? '/');
    if (PROVIDER_ROUTE.test(path) && sentAs(req, `/${environment}${path}`)) {
      answer(req, res, withDefaultScope(req.url ?? '/'));
    } else next();
  });
  for (const document of METADATA_DOCUMENTS) {
    const prefix = `/.well-known/${document}/${environment}`;
    await mountUnderPrefix(app, prefix, (req, res, next) => {
      if (sentAs(req, prefix)) answer(req, res, `/.well-known/${document}`);
      else next();
    });
  }
}

type Mounted = (req: MountedRequest, res: ServerResponse, next: () => void) => void;

/** `mounted` answers, or passes on, the requests under `prefix` that no route serves. */
async function mountUnderPrefix(app: HttpApp, prefix: string, mounted: Mounted): Promise<void> {
  await app.register(
    async scope => {
      await scope.register(middie);
      scope.setNotFoundHandler(notFound);
      scope.use('/', mounted);
    },
    { prefix }
  );
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
