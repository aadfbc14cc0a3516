import { createHash } from 'node:crypto';
import { addressBucket } from '../../http/limits/address-bucket.ts';
import type { CounterStore } from '../../http/limits/counter-store.ts';

/**
 * Login throttling: failed attempts are counted per user name and per client address in a window
 * that starts with the first failure; past the limit, sign-ins are refused until the window ends.
 * Success clears the user's count. The counts live in the rate limits' counter store: in memory
 * for one process (a restart forgets, which only ever helps the user), in Redis when replicas
 * share the OAuth state, so that an attacker gets the limit once, not once per replica. A user
 * name is kept only as a hash (a password typed into the name field must not be stored anywhere).
 */

export interface ThrottleLimits {
  perUser: number;
  perAddress: number;
  windowMs: number;
}

export class LoginThrottle {
  private readonly limits: ThrottleLimits;
  private readonly counters: CounterStore;

  constructor(limits: ThrottleLimits, counters: CounterStore) {
    this.limits = limits;
    this.counters = counters;
  }

  /**
   * Counts an attempt as a failure before the (slow) password check, until `succeeded` says
   * otherwise: 0 when it may go ahead, or the milliseconds to wait. Counting first means
   * concurrent attempts, on one replica or several, cannot all pass the check while the first
   * ones are still being verified.
   */
  async begin(username: string, address: string): Promise<number> {
    const { perUser, perAddress, windowMs } = this.limits;
    // The address first: one over its limit is refused without counting against any user name, so
    // that it cannot open (and make a store forget) windows by trying name after name.
    const client = await this.counters.hit(addressKey(address), windowMs);
    if (client.count > perAddress) return client.resetMs;
    const user = await this.counters.hit(userKey(username), windowMs);
    return user.count > perUser ? user.resetMs : 0;
  }

  /** The attempt succeeded: the user's failures are forgotten, and this one is not held against the address. */
  async succeeded(username: string, address: string): Promise<void> {
    await Promise.all([this.counters.reset(userKey(username)), this.counters.release(addressKey(address))]);
  }
}

const userKey = (username: string): string =>
  `login-user:${createHash('sha256').update(username.normalize('NFC').toLowerCase()).digest('base64url')}`;
const addressKey = (address: string): string => `login-address:${addressBucket(address)}`;
