import type { AuthorizationServers } from './auth/authorization-servers.ts';
import { bearerGuard, decorateRequestAuth, tokenStillValid } from './auth/resource/bearer-guard.ts';
import { authEndpointLimits } from './auth/server/endpoint-limits.ts';
import { registrationLimit } from './auth/server/registration-limit.ts';
import { standaloneCluster } from './cluster/cluster.ts';
import type { Config } from './config/schema.ts';
import type { Environment } from './environment.ts';
import { recordRateLimitedCalls } from './mcp/call-audit.ts';
import { createServerFactory } from './mcp/server.ts';
import type { Logger } from './observability/logger.ts';
import type { StreamCounts } from './observability/metrics.ts';
import { mountLegacySse } from './transports/legacy-sse.ts';
import { readJsonBodies } from './transports/json-body.ts';
import { LegacySseSessions } from './transports/legacy-sse-sessions.ts';
import { mountStreamableHttp, type McpEndpoint } from './transports/streamable-http.ts';
import { capConnections, connectionCap, softOpenFileLimit } from './http/connection-cap.ts';
import { createHttpApp, type HttpApp } from './http/http-app.ts';
import { InFlightCalls, type DrainOutcome } from './http/in-flight.ts';
import { mountReadiness } from './http/readiness.ts';
import { MemoryCounterStore } from './http/limits/counter-store.ts';
import type { RateLimitObserver } from './http/limits/rejections.ts';
import { toolCallLimits } from './http/limits/tool-call-limits.ts';

export interface HttpServer {
  app: HttpApp;
  inFlight: InFlightCalls;
  /**
   * Stops accepting requests, lets running calls finish until the deadline, cuts off the rest,
   * ends every event stream and closes the listener.
   */
  shutdown(deadlineMs: number): Promise<DrainOutcome>;
  /** Open event streams and sessions, read when metrics are scraped. */
  streams: StreamCounts;
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** How long the listener may take to close once every call and stream has ended. */
const CLOSE_GRACE_MS = 5_000;

/**
 * The HTTP face of sqlbridge: for every environment its MCP endpoints (Streamable HTTP at
 * `/<env>/mcp`, the legacy HTTP+SSE pair at `/<env>/sse` and `/<env>/messages`) and, with OAuth,
 * its authorization server, all behind one HTTP layer.
 */
export async function createHttpServer(
  config: Config,
  environments: readonly Environment[],
  logger: Logger,
  version: string,
  auth?: AuthorizationServers,
  observers: { rateLimitObserver?: RateLimitObserver } = {}
): Promise<HttpServer> {
  const inFlight = new InFlightCalls();
  // Every rate-limit counter: in Redis, shared by every replica, when the OAuth state is there;
  // otherwise this process's own, in memory (see docs/rate-limits.md).
  const counters = auth?.store.counters ?? new MemoryCounterStore();
  // Sessions and event streams any replica can serve, with the OAuth state in Redis.
  const cluster = auth?.store.cluster ?? standaloneCluster();
  const publicHost = config.server.publicUrl === undefined ? [] : [new URL(config.server.publicUrl).host];
  const app = await createHttpApp({
    logger,
    bodyLimit: config.server.maxRequestBodyBytes,
    trustProxy: config.server.trustProxy,
    environments: environments.map(environment => environment.name),
    allowedHosts: [...LOOPBACK_HOSTS, config.server.host, ...publicHost, ...config.server.allowedHosts],
    // The public URL's origin is this server's own, as browsers reach it through the proxy.
    allowedOrigins: [
      ...config.server.allowedOrigins,
      ...(config.server.publicUrl === undefined ? [] : [new URL(config.server.publicUrl).origin])
    ],
    limits:
      auth === undefined
        ? []
        : [registrationLimit(config, environments, counters), ...authEndpointLimits(config, environments, counters)],
    inFlight,
    ...(observers.rateLimitObserver === undefined ? {} : { rateLimitObserver: observers.rateLimitObserver })
  });
  decorateRequestAuth(app);
  const openFileLimit = softOpenFileLimit();
  const maxConnections = connectionCap(config.server.maxConnections, openFileLimit);
  // Worth a warning when the open-file limit leaves few connections (a default soft limit of 1024).
  if (maxConnections < Math.min(config.server.maxConnections, 4096)) {
    logger.warn(
      { configured: config.server.maxConnections, maxConnections, openFileLimit },
      'server.maxConnections lowered to leave open files for databases, files and workers; raise the open-file limit (ulimit -n) to hold more'
    );
  }
  capConnections(app.server, maxConnections, logger);

  // Liveness: the process serves. The audit trail's state is shown (without its error text, which may
  // name paths); an environment that blocks on audit failures refuses its calls meanwhile.
  const audit = environments[0]?.audit;
  app.get('/healthz', async () => ({
    status: 'ok',
    ...(audit === undefined
      ? {}
      : {
          audit: {
            healthy: audit.healthy,
            sinks: audit.health().sinks.map(({ name, healthy, pending, lost }) => ({ name, healthy, pending, lost }))
          }
        })
  }));
  // Readiness: every database, the OAuth storage and the audit trail answer (503 with the detail otherwise).
  mountReadiness(app, {
    environments,
    store: auth?.store,
    audit,
    timeoutMs: config.server.readinessTimeoutMs,
    logger
  });
  app.get('/', async () => ({
    name: 'sqlbridge',
    version,
    environments: environments.map(env => ({ name: env.name, mcp: `/${env.name}/mcp`, sse: `/${env.name}/sse` }))
  }));
  if (auth !== undefined) {
    // Loaded only with OAuth on: without it, oidc-provider, openid-client and the console stay unloaded.
    const [{ mountAuthorization }, { serveAdminConsole }] = await Promise.all([
      import('./auth/routes.ts'),
      import('./admin/console/mount-console.ts')
    ]);
    await mountAuthorization(app, auth);
    await serveAdminConsole(app, auth, auth.federation);
  }

  const sseSessions = new LegacySseSessions(config.server.legacySse, cluster);
  const endpoints: McpEndpoint[] = [];
  await app.register(async (scope: HttpApp) => {
    readJsonBodies(scope);
    for (const environment of environments) {
      const factory = createServerFactory(environment, { version, logger });
      const limitToolCalls = toolCallLimits(
        environment.name,
        environment.config.rateLimits,
        counters,
        (request, tools, limit) => {
          recordRateLimitedCalls(environment, request, tools, limit);
        }
      );
      const common = {
        factory,
        keepAliveMs: config.server.keepAliveMs,
        inFlight,
        logger,
        cluster,
        environment: environment.name,
        ...(limitToolCalls === undefined ? {} : { limitToolCalls })
      };
      endpoints.push(
        mountStreamableHttp(scope, {
          ...common,
          path: `/${environment.name}/mcp`,
          maxSessions: config.server.maxSessions,
          maxSessionsPerUser: config.server.maxSessionsPerUser,
          sessionIdleTimeoutMs: config.server.sessionIdleTimeoutMs,
          ...(auth === undefined
            ? {}
            : {
                guard: bearerGuard(auth, environment.name, 'mcp'),
                stillValid: tokenStillValid(auth, environment.name, 'mcp')
              })
        }),
        mountLegacySse(scope, {
          ...common,
          sessions: sseSessions,
          ...(auth === undefined
            ? {}
            : {
                guard: bearerGuard(auth, environment.name, 'sse'),
                stillValid: tokenStillValid(auth, environment.name, 'sse')
              })
        })
      );
    }
  });

  return {
    app,
    inFlight,
    streams: {
      legacySseStreams: () => sseSessions.size,
      streamableSessions: () => endpoints.reduce((count, endpoint) => count + (endpoint.sessions ?? 0), 0)
    },
    async shutdown(deadlineMs) {
      const drained = inFlight.drain(deadlineMs);
      const closing = app.close();
      const outcome = await drained;
      await Promise.allSettled(endpoints.map(endpoint => endpoint.close()));
      // Connections whose calls have been answered would otherwise idle in keep-alive until the
      // client or the keep-alive timeout closes them, holding the exit back.
      app.server.closeIdleConnections();
      const timer = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      await closing;
      clearTimeout(timer);
      return outcome;
    }
  };
}
