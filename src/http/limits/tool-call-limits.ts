import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EnvironmentRateLimits } from '../../config/schema.ts';
import type { RequestHook } from '../http-app.ts';
import { JSON_RPC, jsonRpcError, requestIds } from '../json-rpc-errors.ts';
import {
  STORE_RETRY_AFTER_SECONDS,
  STORE_UNAVAILABLE_MESSAGE,
  StoreUnavailable
} from '../../errors/store-unavailable.ts';
import type { CounterStore } from './counter-store.ts';
import { recordRateLimitRejection, type LimitKeyKind } from './rejections.ts';
import { retryAfterSeconds, WindowLimit } from './window-limit.ts';

/**
 * Tool-call rate limits of one environment (`environments.<name>.rateLimits.toolCalls`), checked
 * on the MCP endpoints after the bearer guard and the body parser, before the MCP SDK sees the
 * request: every `tools/call` in a posted body counts once against the caller's user (OAuth `sub`;
 * without OAuth, the client address), client (`client_id`) and address (`request.ip`, which
 * honours trusted proxies). A request over any limit is refused as a whole, nothing of it runs:
 * HTTP 429 with Retry-After, and for each of its calls a JSON-RPC error under the call's id
 * that says which limit was reached and when to retry, so a client that shows errors can say so.
 * A store that does not answer (Redis) refuses the request with 503 and Retry-After: nothing runs
 * uncounted.
 */

interface Counted {
  kind: LimitKeyKind;
  limit: WindowLimit;
}

/** Hears the tool calls (the names they ask for) of each request the limits refuse, and the limit reached. */
export type RefusedCallsListener = (request: FastifyRequest, tools: readonly string[], limit: LimitKeyKind) => void;

export function toolCallLimits(
  environment: string,
  config: EnvironmentRateLimits,
  store: CounterStore,
  onRefused?: RefusedCallsListener
): RequestHook | undefined {
  const counted: Counted[] = [];
  const { perUser, perClient, perAddress } = config.toolCalls;
  const scope = (kind: LimitKeyKind) => `tool-calls\u0000${environment}\u0000${kind}`;
  if (perUser !== null) counted.push({ kind: 'user', limit: new WindowLimit(store, scope('user'), perUser) });
  if (perClient !== null) counted.push({ kind: 'client', limit: new WindowLimit(store, scope('client'), perClient) });
  if (perAddress !== null)
    counted.push({ kind: 'address', limit: new WindowLimit(store, scope('address'), perAddress) });
  if (counted.length === 0) return undefined;

  return async function limitToolCalls(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (request.method !== 'POST') return;
    const tools = toolCallsIn(request.body);
    const calls = tools.length;
    if (calls === 0) return;
    let refused: { kind: LimitKeyKind; limit: WindowLimit; waitMs: number } | undefined;
    try {
      refused = await firstRefusal(request, counted, calls);
    } catch (error) {
      if (!(error instanceof StoreUnavailable)) throw error;
      request.log.error({ err: error, environment }, 'tool calls refused: the rate-limit store does not answer');
      const ids = requestIds(request.body);
      const answers = (ids.length === 0 ? [null] : ids).map(id =>
        jsonRpcError(JSON_RPC.serverError, STORE_UNAVAILABLE_MESSAGE, id, { reason: 'store_unavailable' })
      );
      await reply
        .code(503)
        .header('retry-after', String(STORE_RETRY_AFTER_SECONDS))
        .send(Array.isArray(request.body) ? answers : answers[0]);
      return;
    }
    if (refused === undefined) return;
    const seconds = retryAfterSeconds(refused.waitMs);
    recordRateLimitRejection(
      request.log,
      { rule: `tool calls per ${refused.kind}`, keyKind: refused.kind, environment, retryAfterSeconds: seconds },
      request.server.rateLimitObserver
    );
    onRefused?.(request, tools, refused.kind);
    const { limit, windowSeconds } = refused.limit;
    const message = `Rate limit reached: at most ${String(limit)} tool calls per ${String(windowSeconds)} s per ${refused.kind} in environment "${environment}"; retry in ${String(seconds)} s`;
    const data = {
      reason: 'rate_limited',
      limit: refused.kind,
      maxCalls: limit,
      windowSeconds,
      retryAfterSeconds: seconds
    };
    const ids = requestIds(request.body);
    const answers = (ids.length === 0 ? [null] : ids).map(id => jsonRpcError(JSON_RPC.serverError, message, id, data));
    await reply
      .code(429)
      .header('retry-after', String(seconds))
      .send(Array.isArray(request.body) ? answers : answers[0]);
  };
}

/**
 * The limit that refuses the request's `calls`, checked per user, then client, then address: each
 * call counts once against each key, up to the first refusal. A request one key refuses counts
 * against none after it, so that what one user is refused does not use up the allowance their
 * client or address shares with others.
 */
async function firstRefusal(
  request: FastifyRequest,
  counted: readonly Counted[],
  calls: number
): Promise<{ kind: LimitKeyKind; limit: WindowLimit; waitMs: number } | undefined> {
  for (const { kind, limit } of counted) {
    const key = keyOf(request, kind);
    if (key === undefined) continue;
    for (let i = 0; i < calls; i++) {
      const verdict = await limit.check(key);
      // The request is refused as a whole: its other calls would only knock again (a round trip each to Redis).
      if (!verdict.allowed) return { kind, limit, waitMs: verdict.retryAfterMs };
    }
  }
  return undefined;
}

/**
 * The tools/call requests in a posted JSON-RPC message or batch that could run, by the tool each
 * names: JSON-RPC 2.0, with an id (a notification is never answered, and runs nothing) and
 * parameters. Stubs that name the method and nothing else are refused by the SDK, and count against
 * nobody.
 */
function toolCallsIn(body: unknown): string[] {
  const messages = Array.isArray(body) ? (body as unknown[]) : [body];
  const tools: string[] = [];
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const { jsonrpc, method, id, params } = message as Record<string, unknown>;
    if (jsonrpc !== '2.0' || method !== 'tools/call') continue;
    if ((typeof id === 'string' || typeof id === 'number') && typeof params === 'object' && params !== null) {
      const name = (params as { name?: unknown }).name;
      tools.push(typeof name === 'string' ? name : '');
    }
  }
  return tools;
}

/** The key a request counts against for one kind of limit; undefined when it has none (no client without OAuth). */
function keyOf(request: FastifyRequest, kind: LimitKeyKind): string | undefined {
  const auth = request.auth;
  switch (kind) {
    case 'address':
      return request.ip;
    case 'client':
      return auth?.clientId;
    case 'user': {
      if (auth === undefined) return `address:${request.ip}`;
      const subject = auth.extra?.['sub'];
      // A token without a subject (client credentials) is its client's user.
      return typeof subject === 'string' ? `sub:${subject}` : `client:${auth.clientId}`;
    }
  }
}
