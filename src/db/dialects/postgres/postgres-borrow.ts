import type pg from 'pg';
import { UnconfirmedCancellation } from '../../driver.ts';

/**
 * How long the server has, once a statement is to stop, to stop it and answer before the connection
 * is closed from this side. A server that is alive answers a cancel request within milliseconds;
 * one that does not within this is taken to hang.
 */
export const STOP_GRACE_MS = 3000;

/**
 * One pooled client from the moment it is lent until it goes back.
 * - A session lost meanwhile (its backend terminated, a failover, a connection reset) fails what
 *   waits on it, and the client is closed rather than lent again. pg's pool stops listening for a
 *   client's errors while it is lent out, and an error event nobody listens to would end the process.
 * - An abort sends a cancel request. It travels on a connection of its own and may reach the
 *   session once it serves someone else, so the client is closed rather than lent again. Should the
 *   statement not stop within STOP_GRACE_MS (a database that hangs), the connection is closed from
 *   this side, which fails whatever still waits on it, and `stopUnconfirmed` says so.
 */
export class BorrowedClient {
  readonly client: pg.PoolClient;
  private broken = false;
  private isLost = false;
  private whenLost: (() => void)[] | undefined;
  private closedUnconfirmed = false;
  private grace: NodeJS.Timeout | undefined;
  private readonly signal: AbortSignal;
  private readonly cancel: () => Promise<void>;

  constructor(client: pg.PoolClient, signal: AbortSignal, cancel: () => Promise<void>) {
    this.client = client;
    this.signal = signal;
    this.cancel = cancel;
    // node-postgres reports a connection lost without its own end() as an error event.
    client.on('error', this.onLost);
    signal.addEventListener('abort', this.onAbort, { once: true });
    // Aborted between the pool's answer and this: as if it had aborted now.
    if (signal.aborted) this.onAbort();
  }

  /** Settles once the connection is lost (it never rejects). */
  lost(): Promise<void> {
    if (this.isLost) return Promise.resolve();
    return new Promise(resolve => (this.whenLost ??= []).push(resolve));
  }

  /** The client is not to be lent again (a session that could not be reset). */
  discard(): void {
    this.broken = true;
  }

  /** What a statement that failed after an abort rejects with: the signal's reason, or that the stop was never confirmed. */
  abortError(cause: unknown): unknown {
    return this.closedUnconfirmed ? new UnconfirmedCancellation(this.signal.reason, { cause }) : this.signal.reason;
  }

  /** Back to the pool, which closes it when it is broken. */
  release(): void {
    clearTimeout(this.grace);
    this.signal.removeEventListener('abort', this.onAbort);
    this.client.removeListener('error', this.onLost);
    this.client.release(this.broken);
  }

  private readonly onLost = (): void => {
    this.broken = true;
    this.isLost = true;
    for (const resolve of this.whenLost?.splice(0) ?? []) resolve();
  };

  private readonly onAbort = (): void => {
    this.broken = true;
    void this.cancel();
    this.grace = setTimeout(() => {
      this.closedUnconfirmed = true;
      // node-postgres fails every query waiting on the client once its socket closes.
      this.client.connection.stream.destroy();
    }, STOP_GRACE_MS);
  };
}
