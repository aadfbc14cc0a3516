import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimit } from './rate-limit.ts';

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
  limit: RateLimit;
  /** The body of the 429 answer. */
  refusal: Readonly<Record<string, unknown>>;
}

export function requestLimits(rules: readonly RequestLimitRule[]) {
  return async function limitRequests(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    for (const rule of rules) {
      const key = rule.keyOf(request);
      if (key === undefined) continue;
      const waitMs = rule.limit.take(key);
      if (waitMs === 0) continue;
      request.log.warn({ rule: rule.name, address: request.ip }, 'request rate-limited');
      await reply
        .code(429)
        .header('retry-after', String(Math.ceil(waitMs / 1000)))
        .send(rule.refusal);
      return;
    }
  };
}
