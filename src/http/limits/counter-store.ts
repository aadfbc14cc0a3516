/**
 * Where rate-limit counters live. Every limit counts through this one small async interface, so
 * that the in-memory store of a single process can be replaced by a shared one (Redis: INCR and
 * PEXPIRE in one transaction) when several replicas must hold one limit together.
 */

export interface CounterHit {
  /** Events counted for the key in its current window, this one included. */
  count: number;
  /** Milliseconds until the key's window ends and its count starts again from zero. */
  resetMs: number;
}

export interface CounterStore {
  /**
   * Counts one event for the key in a fixed window of `windowMs` that starts with the key's first
   * event. Every hit counts, refused ones included: a caller who keeps knocking stays refused
   * until the window ends.
   */
  hit(key: string, windowMs: number): Promise<CounterHit>;
  /** Takes one event back from the key's current window (one counted in advance that turned out fine); never below zero. */
  release(key: string): Promise<void>;
  /** Ends the key's window: its next hit starts a new one. */
  reset(key: string): Promise<void>;
}

export interface MemoryCounterStoreOptions {
  /** Keys held at most; beyond this, expired keys are swept, then the oldest windows are forgotten. */
  maxKeys?: number;
  now?: () => number;
}

/** How often, at most, a hit sweeps expired keys out of the store. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Fixed windows in this process's memory: right for one process; each replica counts on its own.
 * Memory is bounded: expired windows are swept (at most once a minute, on a hit), and when
 * `maxKeys` windows are live, windows of one event are dropped, then the oldest, which forgives
 * those keys rather than refusing everybody.
 */
export class MemoryCounterStore implements CounterStore {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  private readonly maxKeys: number;
  private readonly now: () => number;
  private sweptAt: number;

  constructor(options: MemoryCounterStoreOptions = {}) {
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
    this.sweptAt = this.now();
  }

  /** Windows currently held (for tests and diagnostics). */
  get size(): number {
    return this.windows.size;
  }

  hit(key: string, windowMs: number): Promise<CounterHit> {
    const now = this.now();
    if (now - this.sweptAt >= SWEEP_INTERVAL_MS) this.sweep(now);
    let window = this.windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.makeRoom(now);
      window = { count: 0, endsAt: now + windowMs };
      // Re-inserted, so the map's order stays the order windows started in.
      this.windows.set(key, window);
    }
    window.count++;
    return Promise.resolve({ count: window.count, resetMs: Math.max(1, window.endsAt - now) });
  }

  release(key: string): Promise<void> {
    const window = this.windows.get(key);
    if (window !== undefined && window.endsAt > this.now()) window.count = Math.max(0, window.count - 1);
    return Promise.resolve();
  }

  reset(key: string): Promise<void> {
    this.windows.delete(key);
    return Promise.resolve();
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }

  /**
   * Below `maxKeys` again: expired windows first, then windows of a single event, oldest first (a
   * hundredth of the store at a time), and only then the oldest of any count. A flood of new keys
   * (name after name at a sign-in form) then forgets its own windows of one event, not a window
   * that has counted up to a refusal.
   */
  private makeRoom(now: number): void {
    this.sweep(now);
    if (this.windows.size < this.maxKeys) return;
    let singles = Math.max(1, Math.floor(this.maxKeys / 100));
    for (const [key, window] of this.windows) {
      if (singles === 0) break;
      if (window.count > 1) continue;
      this.windows.delete(key);
      singles--;
    }
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
