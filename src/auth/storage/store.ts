import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * Where the authorization servers keep their state (clients, grants, codes, refresh tokens,
 * sessions, remembered consent): oidc-provider's adapter interface, one adapter per model and
 * environment. The SQLite store is the default; the memory store is for tests; a Redis store can
 * implement the same interface.
 */
export interface AuthStore {
  /** The adapter of one oidc-provider model (Client, Grant, RefreshToken, …) in one environment. */
  adapter(environment: string, model: string): Adapter;
  /** Whether it survives a restart (the memory store does not). */
  readonly persistent: boolean;
  /**
   * A cheap read that proves the storage answers (readiness, `/readyz`); rejects when it does not.
   * It reads no row's content, so it holds nothing worth reporting beyond "it failed".
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type { Adapter, AdapterPayload };

/** Seconds since the epoch. */
export function epochSeconds(now = Date.now()): number {
  return Math.floor(now / 1000);
}
