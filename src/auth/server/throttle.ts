/**
 * Login throttling: failed attempts are counted per user name and per client address over a
 * sliding window; past the limit, logins are refused until the oldest failure leaves the window.
 * Success clears the user's count. In memory: a restart forgets, which only ever helps the user.
 */

export interface ThrottleLimits {
  perUser: number;
  perAddress: number;
  windowMs: number;
}

export class LoginThrottle {
  private readonly limits: ThrottleLimits;
  private readonly now: () => number;
  private readonly failures = new Map<string, number[]>();
  private prunedAt = 0;

  constructor(limits: ThrottleLimits, now: () => number = Date.now) {
    this.limits = limits;
    this.now = now;
  }

  /** Milliseconds until another attempt is allowed, or 0 when one is allowed now. */
  retryAfterMs(username: string, address: string): number {
    return Math.max(
      this.wait(userKey(username), this.limits.perUser),
      this.wait(addressKey(address), this.limits.perAddress)
    );
  }

  /**
   * Reserves an attempt before the (slow) password check: 0 when it may go ahead, counted as a
   * failure until `succeeded`, or the milliseconds to wait. Counting first means concurrent
   * attempts cannot all pass the check while the first ones are still being verified.
   */
  begin(username: string, address: string): number {
    const wait = this.retryAfterMs(username, address);
    if (wait > 0) return wait;
    this.recordFailure(username, address);
    return 0;
  }

  /** The reserved attempt succeeded: the user's failures are forgotten, and this one is not held against the address. */
  succeeded(username: string, address: string): void {
    this.recordSuccess(username);
    const key = addressKey(address);
    const list = this.recent(key);
    list.pop();
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
  }

  recordFailure(username: string, address: string): void {
    for (const key of [userKey(username), addressKey(address)]) {
      const list = this.recent(key);
      list.push(this.now());
      this.failures.set(key, list);
    }
    if (this.failures.size > 100_000 && this.now() - this.prunedAt > 60_000) this.prune();
  }

  recordSuccess(username: string): void {
    this.failures.delete(userKey(username));
  }

  private wait(key: string, limit: number): number {
    const list = this.recent(key);
    if (list.length < limit) return 0;
    const oldest = list[list.length - limit] ?? this.now();
    return Math.max(1, oldest + this.limits.windowMs - this.now());
  }

  private recent(key: string): number[] {
    const since = this.now() - this.limits.windowMs;
    return (this.failures.get(key) ?? []).filter(at => at > since);
  }

  private prune(): void {
    this.prunedAt = this.now();
    for (const [key] of this.failures) if (this.recent(key).length === 0) this.failures.delete(key);
  }
}

const userKey = (username: string): string => `user:${username.normalize('NFC').toLowerCase()}`;
const addressKey = (address: string): string => `address:${address}`;
