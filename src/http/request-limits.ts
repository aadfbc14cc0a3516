import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordRateLimitRejection } from './limits/rejections.ts';

/**
 * The HTTP layer's rate-limit hook point: rules that each pick the requests they count (and the key
 * they count them by, usually the client address) and what a refused caller is told. A request over
 * any rule's limit is answered 429 with Retry-After before it reaches a route or the authorization
 * server.
 */

export interface RequestLimitRule {
  /** For logs. */
  name: string;
  /** The key this request counts against, or undefined when the rule does not apply to it. */
  keyOf(request: FastifyRequest): string | undefined;
  /** Counts the request: 0 when it is allowed, otherwise the milliseconds until it would be. */
  limit: { take(key: string): number | Promise<number> };
  /** The body of the 429 answer. */
  refusal: Readonly<Record<string, unknown>>;
}

export function requestLimits(rules: readonly RequestLimitRule[]) {
  return async function limitRequests(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    for (const rule of rules) {
      const key = rule.keyOf(request);
      if (key === undefined) continue;
      const waitMs = await rule.limit.take(key);
      if (waitMs === 0) continue;
      const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
      recordRateLimitRejection(
        request.log,
        { rule: rule.name, keyKind: 'address', retryAfterSeconds },
        request.server.rateLimitObserver
      );
      await reply.code(429).header('retry-after', String(retryAfterSeconds)).send(rule.refusal);
      return;
    }
  };
}
