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

/** Told of every refusal (the metrics' rejection counter); absent when nothing listens. */
export type RateLimitObserver = (rejection: RateLimitRejection) => void;

export function recordRateLimitRejection(
  log: Pick<FastifyBaseLogger, 'warn'>,
  rejection: RateLimitRejection,
  observer?: RateLimitObserver
): void {
  log.warn({ ...rejection }, 'rate limit reached');
  observer?.(rejection);
}

/** The metrics label of a rule: `tool_call`, `concurrent_queries`, `sign_in`, `token`, `registration`. */
export function limitLabel(rule: string): string {
  if (rule.startsWith('tool calls per ')) return 'tool_call';
  if (rule === 'concurrent queries per user') return 'concurrent_queries';
  if (rule === 'client registration') return 'registration';
  return rule.replace(/[^a-z]+/gi, '_').toLowerCase();
}
