import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Ties a sign-in at an identity provider to the browser that started it. A random value goes into
 * an HttpOnly cookie; the sign-in's stored state keeps only its hash. A callback (or ticket) that
 * arrives in another browser — a login CSRF, a link with someone else's `state` — lacks the cookie
 * and is refused. SameSite=Lax: the provider's redirect back is a top-level GET, which carries it.
 * On https the name has the `__Host-` prefix (Secure, Path=/, no Domain: only this host sets it).
 */

const COOKIE = 'sqlbridge-federation';
/** A value this module made: 32 random bytes, base64url. */
const VALUE = /^[A-Za-z0-9_-]{43}$/;
const MAX_AGE_SECONDS = 600;

export function bindingCookieName(secure: boolean): string {
  return secure ? `__Host-${COOKIE}` : COOKIE;
}

/** The binding value the browser sent, if it is one this module could have made. */
export function presentedBinding(request: FastifyRequest, secure: boolean): string | undefined {
  const wanted = bindingCookieName(secure);
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at < 0 || part.slice(0, at).trim() !== wanted) continue;
    const value = part.slice(at + 1).trim();
    if (VALUE.test(value)) return value;
  }
  return undefined;
}

/**
 * The browser's binding value: the one it already holds (two sign-ins in two tabs both stay valid),
 * else a new one, set as the cookie.
 */
export function bindBrowser(request: FastifyRequest, reply: FastifyReply, secure: boolean): string {
  const value = presentedBinding(request, secure) ?? randomBytes(32).toString('base64url');
  const attributes = [
    `${bindingCookieName(secure)}=${value}`,
    'Path=/',
    `Max-Age=${MAX_AGE_SECONDS}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(secure ? ['Secure'] : [])
  ];
  reply.header('set-cookie', attributes.join('; '));
  return value;
}

/** What a stored state keeps of the binding value. */
export function bindingHash(value: string): string {
  return createHash('sha256').update(`sqlbridge-federation-binding:${value}`).digest('base64url');
}

/** Whether the browser's value is the one the stored hash was made from. */
export function bindingMatches(presented: string | undefined, storedHash: unknown): boolean {
  if (presented === undefined || typeof storedHash !== 'string') return false;
  const given = Buffer.from(bindingHash(presented));
  const expected = Buffer.from(storedHash);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
