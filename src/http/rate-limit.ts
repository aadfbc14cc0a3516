/**
 * A fixed-window counter per key (a client address): at most `limit` events per window, in memory.
 * Used by the request limits for unauthenticated endpoints that store something, such as dynamic
 * client registration.
 */
export class RateLimit {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(limit: number, windowMs: number, now: () => number = Date.now) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.now = now;
  }

  /** Counts an event: 0 when it is allowed, otherwise the milliseconds until the key's window ends. */
  take(key: string): number {
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined || now - window.start >= this.windowMs) {
      if (this.windows.size >= 100_000) this.sweep(now);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    if (window.count >= this.limit) return Math.max(1, window.start + this.windowMs - now);
    window.count++;
    return 0;
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (now - window.start >= this.windowMs) this.windows.delete(key);
  }
}
