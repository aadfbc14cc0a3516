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
  /**
   * Every live row of one model in one environment, as stored (ids as they are kept: hashed by
   * hashed-store.ts except for its plain models). For administration: lists of clients, grants and
   * users, never on the path of a tool call.
   */
  list(environment: string, model: string): Promise<StoredEntry[]>;
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

/** A row as `list` returns it. */
export interface StoredEntry {
  id: string;
  payload: AdapterPayload;
}

/** Seconds since the epoch. */
export function epochSeconds(now = Date.now()): number {
  return Math.floor(now / 1000);
}
