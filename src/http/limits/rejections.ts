import type { FastifyBaseLogger } from 'fastify';

/**
 * Every rate-limit refusal passes through `recordRateLimitRejection`: one warning in the log and,
 * once metrics exist, the rejection counter (labelled by rule and key kind). The key itself is
 * never logged: it may be a user's subject, and a client address is already on the request line.
 */

/** What a limit counts by. */
export type LimitKeyKind = 'user' | 'client' | 'address';

export interface RateLimitRejection {
  /** The rule refused by, e.g. `tool calls per user`, `sign-in`. */
  rule: string;
  keyKind: LimitKeyKind;
  /** The environment the rule belongs to, when it belongs to one. */
  environment?: string;
  retryAfterSeconds?: number;
}

export function recordRateLimitRejection(log: Pick<FastifyBaseLogger, 'warn'>, rejection: RateLimitRejection): void {
  // The Prometheus rejection counter is incremented here (rule, keyKind), and nowhere else.
  log.warn({ ...rejection }, 'rate limit reached');
}
