/**
 * The shared store (Redis, or the server's own SQLite for OAuth) did not answer a read or a write
 * a request depends on: a grant check, a rate-limit counter. The request is answered 503 with
 * Retry-After, never as if the caller were at fault (a 401 would make a client throw its token away).
 */
export class StoreUnavailable extends Error {
  /** What could not be read or written, for the log. */
  readonly what: string;

  constructor(what: string, cause: unknown) {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailable';
    this.what = what;
  }
}

/** Seconds a client is told to wait before trying again (Retry-After) while the store does not answer. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** What a client is told while the store does not answer. */
export const STORE_UNAVAILABLE_MESSAGE =
  'sqlbridge cannot reach its shared store right now; nothing was run. Try again in a few seconds';
