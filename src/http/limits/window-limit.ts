import type { CounterStore } from './counter-store.ts';

/** A limit as configured: at most `limit` events per `windowSeconds`. */
export interface WindowLimitConfig {
  limit: number;
  windowSeconds: number;
}

/** The answer to one counted event: allowed, or how long until it would be. */
export type Verdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * One configured limit over a counter store. Keys are namespaced by `scope`, so every limit of the
 * process (and, with a shared store, of every replica) can count in one store without colliding.
 */
export class WindowLimit {
  readonly limit: number;
  readonly windowSeconds: number;
  private readonly store: CounterStore;
  private readonly scope: string;

  constructor(store: CounterStore, scope: string, config: WindowLimitConfig) {
    this.store = store;
    this.scope = scope;
    this.limit = config.limit;
    this.windowSeconds = config.windowSeconds;
  }

  async check(key: string): Promise<Verdict> {
    const hit = await this.store.hit(`${this.scope}\u0000${key}`, this.windowSeconds * 1000);
    return hit.count <= this.limit ? { allowed: true } : { allowed: false, retryAfterMs: hit.resetMs };
  }

  /** For request-limit rules: 0 when the event is allowed, otherwise the milliseconds to wait. */
  async take(key: string): Promise<number> {
    const verdict = await this.check(key);
    return verdict.allowed ? 0 : Math.max(1, verdict.retryAfterMs);
  }
}

/** Whole seconds a refused caller is told to wait (Retry-After), never 0. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
