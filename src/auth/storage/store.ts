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

/**
 * What `consume` throws when it did not consume the row: it was consumed already, or it is gone
 * (revoked, destroyed or expired since it was found). Consuming is one atomic test-and-set in every
 * store, so of two requests redeeming one code (or refresh token) at the same moment, on one replica
 * or two, exactly one consumes it. oidc-provider reads the row, checks `consumed`, then consumes it:
 * without this both would see it unconsumed between their read and their write, and a request that
 * found the row before a replay revoked its grant would still be given tokens.
 */
export class ConsumedTwice extends Error {
  /** Whether the row was gone rather than consumed. */
  readonly gone: boolean;
  constructor(gone: boolean) {
    super(gone ? 'the row is gone' : 'the row was consumed already');
    this.name = 'ConsumedTwice';
    this.gone = gone;
  }
}

/** A row as `list` returns it. */
export interface StoredEntry {
  id: string;
  payload: AdapterPayload;
}

/** Seconds since the epoch. */
export function epochSeconds(now = Date.now()): number {
  return Math.floor(now / 1000);
}
