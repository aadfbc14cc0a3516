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

/**
 * The policy of a server-rendered HTML page (sign-in, consent, the admin console): its inline
 * stylesheet by hash and nothing else to load, no script at all, forms posting only here (and to
 * `formOrigins`, where a form's answer redirects the browser on: a client, an identity provider),
 * never framed. Referrers stay on this origin, so that forms carry a real `Origin` (with
 * `no-referrer`, browsers send `Origin: null`) and nothing leaks to another site.
 */
export function htmlPageHeaders(
  reply: FastifyReply,
  styleHash: string,
  formOrigins: readonly string[] | 'none' = []
): void {
  reply.header('referrer-policy', 'same-origin');
  reply.header('content-security-policy', htmlPagePolicy(styleHash, formOrigins));
  reply.type('text/html; charset=utf-8');
}

/** The Content-Security-Policy of such a page; `none`: a page without forms (an error). */
export function htmlPagePolicy(styleHash: string, formOrigins: readonly string[] | 'none' = []): string {
  const formAction = formOrigins === 'none' ? "'none'" : ["'self'", ...formOrigins].join(' ');
  return `default-src 'none'; style-src ${styleHash}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}
