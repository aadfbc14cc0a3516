import { toWebRequest } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  isLegacyRequest,
  legacyStatelessFallback,
  type AuthInfo,
  type McpServerFactory
} from '@modelcontextprotocol/server';
import type { Cluster } from '../cluster/cluster.ts';
import type { HttpApp, RequestHook } from '../http/http-app.ts';
import type { InFlightCalls } from '../http/in-flight.ts';
import { requestIds } from '../http/json-rpc-errors.ts';
import type { Logger } from '../observability/logger.ts';
import { withRequestOrigin } from '../observability/request-context.ts';
import { surelyLegacy, surelyModern } from './era.ts';
import { CancellableRequests } from './cancellations.ts';
import { answerEveryCall, duplicateIdRefusal } from './json-rpc-edge.ts';
import { LegacySessions, type RequestHandling } from './legacy-sessions.ts';
import { McpExchange } from './mcp-exchange.ts';
import { sendAnswer } from './web-answer.ts';

/**
 * Streamable HTTP at `/<environment>/mcp`, every protocol revision on one URL. 2026-07-28 requests
 * are served statelessly by the SDK's strict handler (`server/discover`, per-request envelope); a
 * client cancels by closing the response stream. 2025-era clients (2025-11-25, 2025-06-18,
 * 2025-03-26) get a session when they initialize, so that their `notifications/cancelled` reaches
 * the call it names. Fastify parses the JSON body (its errors answer in JSON-RPC, see the error
 * handler); the SDK gets a web Request (@modelcontextprotocol/node) and its web Response is sent
 * by Fastify, through the same hooks as every other route.
 */

export interface StreamableHttpOptions {
  environment: string;
  path: string;
  /** The replicas sharing 2025 sessions. */
  cluster: Cluster;
  factory: McpServerFactory;
  /** The bearer-token guard; absent when OAuth is off. */
  guard?: RequestHook;
  /** The tool-call rate limits, run once the body is parsed (absent when every limit is off). */
  limitToolCalls?: RequestHook;
  /** Whether a session's GET stream's token still stands (see LegacySessionOptions); absent when OAuth is off. */
  stillValid?: (auth: AuthInfo) => Promise<boolean>;
  maxSessions: number;
  maxSessionsPerUser?: number;
  sessionIdleTimeoutMs: number;
  keepAliveMs: number;
  inFlight: InFlightCalls;
  logger: Logger;
}

export interface McpEndpoint {
  /** Sessions of 2025-era clients the endpoint holds (for metrics). */
  readonly sessions?: number;
  /** Ends every session and stream the endpoint holds. */
  close(): Promise<void>;
}

export function mountStreamableHttp(app: HttpApp, options: StreamableHttpOptions): McpEndpoint {
  const onerror = (error: Error): void => {
    options.logger.debug({ err: error, path: options.path }, 'MCP request rejected');
  };
  const modern = createMcpHandler(options.factory, { legacy: 'reject', onerror, keepAliveMs: options.keepAliveMs });
  const stateless = legacyStatelessFallback(options.factory, onerror);
  const sessions = new LegacySessions({
    environment: options.environment,
    cluster: options.cluster,
    factory: options.factory,
    maxSessions: options.maxSessions,
    ...(options.maxSessionsPerUser === undefined ? {} : { maxSessionsPerUser: options.maxSessionsPerUser }),
    idleTimeoutMs: options.sessionIdleTimeoutMs,
    keepAliveMs: options.keepAliveMs,
    stateless: (request, handling) => stateless(request, handling),
    ...(options.stillValid === undefined ? {} : { stillValid: options.stillValid })
  });
  const cancellable = new CancellableRequests();

  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: options.path,
    // A HEAD must not open an event stream (it is answered below).
    exposeHeadRoute: false,
    config: { jsonRpc: true },
    ...(options.guard === undefined ? {} : { onRequest: options.guard }),
    ...(options.limitToolCalls === undefined ? {} : { preHandler: options.limitToolCalls }),
    handler: async (request, reply) => {
      const body: unknown = request.body;
      const refusal = duplicateIdRefusal(body);
      if (refusal !== undefined) return reply.code(400).send(refusal);
      const ids = requestIds(body);
      const exchange = new McpExchange(reply, { ids, batch: Array.isArray(body) }, options.inFlight);
      const webRequest = await toWebRequest(request.raw, body, { signal: exchange.signal });
      const handling: RequestHandling = {
        parsedBody: body,
        ...(request.auth === undefined ? {} : { authInfo: request.auth })
      };
      const legacy =
        surelyLegacy(request.method, request.headers, body) ||
        (!surelyModern(request.method, request.headers, body) && (await isLegacyRequest(webRequest, body)));
      const sessionId = legacy ? request.headers['mcp-session-id'] : undefined;
      if (typeof sessionId === 'string' && ids.length > 0) cancellable.add(sessionId, ids, exchange, reply.raw);
      const pending = withRequestOrigin({ requestId: request.id, remoteAddress: request.ip }, () =>
        legacy ? sessions.handle(webRequest, handling) : modern.fetch(webRequest, handling)
      );
      const answer = await exchange.answer(pending.then(response => answerEveryCall(response, body)));
      // Notifications the session accepted (its owner's): a cancellation ends its request's stream.
      if (typeof sessionId === 'string' && ids.length === 0 && answer.response.status === 202) {
        cancellable.cancel(sessionId, body);
      }
      return sendAnswer(reply, answer.response, answer.relayed);
    }
  });
  app.head(options.path, { config: { jsonRpc: true } }, async (_request, reply) =>
    reply.code(405).header('allow', 'GET, POST, DELETE').send()
  );

  return {
    get sessions() {
      return sessions.size;
    },
    async close() {
      await sessions.close();
      await modern.close();
    }
  };
}
