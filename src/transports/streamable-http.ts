import {
  createMcpHandler,
  isLegacyRequest,
  legacyStatelessFallback,
  type AuthInfo,
  type McpServerFactory
} from '@modelcontextprotocol/server';
import type { FastifyRequest } from 'fastify';
import { applySecurityHeaders } from '../http/security-headers.ts';
import type { HttpApp } from '../http/server.ts';
import type { Logger } from '../observability/logger.ts';
import { LegacySessions } from './legacy-sessions.ts';
import { jsonRpcError, toBridgedRequest, writeWebResponse } from './node-bridge.ts';

/**
 * Streamable HTTP at `/<environment>/mcp`, every protocol revision on one URL. 2026-07-28 requests
 * are served statelessly by the SDK's strict handler (`server/discover`, per-request envelope); a
 * client cancels by closing the response stream. 2025-era clients (2025-11-25, 2025-06-18,
 * 2025-03-26) get a session when they initialize, so that their `notifications/cancelled` reaches
 * the call it names. The body is read here, not by Fastify, so malformed JSON gets the SDK's JSON-RPC
 * parse error.
 */

export interface StreamableHttpOptions {
  path: string;
  factory: McpServerFactory;
  maxRequestBodyBytes: number;
  maxSessions: number;
  sessionIdleTimeoutMs: number;
  logger: Logger;
  /** The resource server: the caller's identity, or the response refusing the request. Absent when auth is off. */
  authenticate?: (request: FastifyRequest) => Promise<AuthInfo | Response>;
}

export interface StreamableHttpEndpoint {
  close(): Promise<void>;
}

export async function mountStreamableHttp(
  app: HttpApp,
  options: StreamableHttpOptions
): Promise<StreamableHttpEndpoint> {
  const onerror = (error: Error): void => {
    options.logger.debug({ err: error, path: options.path }, 'MCP request rejected');
  };
  const maxRequestBodySize = options.maxRequestBodyBytes;
  const modern = createMcpHandler(options.factory, {
    legacy: 'reject',
    onerror,
    maxRequestBodySize,
    keepAliveMs: 15_000
  });
  const stateless = legacyStatelessFallback(options.factory, onerror, { maxRequestBodySize });
  const sessions = new LegacySessions({
    factory: options.factory,
    maxSessions: options.maxSessions,
    idleTimeoutMs: options.sessionIdleTimeoutMs,
    maxRequestBodySize,
    stateless: (request, authInfo) => stateless(request, authInfo === undefined ? {} : { authInfo })
  });

  await app.register(async scope => {
    scope.removeAllContentTypeParsers();
    // Leave the body stream unread: it is read below, within the size limit.
    scope.addContentTypeParser('*', (_request, _payload, done) => {
      done(null, undefined);
    });
    // Browser-based clients: an Origin that passed the host guard gets CORS, preflights included.
    scope.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (request.routeOptions.url !== options.path || origin === undefined) return;
      reply.raw.setHeader('access-control-allow-origin', origin);
      reply.raw.setHeader('vary', 'Origin');
      reply.raw.setHeader('access-control-expose-headers', 'mcp-session-id, mcp-protocol-version, www-authenticate');
    });
    scope.options(options.path, async (_request, reply) =>
      reply
        .code(204)
        .header('access-control-allow-methods', 'GET, POST, DELETE')
        .header(
          'access-control-allow-headers',
          'authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id'
        )
        .header('access-control-max-age', '600')
        .send()
    );
    const authenticate = options.authenticate;
    if (authenticate !== undefined) {
      scope.addHook('onRequest', async (request, reply) => {
        if (request.routeOptions.url !== options.path || request.method === 'OPTIONS') return;
        const outcome = await authenticate(request);
        if (outcome instanceof Response) {
          reply.hijack();
          applySecurityHeaders(reply.raw);
          await writeWebResponse(reply.raw, outcome, {
            closed: new AbortController().signal,
            finished: () => undefined
          });
          return;
        }
        (request.raw as { auth?: AuthInfo }).auth = outcome;
      });
    }
    scope.route({
      method: ['GET', 'POST', 'DELETE'],
      url: options.path,
      handler: async (request, reply) => {
        reply.hijack();
        const res = reply.raw;
        applySecurityHeaders(res);
        // Proxies such as nginx must not buffer server-sent events.
        res.setHeader('x-accel-buffering', 'no');
        const authInfo = (request.raw as { auth?: AuthInfo }).auth;
        let bridged;
        try {
          bridged = await toBridgedRequest(request.raw, res, maxRequestBodySize);
        } catch (error) {
          const tooLarge = (error as { name?: string }).name === 'RequestBodyTooLargeError';
          const response = tooLarge
            ? jsonRpcError(413, -32000, `Payload Too Large: the body exceeds ${maxRequestBodySize} bytes`)
            : jsonRpcError(400, -32000, 'Bad Request: unreadable body');
          await writeWebResponse(res, response, { closed: new AbortController().signal, finished: () => undefined });
          return;
        }
        try {
          const legacy = await isLegacyRequest(bridged.request, undefined, { maxRequestBodySize });
          const response = legacy
            ? await sessions.handle(bridged.request, authInfo)
            : await modern.fetch(bridged.request, authInfo === undefined ? {} : { authInfo });
          await writeWebResponse(res, response, bridged);
        } catch (error) {
          options.logger.error({ err: error, path: options.path }, 'MCP request failed');
          if (!res.headersSent)
            await writeWebResponse(res, jsonRpcError(500, -32603, 'Internal server error'), bridged);
          else res.end();
        }
      }
    });
  });
  return {
    async close() {
      await sessions.close();
      await modern.close();
    }
  };
}
