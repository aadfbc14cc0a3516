import type { FastifyReply, FastifyRequest } from 'fastify';

/** Headers every response carries: nothing is cached, sniffed, framed or leaked through referrers. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'"
};

/**
 * Sets the defaults as the request arrives, so every answer has them, including refusals from
 * later hooks and errors; a route that needs its own (the sign-in pages' policy, public metadata's
 * caching) overrides them with `reply.header`.
 */
export async function securityHeaders(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.headers(SECURITY_HEADERS);
}
