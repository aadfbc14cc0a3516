import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { KeyedHash } from '../../auth/storage/keyed-hash.ts';

/**
 * Cross-site request forgery defences of the console's forms, two of them, both required:
 * - a token in every form, bound to the session (or, on the sign-in page, to the sign-in cookie):
 *   an HMAC under the deployment's store key, which every replica holds and no page of another
 *   site can compute or read;
 * - the request's `Origin` must be this server's public origin. Browsers send it with every form
 *   POST (the console's `Referrer-Policy: same-origin` keeps it from being `null`); a POST without
 *   one did not come from a browser form of ours and is refused.
 */

export function csrfToken(hash: KeyedHash, purpose: 'session' | 'login', boundTo: string): string {
  return hash.digest(`admin-csrf-${purpose}`, boundTo);
}

export function csrfValid(
  hash: KeyedHash,
  purpose: 'session' | 'login',
  boundTo: string | undefined,
  token: string | undefined
): boolean {
  if (boundTo === undefined || boundTo === '' || token === undefined) return false;
  const expected = Buffer.from(csrfToken(hash, purpose, boundTo));
  const given = Buffer.from(token);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Whether the request's Origin is the public origin, exactly. */
export function sameOrigin(request: FastifyRequest, publicOrigin: string | undefined): boolean {
  const origin = request.headers.origin;
  return (
    publicOrigin !== undefined && typeof origin === 'string' && origin.toLowerCase() === publicOrigin.toLowerCase()
  );
}
