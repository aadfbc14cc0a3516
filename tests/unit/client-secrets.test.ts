import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { describe, expect, it } from 'vitest';
import { compareHashedClientSecrets, withHashedClientSecrets } from '../../src/auth/server/client-secrets.ts';
import { newSigningKey } from '../../src/auth/server/keys.ts';
import { HashedStore } from '../../src/auth/storage/hashed-store.ts';
import { KeyedHash } from '../../src/auth/storage/keyed-hash.ts';
import { MemoryStore } from '../../src/auth/storage/memory-store.ts';
import type { Adapter, AdapterPayload } from '../../src/auth/storage/store.ts';

/**
 * A dynamically registered client's secret is stored as a keyed hash, and oidc-provider's client
 * authentication compares the hash of what is presented with it: the secret authenticates, anything
 * else (the stored hash included) does not. Pre-registered clients, whose secret comes from the
 * configuration, compare as before.
 */

const STATIC_SECRET = `static-${randomBytes(24).toString('base64url')}`;

/** A store whose Client rows can be read as stored, beneath the secret hashing. */
function recordingClientAdapter(inner: Adapter): { adapter: Adapter; stored: Map<string, AdapterPayload> } {
  const stored = new Map<string, AdapterPayload>();
  return {
    stored,
    adapter: {
      upsert: async (id, payload, expiresIn) => {
        stored.set(id, structuredClone(payload));
        await inner.upsert(id, payload, expiresIn);
      },
      find: async id => inner.find(id),
      findByUid: async uid => inner.findByUid(uid),
      findByUserCode: async code => inner.findByUserCode(code),
      consume: async id => inner.consume(id),
      destroy: async id => inner.destroy(id),
      revokeByGrantId: async grantId => inner.revokeByGrantId(grantId)
    }
  };
}

async function fixture() {
  const hash = new KeyedHash(randomBytes(32));
  const store = new HashedStore(new MemoryStore(), hash);
  const recording = recordingClientAdapter(store.adapter('pg', 'Client'));
  const clientAdapter = withHashedClientSecrets(recording.adapter, hash);
  const provider = new Provider('http://127.0.0.1:1/pg', {
    adapter: (model: string) => (model === 'Client' ? clientAdapter : store.adapter('pg', model)),
    clients: [
      {
        client_id: 'configured',
        client_secret: STATIC_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: ['http://127.0.0.1/cb']
      }
    ],
    clientAuthMethods: ['none', 'client_secret_post', 'client_secret_basic'],
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    jwks: { keys: [await newSigningKey()] },
    features: { devInteractions: { enabled: false } }
  });
  compareHashedClientSecrets(provider, hash);
  return { provider, clientAdapter, stored: recording.stored };
}

describe('client secrets at rest', () => {
  it('are stored as a keyed hash, and authenticate by their clear value only', async () => {
    const { provider, clientAdapter, stored } = await fixture();
    const secret = randomBytes(64).toString('base64url');
    // What registration does: the client's metadata, secret included, saved through the adapter.
    await clientAdapter.upsert('dyn-1', {
      client_id: 'dyn-1',
      client_secret: secret,
      client_secret_expires_at: 0,
      token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: ['http://127.0.0.1/cb']
    });
    const row = stored.get('dyn-1');
    expect(row?.client_secret).toMatch(/^hmac-sha256:[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(row)).not.toContain(secret);

    const client = await provider.Client.find('dyn-1');
    expect(client).toBeDefined();
    expect(client?.clientSecret).toBe(row?.client_secret);
    expect(await client?.compareClientSecret(secret)).toBe(true);
    expect(await client?.compareClientSecret(`${secret}x`)).toBe(false);
    expect(await client?.compareClientSecret(secret.slice(0, -1))).toBe(false);
    expect(await client?.compareClientSecret('')).toBe(false);
    // Whoever reads the stored hash cannot present it instead.
    expect(await client?.compareClientSecret(row?.client_secret ?? '')).toBe(false);
  });

  it('are not hashed twice when a stored client is saved again (its lifetime renewed)', async () => {
    const { provider, clientAdapter, stored } = await fixture();
    const secret = randomBytes(64).toString('base64url');
    await clientAdapter.upsert('dyn-2', { client_id: 'dyn-2', client_secret: secret, redirect_uris: ['http://h/cb'] });
    const first = stored.get('dyn-2')?.client_secret;
    const found = await clientAdapter.find('dyn-2');
    await clientAdapter.upsert('dyn-2', found ?? {}, 60);
    expect(stored.get('dyn-2')?.client_secret).toBe(first);
    expect(await (await provider.Client.find('dyn-2'))?.compareClientSecret(secret)).toBe(true);
  });

  it('differ per deployment key', async () => {
    const secret = randomBytes(64).toString('base64url');
    const hashes = await Promise.all(
      [1, 2].map(async () => {
        const { clientAdapter, stored } = await fixture();
        await clientAdapter.upsert('c', { client_id: 'c', client_secret: secret, redirect_uris: ['http://h/cb'] });
        return stored.get('c')?.client_secret;
      })
    );
    expect(hashes[0]).not.toBe(hashes[1]);
  });

  it('of configured clients compare as they are', async () => {
    const { provider } = await fixture();
    const client = await provider.Client.find('configured');
    expect(client?.clientSecret).toBe(STATIC_SECRET);
    expect(await client?.compareClientSecret(STATIC_SECRET)).toBe(true);
    expect(await client?.compareClientSecret(`${STATIC_SECRET}x`)).toBe(false);
  });
});
