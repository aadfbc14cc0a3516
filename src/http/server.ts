import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { AuthService } from '../auth/auth-service.ts';
import type { Config } from '../config/schema.ts';
import type { Environment } from '../environment.ts';
import { createServerFactory } from '../mcp/server.ts';
import type { Logger } from '../observability/logger.ts';
import { mountStreamableHttp, type StreamableHttpEndpoint } from '../transports/streamable-http.ts';
import { createHostGuard } from './host-guard.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

/** Fastify with sqlbridge's logger. */
export type HttpApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;

export interface HttpServer {
  app: HttpApp;
  endpoints: StreamableHttpEndpoint[];
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * Browser-based MCP clients (the MCP Inspector) discover, register and exchange codes from their own
 * origin: metadata documents and the cookie-less OAuth endpoints answer any origin. The MCP endpoints,
 * the authorization endpoint and the sign-in pages keep the Origin check.
 */
const OPEN_TO_ANY_ORIGIN = /^\/(?:\.well-known\/[^?]*|[^/]+\/(?:\.well-known\/[^?]*|token|register|revoke|jwks))$/;

/** The HTTP face of sqlbridge: one MCP endpoint per environment, behind Host/Origin checks. */
export async function createHttpServer(
  config: Config,
  environments: readonly Environment[],
  logger: Logger,
  version: string,
  auth?: AuthService
): Promise<HttpServer> {
  const app: HttpApp = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.server.maxRequestBodyBytes,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    trustProxy: config.server.trustProxy.length > 0 ? [...config.server.trustProxy] : false,
    forceCloseConnections: true
  });

  const publicHost = config.server.publicUrl === undefined ? [] : [new URL(config.server.publicUrl).host];
  const hostGuard = createHostGuard({
    allowedHosts: [...LOOPBACK_HOSTS, config.server.host, ...publicHost, ...config.server.allowedHosts],
    allowedOrigins: config.server.allowedOrigins,
    anyOrigin: path => OPEN_TO_ANY_ORIGIN.test(path)
  });
  app.addHook('onRequest', hostGuard);
  // Defaults for every response; a route that set its own (the sign-in pages' policy) keeps it.
  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      if (!reply.hasHeader(name)) reply.header(name, value);
    }
    return payload;
  });
  // One line per request; the query string is left out (it is where a careless client puts tokens).
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime)
      },
      'request'
    );
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/', async () => ({
    name: 'sqlbridge',
    version,
    environments: environments.map(env => ({ name: env.name, mcp: `/${env.name}/mcp` }))
  }));
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ error: 'not_found' }));

  auth?.mount(app);
  const endpoints: StreamableHttpEndpoint[] = [];
  for (const environment of environments) {
    const factory = createServerFactory(environment, { version, logger });
    endpoints.push(
      await mountStreamableHttp(app, {
        path: `/${environment.name}/mcp`,
        factory,
        maxRequestBodyBytes: config.server.maxRequestBodyBytes,
        maxSessions: config.server.maxSessions,
        sessionIdleTimeoutMs: config.server.sessionIdleTimeoutMs,
        logger,
        ...(auth === undefined ? {} : { authenticate: request => auth.authenticate(environment.name, request) })
      })
    );
  }
  return { app, endpoints };
}
