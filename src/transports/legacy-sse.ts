import {
  parseJSONRPCMessage,
  type AuthInfo,
  type JSONRPCMessage,
  type McpServerFactory
} from '@modelcontextprotocol/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Cluster } from '../cluster/cluster.ts';
import type { HttpApp, RequestHook } from '../http/http-app.ts';
import type { InFlightCalls } from '../http/in-flight.ts';
import { JSON_RPC, jsonRpcError } from '../http/json-rpc-errors.ts';
import { withRequestOrigin } from '../observability/request-context.ts';
import type { Logger } from '../observability/logger.ts';
import { NO_PROXY_BUFFERING } from './event-stream.ts';
import { duplicateIdRefusal } from './json-rpc-edge.ts';
import { holderOfStream, type LegacySseSessions } from './legacy-sse-sessions.ts';
import { ownerOf } from './legacy-sessions.ts';
import { relayedAuth } from './sse-relay.ts';
import { SseSession, type SseEndpoint } from './sse-session.ts';
import type { McpEndpoint } from './streamable-http.ts';

/**
 * The HTTP+SSE transport of MCP 2024-11-05, which the original guide's clients speak:
 * `GET /<environment>/sse` opens the stream and names, in its first event, where to post;
 * `POST /<environment>/messages?sessionId=…` delivers each message (answered 202; the response
 * travels on the stream). Both are guarded like `/mcp`, and a session belongs to the user and
 * client whose token opened it: anyone else, and any guessed id, gets "Session not found".
 * A POST to the stream URL answers 405, so clients that try Streamable HTTP first fall back.
 * Behind a load balancer, a message may reach another replica than the stream: it is relayed
 * (sse-relay.ts).
 */

export interface LegacySseOptions {
  environment: string;
  factory: McpServerFactory;
  /** The bearer-token guard of the SSE endpoint; absent when OAuth is off. */
  guard?: RequestHook;
  /** The tool-call rate limits of `POST /messages`: a limited post is answered 429 and delivers nothing. */
  limitToolCalls?: RequestHook;
  keepAliveMs: number;
  /** Whether a stream's token still stands (see SseEndpoint.stillValid); absent when OAuth is off. */
  stillValid?: (auth: AuthInfo) => Promise<boolean>;
  sessions: LegacySseSessions;
  inFlight: InFlightCalls;
  logger: Logger;
}

export function mountLegacySse(app: HttpApp, options: LegacySseOptions): McpEndpoint {
  const { environment, sessions } = options;
  const streamPath = `/${environment}/sse`;
  const messagesPath = `/${environment}/messages`;
  const guarded = { config: { jsonRpc: true }, ...(options.guard === undefined ? {} : { onRequest: options.guard }) };
  // Shared by every stream of this environment: a session holds only what is its own.
  const endpoint: SseEndpoint = {
    environment,
    messagesPath,
    keepAliveMs: options.keepAliveMs,
    inFlight: options.inFlight,
    ...(options.stillValid === undefined ? {} : { stillValid: options.stillValid }),
    serve: async served => {
      try {
        const server = await options.factory({
          era: 'legacy',
          ...(served.auth === undefined ? {} : { authInfo: served.auth })
        });
        await server.connect(served);
      } catch (error) {
        options.logger.error({ err: error, environment }, 'the MCP server of an event stream could not start');
        throw error;
      }
    },
    onEnd: ended => {
      sessions.remove(ended);
      options.logger.debug({ environment, session: ended.sessionId }, 'event stream ended');
    }
  };

  // A synchronous handler that returns nothing: an async one (or one returning the reply) would have
  // Fastify await the reply, which for a stream means one more end-of-stream watcher, a pending
  // promise and their closures held for as long as the stream stays open.
  app.get(streamPath, { ...guarded, exposeHeadRoute: false }, (request, reply): void => {
    const owner = ownerOfRequest(request);
    const refusal = sessions.refusal(holderOfStream({ owner, auth: request.auth }));
    if (refusal !== undefined) {
      request.log.warn({ environment, status: refusal.status }, 'event stream refused');
      reply.code(refusal.status).header('retry-after', '30').send(jsonRpcError(JSON_RPC.serverError, refusal.message));
      return;
    }
    const session = new SseSession(endpoint, {
      owner,
      ...(request.auth === undefined ? {} : { auth: request.auth })
    });
    sessions.add(session);
    session.open();
    reply.type('text/event-stream').headers(NO_PROXY_BUFFERING).send(session.body);
  });

  app.post(streamPath, guarded, async (_request, reply) =>
    reply
      .code(405)
      .header('allow', 'GET')
      .send(jsonRpcError(JSON_RPC.serverError, `Method not allowed: open the stream with GET, post to ${messagesPath}`))
  );
  app.head(streamPath, async (_request, reply) => reply.code(405).header('allow', 'GET').send());

  const limited = {
    ...guarded,
    ...(options.limitToolCalls === undefined ? {} : { preHandler: options.limitToolCalls })
  };
  app.post(messagesPath, limited, async (request, reply) => {
    const { sessionId } = request.query as { sessionId?: unknown };
    if (typeof sessionId !== 'string') return reply.code(404).send(SESSION_NOT_FOUND);
    const owner = ownerOfRequest(request);
    const session = sessions.get(sessionId);
    if (session === undefined) return relay(sessions.cluster, { environment, sessionId, owner }, request, reply);
    if (session.environment !== environment || session.owner !== owner) {
      return reply.code(404).send(SESSION_NOT_FOUND);
    }
    return deliver(session, request, reply);
  });

  return { close: () => sessions.close(environment) };
}

const SESSION_NOT_FOUND = jsonRpcError(-32001, 'Session not found');

/**
 * The posted messages, or the 400 answer refusing them all: each is checked before any is
 * delivered, so a refused batch delivers nothing.
 */
function postedMessages(
  request: FastifyRequest,
  reply: FastifyReply,
  check: (message: JSONRPCMessage) => string | undefined
): JSONRPCMessage[] | FastifyReply {
  const body: unknown = request.body;
  const duplicates = duplicateIdRefusal(body);
  if (duplicates !== undefined) return reply.code(400).send(duplicates);
  const values = Array.isArray(body) ? (body as unknown[]) : [body];
  const messages: JSONRPCMessage[] = [];
  let refusal: string | undefined;
  for (const value of values) {
    try {
      const message = parseJSONRPCMessage(value);
      messages.push(message);
      refusal ??= check(message);
    } catch {
      refusal ??= 'not a JSON-RPC 2.0 message';
    }
  }
  if (refusal === undefined) return messages;
  // Every call of the batch is answered, each under its own id (JSON-RPC 2.0 §6).
  const errors = values.map(value => jsonRpcError(JSON_RPC.invalidRequest, `Invalid Request: ${refusal}`, idOf(value)));
  return reply.code(400).send(Array.isArray(body) ? errors : errors[0]);
}

/**
 * Messages for a stream another replica holds: sent to it through the cluster when the directory
 * says the stream is this caller's in this environment, and that replica is still there.
 */
async function relay(
  cluster: Cluster,
  target: { environment: string; sessionId: string; owner: string },
  request: FastifyRequest,
  reply: FastifyReply
): Promise<FastifyReply> {
  const { environment, sessionId, owner } = target;
  const entry = cluster.shared ? await cluster.lookup(sessionId) : undefined;
  if (entry?.kind !== 'sse' || entry.environment !== environment || entry.owner !== owner) {
    return reply.code(404).send(SESSION_NOT_FOUND);
  }
  const messages = postedMessages(request, reply, () => undefined);
  if (!Array.isArray(messages)) return messages;
  const auth = relayedAuth(request.auth);
  const delivered = await cluster.send(entry.replica, {
    type: 'sse.messages',
    sessionId,
    owner,
    messages,
    origin: { requestId: request.id, remoteAddress: request.ip },
    ...(auth === undefined ? {} : { auth })
  });
  if (!delivered) {
    // The replica holding the stream is gone, and the stream with it.
    await cluster.unregister(sessionId);
    return reply.code(404).send(SESSION_NOT_FOUND);
  }
  return reply.code(202).send();
}

async function deliver(session: SseSession, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const messages = postedMessages(request, reply, message => session.refusal(message));
  if (!Array.isArray(messages)) return messages;
  const extra = request.auth === undefined ? {} : { authInfo: request.auth };
  withRequestOrigin({ requestId: request.id, remoteAddress: request.ip }, () => {
    for (const message of messages) session.receive(message, extra);
  });
  return reply.code(202).send();
}

/** Without OAuth a stream belongs to the client address that opened it. */
function ownerOfRequest(request: FastifyRequest): string {
  return request.auth === undefined ? `address\u0000${request.ip}` : ownerOf(request.auth);
}

function idOf(value: unknown): string | number | null {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
