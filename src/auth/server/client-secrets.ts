import { timingSafeEqual } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { KeyedHash } from '../storage/keyed-hash.ts';
import type { Adapter } from '../storage/store.ts';

/**
 * The secret of a dynamically registered confidential client, kept only as its keyed hash. oidc-
 * provider stores `client_secret` in the Client row and compares what a client presents with it
 * (`compareClientSecret`, at client_secret_basic and client_secret_post authentication). Here the
 * Client adapter stores the hash in its place, and the provider's Client class compares the hash of
 * what is presented. The registration response still carries the secret in clear, once: oidc-provider
 * answers with the client it built from the request, not with what was stored.
 *
 * A hashed secret cannot key an HMAC, so client_secret_jwt and HS256-signed requests or responses
 * cannot work for such a client; this server enables none of them (client authentication is none,
 * client_secret_basic or client_secret_post; its own tokens are ES256). Pre-registered clients
 * (`auth.clients`) are not in the store: their secret comes from the configuration and is compared
 * as it is.
 */

/** The form of a stored hash: `:` is not in the alphabet of the secrets oidc-provider makes (base64url). */
const HASHED = 'hmac-sha256:';

function hashed(hash: KeyedHash, secret: string): string {
  return `${HASHED}${hash.digest('client-secret', secret)}`;
}

/** The Client adapter, storing a client's secret as its hash (a secret stored already hashed is left as it is). */
export function withHashedClientSecrets(adapter: Adapter, hash: KeyedHash): Adapter {
  return {
    upsert: async (id, payload, expiresIn) => {
      const secret = payload.client_secret;
      const stored =
        typeof secret === 'string' && !secret.startsWith(HASHED)
          ? { ...payload, client_secret: hashed(hash, secret) }
          : payload;
      await adapter.upsert(id, stored, expiresIn);
    },
    find: async id => adapter.find(id),
    findByUid: async uid => adapter.findByUid(uid),
    findByUserCode: async code => adapter.findByUserCode(code),
    consume: async id => adapter.consume(id),
    destroy: async id => adapter.destroy(id),
    revokeByGrantId: async grantId => adapter.revokeByGrantId(grantId)
  };
}

/** Makes the provider's clients compare the hash of a presented secret with a stored hash. */
export function compareHashedClientSecrets(provider: Provider, hash: KeyedHash): void {
  const prototype = provider.Client.prototype;
  // oidc-provider's own comparison, still used for the configured clients (their secret is not hashed).
  const compareAsIs: unknown = Reflect.get(prototype, 'compareClientSecret');
  if (typeof compareAsIs !== 'function') throw new Error('oidc-provider clients have no compareClientSecret');
  prototype.compareClientSecret = function (this: { clientSecret?: string }, actual: string) {
    const stored = this.clientSecret;
    if (typeof stored !== 'string' || !stored.startsWith(HASHED))
      return Reflect.apply(compareAsIs, this, [actual]) as boolean | Promise<boolean>;
    if (typeof actual !== 'string') return false;
    const presented = Buffer.from(hashed(hash, actual));
    const expected = Buffer.from(stored);
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  };
}
