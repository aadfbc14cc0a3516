import { errors } from 'oidc-provider';
import { ConsumedTwice, type Adapter } from '../storage/store.ts';

/**
 * Codes and refresh tokens are good for one use. oidc-provider finds the row, checks that it is not
 * consumed yet, then consumes it; between those steps another request redeeming the same row (on this
 * replica or another, with Redis storage) would see it unconsumed too, and both would get tokens. The
 * stores make consuming an atomic test-and-set that throws ConsumedTwice for the second; here that
 * becomes what oidc-provider does with a replay it sees itself: the grant is revoked, with every token
 * it issued (the first request's included), and the request is refused with invalid_grant.
 */

/** How oidc-provider names its consumable models in errors. */
const LABELS: Readonly<Record<string, string>> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
  BackchannelAuthenticationRequest: 'backchannel authentication request'
};

export function withSingleUse(adapter: Adapter, model: string, revoke: (grantId: string) => Promise<void>): Adapter {
  return {
    upsert: async (id, payload, expiresIn) => adapter.upsert(id, payload, expiresIn),
    find: async id => adapter.find(id),
    findByUid: async uid => adapter.findByUid(uid),
    findByUserCode: async userCode => adapter.findByUserCode(userCode),
    destroy: async id => adapter.destroy(id),
    revokeByGrantId: async grantId => adapter.revokeByGrantId(grantId),
    consume: async id => {
      try {
        await adapter.consume(id);
      } catch (error) {
        if (!(error instanceof ConsumedTwice)) throw error;
        const label = LABELS[model] ?? model;
        // Gone: revoked by a replay meanwhile (or expired), nothing left to revoke.
        if (error.gone) throw new errors.InvalidGrant(`${label} not found`);
        const row = await adapter.find(id);
        if (typeof row?.grantId === 'string') await revoke(row.grantId);
        throw new errors.InvalidGrant(`${label} already consumed`);
      }
    }
  };
}
