import type { Adapter } from './store.ts';

/**
 * Dynamically registered clients are created by anyone and, for Claude, on every new connection:
 * kept forever they would fill the store. A client saved without a lifetime gets `idleSeconds`,
 * renewed when it is used (at most once a day per client, to keep reads cheap); a client unused for
 * that long is forgotten, and its application registers again.
 */
export function withClientExpiry(adapter: Adapter, idleSeconds: number, now: () => number = Date.now): Adapter {
  const renewedAt = new Map<string, number>();
  const renewEveryMs = Math.min(86_400, idleSeconds / 2) * 1000;
  return {
    findByUid: async uid => adapter.findByUid(uid),
    findByUserCode: async code => adapter.findByUserCode(code),
    consume: async id => adapter.consume(id),
    revokeByGrantId: async grantId => adapter.revokeByGrantId(grantId),
    upsert: async (id, payload, expiresIn) => {
      renewedAt.set(id, now());
      await adapter.upsert(id, payload, expiresIn ?? idleSeconds);
    },
    find: async id => {
      const found = await adapter.find(id);
      if (!found) return undefined;
      // Documents fetched for URL client ids (CIMD) keep the cache lifetime they were stored with.
      if (id.startsWith('https://')) return found;
      const last = renewedAt.get(id);
      if (last === undefined || now() - last >= renewEveryMs) {
        renewedAt.set(id, now());
        if (renewedAt.size > 100_000) renewedAt.clear();
        await adapter.upsert(id, found, idleSeconds);
      }
      return found;
    },
    destroy: async id => {
      renewedAt.delete(id);
      await adapter.destroy(id);
    }
  };
}
