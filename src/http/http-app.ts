import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawServerDefault
} from 'fastify';
import { randomId } from '../ids.ts';
import type { Logger } from '../observability/logger.ts';
import { corsPolicy } from './cors.ts';
import { errorHandler } from './error-handler.ts';
import { createHostGuard } from './host-guard.ts';
import { RawRequest, RawResponse } from './raw-messages.ts';
import { refuseWhileDraining, type InFlightCalls } from './in-flight.ts';
import type { RateLimitObserver } from './limits/rejections.ts';
import { requestLimits, type RequestLimitRule } from './request-limits.ts';
import { logRequest, recordPath } from './request-log.ts';
import { securityHeaders } from './security-headers.ts';
import { forwardedPrefixRewrite, proxyTrust, refuseForgedClientAddress } from './trusted-proxies.ts';

/** Fastify with sqlbridge's logger. */
export type HttpApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;

/** A hook a route adds before its handler (the bearer-token guard). */
export type RequestHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface HttpAppOptions {
  logger: Logger;
  bodyLimit: number;
  trustProxy: readonly string[];
  /**
   * The environments served: the only path prefixes a trusted proxy may say it removed
   * (X-Environment-Path, X-Forwarded-Prefix). None given, no prefix is put back.
   */
  environments?: readonly string[];
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
  limits: readonly RequestLimitRule[];
  inFlight: InFlightCalls;
  /** Told of every rate-limit refusal (metrics). */
  rateLimitObserver?: RateLimitObserver;
  /** How long a request's headers and body may take to arrive (REQUEST_RECEIVE_TIMEOUT_MS unless given). */
  requestTimeoutMs?: number;
}

/**
 * A request whose headers and body have not all arrived within this is answered 408 and its
 * connection closed: without it, a client sending a body a byte at a time would hold a connection
 * for good (Fastify turns Node's own limit off). Answers take as long as they take; only the
 * request is timed.
 */
export const REQUEST_RECEIVE_TIMEOUT_MS = 60_000;

declare module 'fastify' {
  interface FastifyInstance {
    /** Told of every rate-limit refusal of this server (metrics), if anything listens. */
    rateLimitObserver: RateLimitObserver | undefined;
  }
}

/**
 * The HTTP layer every route sits behind, in the order a request meets it: the draining check, the
 * Host/Origin guard, security headers, CORS, rate limits; the body limit and the error handler
 * apply to every route, and one log line closes each request. Routes are added by the caller.
 */
export async function createHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  const trust = proxyTrust(options.trustProxy);
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_RECEIVE_TIMEOUT_MS;
  const app: HttpApp = Fastify({
    loggerInstance: options.logger,
    // One hidden class for every request and every response, whatever answers it (raw-messages.ts).
    http: {
      IncomingMessage: RawRequest,
      ServerResponse: RawResponse as typeof ServerResponse,
      // Given to Node's server at its creation: Fastify's own requestTimeout, set on the server once
      // created, is not what Node checks. And how often Node looks (every 30 s by default).
      requestTimeout,
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.round(requestTimeout / 4)))
    },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    requestTimeout,
    genReqId: randomId,
    trustProxy: trust ?? false,
    rewriteUrl: forwardedPrefixRewrite(trust, options.environments ?? []),
    // Shutdown is ours (in-flight calls finish or are answered), not a blanket 503.
    return503OnClosing: false,
    // No route declares a Fastify JSON schema: MCP messages are validated by the MCP SDK, the other
    // routes check their input themselves. So Fastify's Ajv-based compilers, a tenth of a second of
    // every start, are never loaded; a route that declared a schema would fail to register.
    schemaController: { compilersFactory: { buildValidator: noJsonSchemas, buildSerializer: noJsonSchemas } }
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFound);
  app.decorateRequest('loggedPath', '');
  app.addHook('onRequest', recordPath);
  if (trust !== undefined) app.addHook('onRequest', refuseForgedClientAddress);
  app.addHook('onRequest', refuseWhileDraining(options.inFlight));
  app.addHook(
    'onRequest',
    createHostGuard({ allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins })
  );
  app.addHook('onRequest', securityHeaders);
  await app.register(cors, { delegator: corsPolicy, hook: 'onRequest' });
  app.decorate('rateLimitObserver', options.rateLimitObserver);
  app.addHook('onRequest', requestLimits(options.limits));
  app.addHook('onResponse', logRequest);
  return app;
}

/** The answer to a path no route serves, and to a request an authorization server's route did not take (provider-mount.ts). */
export async function notFound(_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return reply.code(404).send({ error: 'not_found' });
}

function noJsonSchemas(): never {
  throw new Error('sqlbridge routes declare no JSON schema: validate the input in the handler');
}
